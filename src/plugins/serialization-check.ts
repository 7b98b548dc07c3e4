import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { isDeepStrictEqual } from 'node:util';

/** Where two JSON values differ: paths missing on one side or holding other values. */
function differences(view: unknown, sent: unknown, path: string, found: string[]): string[] {
  if (isDeepStrictEqual(view, sent)) return found;
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (!isObject(view) || !isObject(sent) || Array.isArray(view) !== Array.isArray(sent)) {
    found.push(`${path || '/'}: ${JSON.stringify(view)?.slice(0, 60)} became ${JSON.stringify(sent)?.slice(0, 60)}`);
    return found;
  }
  for (const key of new Set([...Object.keys(view), ...Object.keys(sent)])) {
    differences(view[key], sent[key], `${path}/${key}`, found);
  }
  return found;
}

/**
 * A route's response schema makes Fastify serialize with fast-json-stringify, which drops what the schema does
 * not list and coerces what it types otherwise. With RV_CHECK_SERIALIZATION (the test servers set it) every
 * serialized response is compared with the view it came from, and a difference answers 500 naming the paths, so
 * a schema that loses part of a view fails the test that read it.
 */
export default fp(
  async (app) => {
    if (!app.config.checkSerialization) return;
    const views = new WeakMap<FastifyRequest, unknown>();
    app.addHook('preSerialization', async (request, _reply, payload) => {
      views.set(request, JSON.parse(JSON.stringify(payload)));
      return payload;
    });
    app.addHook('onSend', async (request, reply, payload) => {
      if (!views.has(request) || typeof payload !== 'string') return payload;
      const found = differences(views.get(request), JSON.parse(payload), '', []);
      if (found.length === 0) return payload;
      request.log.error({ differences: found }, 'the response schema changed the view');
      reply.code(500).header('content-type', 'application/json; charset=utf-8');
      return JSON.stringify({
        error: {
          code: 'ResponseSchemaMismatch',
          message: `The response schema of ${request.method} ${request.routeOptions.url} changes its view: ${found.slice(0, 5).join('; ')}`,
        },
      });
    });
  },
  { name: 'serialization-check', dependencies: ['config'] },
);
