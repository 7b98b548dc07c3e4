import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { agentAuthentication, containerOf } from './auth.ts';
import uploadRoutes from './uploads.ts';
import restoreRoutes from './restores.ts';
import { applyInventory } from '../../services/inventory.ts';
import { registerAgent } from '../../services/agent-registration.ts';
import { onCommandCompleted } from '../../jobs/agent-results.ts';
import { afterInventory } from '../../jobs/maintenance.ts';
import { Empty, responses } from '../../arm/schemas.ts';
import {
  CommandList,
  CommandParams,
  CommandPollQuery,
  CommandResult,
  ContainerParams,
  HeartbeatRequest,
  HeartbeatResponse,
  InventoryReport,
  RegisterRequest,
  RegisterResponse,
} from '../../protocol/agent.ts';

const tags = ['agent'];
const security = [{ agentToken: [] }];

/**
 * The agent plane: registration with vault credentials, then container-scoped calls with the agent token.
 * A token works for its own container only (403 otherwise) and stops working when the container is unregistered.
 */
const agentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.decorateRequest('container', undefined);
  await app.register(uploadRoutes);
  await app.register(restoreRoutes);

  app.post(
    '/agent/v1/register',
    {
      bodyLimit: 16 * 1024,
      schema: {
        tags,
        security: [],
        summary: 'Register a VM with vault credentials; returns a token for its container',
        body: RegisterRequest,
        response: responses({ 200: RegisterResponse }),
      },
    },
    async (request) => registerAgent(app, request.body),
  );

  const scoped = { onRequest: agentAuthentication(app) };
  const base = '/agent/v1/containers/:containerName';

  app.post(
    `${base}/heartbeat`,
    {
      ...scoped,
      schema: {
        tags,
        security,
        summary: 'Report that the agent is alive',
        params: ContainerParams,
        body: HeartbeatRequest,
        response: responses({ 200: HeartbeatResponse }),
      },
    },
    async (request) => {
      const now = app.clock.now();
      // Liveness keeps wall time (see containerHealth): the emulator clock may jump a day between two beats.
      await app.db.protectionContainer.update({
        where: { id: containerOf(request).id },
        data: { lastHeartbeatAt: new Date(), agentVersion: request.body.agentVersion, updatedAt: now },
      });
      return { serverTime: now.toISOString(), heartbeatIntervalSeconds: app.config.agent.heartbeatSeconds };
    },
  );

  app.post(
    `${base}/inventory`,
    {
      ...scoped,
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        tags,
        security,
        summary: 'Report the VM’s SQL instances and databases (the answer to a discover command)',
        params: ContainerParams,
        body: InventoryReport,
        response: responses({
          200: Type.Object({ instances: Type.Integer(), databases: Type.Integer(), protectable: Type.Integer() }),
        }),
      },
    },
    async (request) => {
      const result = await applyInventory(app, containerOf(request), request.body);
      await afterInventory(app, containerOf(request));
      return {
        instances: result.instances.length,
        databases: result.databases.length,
        protectable: result.databases.filter((d) => d.isProtectable).length,
      };
    },
  );

  app.get(
    `${base}/commands`,
    {
      ...scoped,
      schema: {
        tags,
        security,
        summary: 'Long-poll for commands (delivered at least once; acknowledge each)',
        params: ContainerParams,
        querystring: CommandPollQuery,
        response: responses({ 200: CommandList }),
      },
    },
    async (request, reply) => {
      const hungUp = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) hungUp.abort();
      });
      const commands = await app.agentCommands.poll(
        containerOf(request).id,
        request.query.waitSeconds ?? 0,
        hungUp.signal,
      );
      return {
        commands: commands.map((c) => ({
          id: c.id,
          type: c.type,
          payload: c.payload as object,
          issuedAt: c.issuedAt.toISOString(),
          attempt: c.attempts,
        })),
      };
    },
  );

  app.post(
    `${base}/commands/:commandId/ack`,
    {
      ...scoped,
      schema: {
        tags,
        security,
        summary: 'Acknowledge a command (it will not be redelivered)',
        params: CommandParams,
        response: responses({ 204: Empty }),
      },
    },
    async (request, reply) => {
      await app.agentCommands.acknowledge(containerOf(request).id, request.params.commandId);
      return reply.code(204).send();
    },
  );

  app.post(
    `${base}/commands/:commandId/result`,
    {
      ...scoped,
      schema: {
        tags,
        security,
        summary: 'Report a command’s outcome (the first result counts)',
        params: CommandParams,
        body: CommandResult,
        response: responses({ 204: Empty }),
      },
    },
    async (request, reply) => {
      const completed = await app.agentCommands.complete(
        containerOf(request).id,
        request.params.commandId,
        request.body,
      );
      if (completed !== null) await onCommandCompleted(app, completed);
      return reply.code(204).send();
    },
  );
};

export default agentRoutes;
