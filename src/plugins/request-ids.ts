import fp from 'fastify-plugin';
import { randomUUID } from 'node:crypto';
import { clientRequestIdOf } from '../arm/activity.ts';

/**
 * ARM's tracing headers on every response: our request id, the correlation id, and the caller's own id echoed (the
 * one a job records as its activity id).
 */
export default fp(
  async (app) => {
    app.addHook('onRequest', async (request, reply) => {
      const correlation = request.headers['x-ms-correlation-request-id'];
      const client = clientRequestIdOf(request);
      reply.header('x-ms-request-id', request.id);
      reply.header('x-ms-correlation-request-id', typeof correlation === 'string' ? correlation : randomUUID());
      if (client !== undefined) reply.header('x-ms-client-request-id', client);
    });
  },
  { name: 'request-ids' },
);
