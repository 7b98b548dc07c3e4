import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import { Worker, type Job } from 'bullmq';
import { ArmError, errors } from '../domain/errors.ts';
import { operationHandlers } from '../jobs/operation-handlers.ts';

/**
 * The BullMQ workers, in this process when RV_WORKERS is on (the default single-process mode); `src/worker.ts`
 * runs them alone for scale-out. Workers use their own connection: blocking reads need `maxRetriesPerRequest: null`.
 */
export default fp(
  async (app) => {
    if (!app.config.workers) return;
    const connection = new Redis(app.config.redisUrl, { maxRetriesPerRequest: null });
    connection.on('error', (error) => app.log.warn({ err: error }, 'worker redis connection error'));

    const operations = new Worker(
      'operations',
      async (job: Job<{ operationId: string }>) => {
        const operation = await app.db.operation.findUnique({ where: { id: job.data.operationId } });
        if (operation === null || operation.status !== 'InProgress') return;
        const handler = operationHandlers[operation.kind];
        try {
          if (handler === undefined) throw new Error(`no handler for operation kind '${operation.kind}'`);
          const outcome = await handler(app, operation);
          await app.operations.succeed(operation.id, outcome?.jobId);
        } catch (error) {
          if (error instanceof ArmError) return app.operations.fail(operation.id, error);
          const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
          if (lastAttempt) await app.operations.fail(operation.id, errors.internal(operation.id));
          throw error;
        }
      },
      { connection, prefix: app.config.queuePrefix, concurrency: 8 },
    );
    operations.on('failed', (job, error) => app.log.warn({ err: error, jobId: job?.id }, 'operation attempt failed'));

    app.addHook('onClose', async () => {
      await operations.close();
      connection.disconnect();
    });
  },
  { name: 'workers', dependencies: ['db', 'queues', 'blob-store', 'operations'] },
);
