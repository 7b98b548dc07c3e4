import fp from 'fastify-plugin';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
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
      if (armError.statusCode === 503)
        request.log.warn(
          { code: armError.code, message: armError.message },
          'request refused: a dependency is unavailable',
        );
      else if (armError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
      return sendError(reply, armError);
    });
    app.setNotFoundHandler((request, reply) =>
      sendError(reply, errors.routeNotFound(request.method, request.url.split('?')[0] ?? '')),
    );
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

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route or hook runs — a path that is not valid
 * percent-encoding, a name longer than the router's limit — answered like every other error.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const path = request.raw.url?.split('?')[0] ?? '';
  const armError =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? errors.nameTooLong()
      : error.code === 'FST_ERR_BAD_URL'
        ? errors.invalidUrl(path)
        : errors.internal(request.id);
  return sendError(reply, armError);
}

/**
 * The HTTP servers' `clientError`: a request Node's parser refuses (headers too large, malformed HTTP, a timeout)
 * never reaches Fastify, so the answer is written to the socket here — in ARM's shape too — and the connection closed.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Duplex) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const armError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? errors.headersTooLarge()
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? errors.requestTimeout()
        : errors.malformedRequest();
  const body = JSON.stringify({ error: { code: armError.code, message: armError.message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${armError.statusCode} ${STATUS_CODES[armError.statusCode] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
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
    return errors.invalidRequestContent(
      `The request content was invalid and could not be deserialized: ${error.message}`,
    );
  }
  const dependency = unavailableDependency(error);
  return dependency === undefined ? errors.internal(request.id) : errors.serviceUnavailable(dependency);
}

/** The dependency an error says is down (the caller may retry later), or undefined for any other failure. */
export function unavailableDependency(error: unknown): string | undefined {
  if (isStorageUnavailable(error)) return 'Blob storage';
  if (isQueueUnavailable(error)) return 'The job queue (Redis)';
  if (isDatabaseUnavailable(error)) return 'The database';
  return undefined;
}

/** The blob service failed (unreachable, or a 5xx after the client's retries): the caller retries later. */
function isStorageUnavailable(error: unknown): boolean {
  if (!(error instanceof RestError)) return false;
  return error.statusCode === undefined || error.statusCode >= 500;
}

/** Redis is down: the queues' producer connection fails at once (no offline queue, see plugins/queues.ts). */
function isQueueUnavailable(error: unknown): boolean {
  const text = `${(error as Error).name} ${(error as Error).message}`;
  return /MaxRetriesPerRequestError|Stream isn't writeable|Connection is closed/i.test(text);
}

function isDatabaseUnavailable(error: unknown): boolean {
  const text = `${(error as Error).name} ${(error as Error).message} ${(error as { code?: string }).code ?? ''}`;
  return /ECONNREFUSED|DatabaseNotReachable|P1001|P1017|Connection terminated|timeout exceeded when trying to connect/i.test(
    text,
  );
}
