import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Operation } from '../generated/prisma/client.ts';
import { errors, type ArmError } from '../domain/errors.ts';
import { UUID } from '../domain/arm-ids.ts';
import { armUrl } from '../arm/urls.ts';
import { failOperation } from '../jobs/agent-results.ts';
import type { OperationKind, OperationTarget } from '../jobs/operation-targets.ts';

export interface VaultScope {
  subscriptionId: string;
  resourceGroup: string;
  vaultName: string;
}

export interface OperationUrls {
  /** Path answered with the OperationStatus body (Azure-AsyncOperation). */
  status?: string;
  /** Path answered 202 while running, then with the result (Location). */
  result?: string;
}

export interface Operations {
  /** Records an InProgress operation and queues its work (handled by jobs/operation-handlers.ts). */
  start<K extends OperationKind>(
    scope: VaultScope,
    kind: K,
    target: OperationTarget<K>,
    jobId?: string,
  ): Promise<Operation>;
  /** Queues an operation's work (once: a job of that id already queued is kept). */
  enqueue(operation: Pick<Operation, 'id' | 'kind'>): Promise<void>;
  /** Queues the deadline of an operation that waits for its agent's result (once, as enqueue). */
  enqueueDeadline(operationId: string): Promise<void>;
  /** Answers 202 with Azure-AsyncOperation / Location / Retry-After pointing at the operation. */
  accepted(request: FastifyRequest, reply: FastifyReply, operation: Operation, urls: OperationUrls): FastifyReply;
  /** An operation of this vault, else 404 — whatever the case of the names in the path. */
  find(scope: VaultScope, operationId: string): Promise<Operation>;
  succeed(operationId: string): Promise<void>;
  fail(operationId: string, error: ArmError): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    operations: Operations;
  }
}

export default fp(
  async (app) => {
    const operations: Operations = {
      async start(scope, kind, target, jobId) {
        const operation = await app.db.operation.create({
          data: {
            subscriptionId: scope.subscriptionId.toLowerCase(),
            resourceGroupKey: scope.resourceGroup.toLowerCase(),
            vaultNameKey: scope.vaultName.toLowerCase(),
            kind,
            target: target as object,
            jobId: jobId ?? null,
            startTime: app.clock.now(),
            queuePrefix: app.config.queuePrefix,
          },
        });
        try {
          await operations.enqueue(operation);
        } catch (error) {
          // The caller is told it failed, so nothing of it may run later (operation recovery takes up what is
          // InProgress): it ends Failed now, with its kind's clean-up, as if its work had failed.
          const refused = errors.queueUnavailable();
          await failOperation(app, operation, refused).catch(async (cleanup: unknown) => {
            app.log.warn(
              { err: cleanup, operationId: operation.id },
              'an operation that could not be queued was not cleaned up',
            );
            await operations.fail(operation.id, refused);
          });
          app.log.warn({ err: error, operationId: operation.id }, 'operation not queued');
          throw refused;
        }
        return operation;
      },

      async enqueue({ id, kind }) {
        await app.queues.operations.add(
          kind,
          { operationId: id },
          {
            jobId: id,
            attempts: 3,
            backoff: { type: 'exponential', delay: 500 },
            removeOnComplete: 1000,
            removeOnFail: 5000,
          },
        );
      },

      async enqueueDeadline(operationId) {
        await app.queues.operations.add(
          'deadline',
          { operationId },
          {
            jobId: `deadline-${operationId}`,
            delay: app.config.agent.commandTimeoutSeconds * 1000,
            removeOnComplete: true,
            removeOnFail: true,
          },
        );
      },

      accepted(request, reply, operation, urls) {
        if (urls.status !== undefined) reply.header('azure-asyncoperation', armUrl(request, urls.status));
        if (urls.result !== undefined) reply.header('location', armUrl(request, urls.result));
        if (app.config.retryAfterSeconds > 0) reply.header('retry-after', String(app.config.retryAfterSeconds));
        return reply.code(202).send();
      },

      async find(scope, operationId) {
        const operation = UUID.test(operationId)
          ? await app.db.operation.findUnique({ where: { id: operationId.toLowerCase() } })
          : null;
        if (
          operation === null ||
          operation.subscriptionId !== scope.subscriptionId.toLowerCase() ||
          operation.resourceGroupKey !== scope.resourceGroup.toLowerCase() ||
          operation.vaultNameKey !== scope.vaultName.toLowerCase()
        ) {
          throw errors.operationNotFound(operationId);
        }
        return operation;
      },

      async succeed(operationId) {
        await app.db.operation.updateMany({
          where: { id: operationId, status: 'InProgress' },
          data: { status: 'Succeeded', endTime: app.clock.now() },
        });
      },

      async fail(operationId, error) {
        await app.db.operation.updateMany({
          where: { id: operationId, status: 'InProgress' },
          data: {
            status: 'Failed',
            endTime: app.clock.now(),
            errorStatus: error.statusCode,
            errorCode: error.code,
            errorMessage: error.message,
          },
        });
      },
    };
    app.decorate('operations', operations);
  },
  { name: 'operations', dependencies: ['db', 'queues', 'clock'] },
);
