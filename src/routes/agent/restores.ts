import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { findRestoreFor, openRestorePart } from '../../services/restores.ts';
import { responses } from '../../arm/schemas.ts';
import { agentAuthentication, containerOf } from './auth.ts';
import { RestoreParams, RestorePartParams, RestoreState } from '../../protocol/agent.ts';

const tags = ['agent'];
const security = [{ agentToken: [] }];

/**
 * Restore reads (see protocol.ts): the target container's agent reads each part of its restore as the original
 * backup stream. A restore exists only for the container it targets: any other container's token gets 404.
 */
const restoreRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const scoped = { onRequest: agentAuthentication(app) };
  const base = '/agent/v1/containers/:containerName/restores/:restoreId';

  app.get(
    base,
    {
      ...scoped,
      schema: {
        tags,
        security,
        summary: 'A restore’s state (after a cut stream: why it failed)',
        params: RestoreParams,
        response: responses({ 200: RestoreState }),
      },
    },
    async (request) => {
      const restore = await findRestoreFor(app, containerOf(request).id, request.params.restoreId.toLowerCase());
      return {
        restoreId: restore.id,
        state: restore.state as 'InProgress' | 'Succeeded' | 'Failed',
        partCount: restore.parts.length,
        ...(restore.errorCode === null
          ? {}
          : { error: { code: restore.errorCode, message: restore.errorMessage ?? '' } }),
      };
    },
  );

  app.get(
    `${base}/parts/:index`,
    {
      ...scoped,
      schema: {
        tags,
        security,
        summary: 'One part of a restore: the backup stream, decrypted and verified (x-content-sha256: its SHA-256)',
        params: RestorePartParams,
        response: responses({
          200: Type.Unsafe<unknown>({ type: 'string', format: 'binary', description: 'application/octet-stream' }),
        }),
      },
    },
    async (request, reply) => {
      const restore = await findRestoreFor(app, containerOf(request).id, request.params.restoreId.toLowerCase());
      const { point, stream } = await openRestorePart(app, restore, request.params.index);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(point.sizeBytes))
        .header('x-content-sha256', point.sha256)
        .header('x-backup-type', point.type)
        .send(stream);
    },
  );
};

export default restoreRoutes;
