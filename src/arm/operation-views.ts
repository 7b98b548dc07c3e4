import type { FastifyReply } from 'fastify';
import type { Operation } from '../generated/prisma/client.ts';
import { ArmError } from '../domain/errors.ts';

/** The OperationStatus body every Azure-AsyncOperation URL answers with. */
export function operationStatus(operation: Operation) {
  return {
    id: operation.id,
    name: operation.id,
    status: operation.status,
    startTime: operation.startTime.toISOString(),
    endTime: operation.endTime?.toISOString() ?? '0001-01-01T00:00:00Z',
    ...(operation.status === 'Failed'
      ? { error: { code: operation.errorCode ?? 'CloudInternalError', message: operation.errorMessage ?? '' } }
      : {}),
    ...(operation.jobId === null
      ? {}
      : { properties: { objectType: 'OperationStatusJobExtendedInfo', jobId: operation.jobId } }),
  };
}

/**
 * A Location (operation result) answer: 202 while running, the operation's error when it failed, otherwise what
 * `done` sends (204 when the operation leaves nothing to return).
 */
export function operationResult(
  reply: FastifyReply,
  operation: Operation,
  done: () => unknown = () => reply.code(204).send(),
) {
  if (operation.status === 'InProgress') {
    const retryAfter = reply.server.config.retryAfterSeconds;
    if (retryAfter > 0) reply.header('retry-after', String(retryAfter));
    return reply.code(202).send();
  }
  if (operation.status === 'Failed') {
    throw new ArmError(
      operation.errorStatus ?? 500,
      operation.errorCode ?? 'CloudInternalError',
      operation.errorMessage ?? '',
    );
  }
  return done();
}
