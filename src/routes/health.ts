import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

const Check = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  error: Type.Optional(Type.String()),
});
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  checks: Type.Object({ database: Check, redis: Check, blob: Check }),
});

async function check(probe: () => Promise<unknown>) {
  try {
    await withTimeout(probe(), 3_000);
    return { status: 'ok' as const };
  } catch (error) {
    return { status: 'unavailable' as const, error: (error as Error).message };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Liveness (the process answers) and readiness (Postgres, Redis and blob storage answer). No auth, like a probe. */
const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], security: [], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    { schema: { tags: ['health'], security: [], response: { 200: Readiness, 503: Readiness } } },
    async (_request, reply) => {
      const [database, redis, blob] = await Promise.all([
        check(() => app.db.$queryRaw`select 1`),
        check(() => app.redis.ping()),
        check(() => app.blob.getProperties()),
      ]);
      const ready = [database, redis, blob].every((c) => c.status === 'ok');
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'unavailable', checks: { database, redis, blob } });
    },
  );
};

export default healthRoutes;
