import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { RestError } from '@azure/storage-blob';
import { ArmError, errors } from '../domain/errors.ts';

/**
 * Every failure leaves as ARM's `{error:{code,message}}`: our own ArmErrors as they are, Fastify's validation and
 * parsing errors as 4xx with Azure-style codes, anything unexpected as a 500 that names the request id (and is logged).
 */
export default fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError | ArmError, request, reply) => {
      const armError = toArmError(error, request);
      // A dependency that is down (503) is an outage to report, not a defect of ours to log as one.
      if (armError.statusCode === 503) request.log.warn({ code: armError.code, message: armError.message }, 'request refused: a dependency is unavailable');
      else if (armError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
      return sendError(reply, armError);
    });
    app.setNotFoundHandler((request, reply) => sendError(reply, errors.routeNotFound(request.method, request.url.split('?')[0] ?? '')));
  },
  { name: 'errors' },
);

export function sendError(reply: FastifyReply, error: ArmError) {
  return reply
    .code(error.statusCode)
    .headers(error.headers)
    .type('application/json; charset=utf-8')
    .send({ error: { code: error.code, message: error.message } });
}

function toArmError(error: FastifyError | ArmError, request: FastifyRequest): ArmError {
  if (error instanceof ArmError) return error;
  if ('validation' in error && error.validation !== undefined) {
    return errors.invalidRequestContent(`The request is invalid: ${error.message}.`);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(String(request.headers['content-type'] ?? ''));
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge(request.routeOptions.bodyLimit ?? 0);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.invalidRequestContent('The request content was empty; a JSON body is required.');
    default:
      break;
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    // JSON syntax errors and the like: Fastify marks them 4xx with a readable message.
    return errors.invalidRequestContent(`The request content was invalid and could not be deserialized: ${error.message}`);
  }
  if (isStorageUnavailable(error)) return errors.serviceUnavailable('Blob storage');
  if (isDatabaseUnavailable(error)) return errors.serviceUnavailable('The database');
  return errors.internal(request.id);
}

/** The blob service failed (unreachable, or a 5xx after the client's retries): the caller retries later. */
function isStorageUnavailable(error: unknown): boolean {
  if (!(error instanceof RestError)) return false;
  return error.statusCode === undefined || error.statusCode >= 500;
}

function isDatabaseUnavailable(error: unknown): boolean {
  const text = `${(error as Error).name} ${(error as Error).message} ${(error as { code?: string }).code ?? ''}`;
  return /ECONNREFUSED|DatabaseNotReachable|P1001|P1017|Connection terminated|timeout exceeded when trying to connect/i.test(text);
}
