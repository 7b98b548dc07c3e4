import type { FastifyRequest } from 'fastify';

/** The origin of URLs handed to callers: configured, else the one the caller used (http or https). */
export function origin(request: FastifyRequest): string {
  return request.server.config.publicUrl ?? `${request.protocol}://${request.host}`;
}

/**
 * An absolute URL on this service for an ARM path (or a portal one), carrying the caller's api-version (ARM clients follow
 * Location, Azure-AsyncOperation and nextLink verbatim). Path segments are encoded, so names with `;` travel as `%3B`.
 */
export function armUrl(request: FastifyRequest, path: string, query: Record<string, string> = {}): string {
  const url = new URL(encodeArmPath(path), origin(request));
  // The portal's routes (our own API) take no api-version; the management API's always have one.
  if (request.apiVersion) url.searchParams.set('api-version', request.apiVersion);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return url.toString();
}

function encodeArmPath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}
