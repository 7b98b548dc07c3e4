import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../../domain/errors.ts';
import { findContainer } from '../../arm/container-lookup.ts';
import { responses } from '../../arm/schemas.ts';
import { failOver } from '../../services/availability-group-failover.ts';
import { controlTarget } from './targets.ts';

const FailoverRequest = Type.Object(
  {
    containerId: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: "ARM id of the availability group's protection container (SQLAGWorkLoadContainer;<group id>)",
    }),
    primary: Type.String({ minLength: 1, maxLength: 256, description: 'the VM of the replica that becomes primary' }),
    waitSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 600,
        description: "how long to wait for the nodes' agents, per step (failover, then discovery; default 60)",
      }),
    ),
  },
  { additionalProperties: false },
);
const FailoverResult = Type.Object({
  availabilityGroup: Type.String(),
  primary: Type.String({ description: 'the primary replica as the vault now knows it' }),
  nodes: Type.Array(
    Type.Object({
      nodeName: Type.String(),
      role: Type.Union([Type.Literal('Primary'), Type.Literal('Secondary')]),
      status: Type.Union([Type.Literal('Succeeded'), Type.Literal('Failed')]),
      sourceResourceId: Type.Optional(Type.String()),
      errorDetail: Type.Optional(
        Type.Object({ code: Type.String(), message: Type.String(), recommendations: Type.Array(Type.String()) }),
      ),
    }),
  ),
});

/**
 * Fails an Always On availability group over (docs/availability-groups.md): the nodes' simulated SQL Servers see the
 * new primary, then report their inventory, so the vault knows the new roles when the answer comes.
 */
const failoverRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/emulator/v1/failovers',
    {
      config: { action: 'RecoveryVault.Emulator/failovers/write' },
      schema: {
        tags: ['emulator'],
        summary: 'Fail an availability group over to another replica',
        body: FailoverRequest,
        response: responses({ 200: FailoverResult }),
      },
    },
    async (request) => {
      const { containerId, primary, waitSeconds = 60 } = request.body;
      const parts = controlTarget(request, containerId);
      if (parts.protectedItemName !== undefined)
        throw errors.invalidInput(
          `'${containerId}' names a protected item; a failover needs the group's container id.`,
        );
      const { container } = await findContainer(app, parts, true);
      return failOver(app, container, primary, waitSeconds);
    },
  );
};

export default failoverRoutes;
