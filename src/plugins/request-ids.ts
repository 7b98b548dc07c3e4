import fp from 'fastify-plugin';
import { randomUUID } from 'node:crypto';

/** ARM's tracing headers on every response: our request id, the correlation id, and the caller's own id echoed. */
export default fp(
  async (app) => {
    app.addHook('onRequest', async (request, reply) => {
      const correlation = request.headers['x-ms-correlation-request-id'];
      const client = request.headers['x-ms-client-request-id'];
      reply.header('x-ms-request-id', request.id);
      reply.header('x-ms-correlation-request-id', typeof correlation === 'string' ? correlation : randomUUID());
      if (typeof client === 'string') reply.header('x-ms-client-request-id', client);
    });
  },
  { name: 'request-ids' },
);
