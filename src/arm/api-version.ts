import type { FastifyRequest } from 'fastify';
import { errors } from '../domain/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiVersion: string;
  }
}

const API_VERSION = /^\d{4}-\d{2}-\d{2}(-[a-z]+)?$/i;

/**
 * Every management request must name an api-version; any well-formed one is accepted (the SDKs in use send
 * different ones) and echoed into every URL the service hands back.
 */
export async function requireApiVersion(request: FastifyRequest): Promise<void> {
  const value = (request.query as Record<string, unknown>)['api-version'];
  if (value === undefined || value === '') throw errors.missingApiVersion();
  if (typeof value !== 'string' || !API_VERSION.test(value)) throw errors.invalidApiVersion(String(value));
  request.apiVersion = value;
}
