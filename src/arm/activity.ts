import type { FastifyRequest } from 'fastify';

/** The caller's `x-ms-client-request-id` (the SDKs and az send one with every request), when it is a sane one. */
export function clientRequestIdOf(request: FastifyRequest): string | undefined {
  const sent = request.headers['x-ms-client-request-id'];
  return typeof sent === 'string' && /^[\w.:-]{1,128}$/.test(sent) ? sent : undefined;
}

/**
 * A job's `activityId`, as Azure sets it: the caller's client request id, so a client can find the job its request
 * started; this request's own id when the caller sent none.
 */
export function activityIdOf(request: FastifyRequest): string {
  return clientRequestIdOf(request) ?? request.id;
}
