import type { FastifyInstance } from 'fastify';

/** The checked-in form of the OpenAPI document: stable, pretty-printed JSON with a trailing newline. */
export function openapiJson(app: FastifyInstance): string {
  return `${JSON.stringify(app.swagger(), null, 2)}\n`;
}
