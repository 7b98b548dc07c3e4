import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import { Worker, type Job, type RepeatOptions } from 'bullmq';
import type { CommandStatus, Operation } from '../generated/prisma/client.ts';
import { ArmError, errors } from '../domain/errors.ts';
import { operationHandlers } from '../jobs/operation-handlers.ts';
import { failOperation } from '../jobs/agent-results.ts';
import { runMaintenance } from '../jobs/maintenance.ts';
import { requeueLostOperations } from '../jobs/operation-recovery.ts';
import { underLease } from '../jobs/operation-lease.ts';

/**
 * The BullMQ workers, in this process when RV_WORKERS is on (the default single-process mode); `src/worker.ts`
 * runs them alone for scale-out. Workers use their own connection: blocking reads need `maxRetriesPerRequest: null`.
 */
export default fp(
  async (app) => {
    if (!app.config.workers) return;
    const connection = new Redis(app.config.redisUrl, { maxRetriesPerRequest: null });
    connection.on('error', (error) => app.log.warn({ err: error }, 'worker redis connection error'));

    // Under the operation's lease: a job Redis lost and recovery queued again, or a stalled job BullMQ hands to another
    // worker, never runs alongside the attempt still running (see jobs/operation-lease.ts).
    const runOperation = (job: Job<{ operationId: string }>) =>
      underLease(app, job.data.operationId, () => runLeasedOperation(job));
    const runLeasedOperation = async (job: Job<{ operationId: string }>) => {
      const operation = await app.db.operation.findUnique({ where: { id: job.data.operationId } });
      if (operation === null || operation.status !== 'InProgress') return;
      const handler = operationHandlers[operation.kind];
      try {
        if (handler === undefined) throw new Error(`no handler for operation kind '${operation.kind}'`);
        const outcome = await handler.run(app, operation);
        if (outcome?.waitForAgent === true) {
          const cutOff = await unreachableVm(operation.id);
          if (cutOff !== undefined) return failUnanswered(operation, errors.vmConnectivity(cutOff));
          // The agent's result finishes it (jobs/agent-results.ts); this deadline fails it if none comes.
          await app.operations.enqueueDeadline(operation.id);
          return;
        }
        await app.operations.succeed(operation.id);
      } catch (error) {
        if (error instanceof ArmError) return failOperation(app, operation, error);
        const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        if (lastAttempt) await failOperation(app, operation, errors.internal(operation.id));
        throw error;
      }
    };

    const unanswered = { in: ['Pending', 'Delivered', 'Acknowledged'] satisfies CommandStatus[] };
    /** Fails an operation whose agent will not answer; a command the agent never answered must not be applied later. */
    const failUnanswered = async (operation: Operation, error: ArmError) => {
      await app.db.agentCommand.updateMany({
        where: { operationId: operation.id, status: unanswered },
        data: { status: 'Failed', errorCode: error.code, errorMessage: error.message, completedAt: app.clock.now() },
      });
      await failOperation(app, operation, error);
    };
    /** The VM an operation waits on that cannot reach the service (emulator fault VmConnectivity), by name. */
    const unreachableVm = async (operationId: string) => {
      if (!app.config.emulatorControls) return undefined;
      const waiting = await app.db.agentCommand.findMany({
        where: { operationId, status: unanswered },
        select: { containerId: true, container: { select: { friendlyName: true } } },
      });
      return waiting.find((c) => app.faults.connectivityLost(c.containerId))?.container.friendlyName;
    };

    const expireOperation = async (job: Job<{ operationId: string }>) => {
      const operation = await app.db.operation.findUnique({ where: { id: job.data.operationId } });
      if (operation === null || operation.status !== 'InProgress') return;
      await failUnanswered(operation, errors.extensionNotReachable(app.config.agent.commandTimeoutSeconds));
    };

    const operations = new Worker(
      'operations',
      async (job: Job<{ operationId: string }>) => (job.name === 'deadline' ? expireOperation(job) : runOperation(job)),
      {
        connection,
        prefix: app.config.queuePrefix,
        concurrency: 8,
        // A killed worker's job is handed on once its lock runs out, as its operation lease does.
        lockDuration: app.config.operationLeaseSeconds * 1000,
        stalledInterval: app.config.operationLeaseSeconds * 1000,
      },
    );
    operations.on('failed', (job, error) => app.log.warn({ err: error, jobId: job?.id }, 'operation attempt failed'));

    const maintenance = new Worker('maintenance', (job) => runMaintenance(app, job), {
      connection,
      prefix: app.config.queuePrefix,
      concurrency: 2,
    });
    maintenance.on('failed', (job, error) => app.log.warn({ err: error, job: job?.name }, 'maintenance job failed'));
    // Schedulers live in Redis, one per name, however many workers upsert them.
    const discoveryEvery = app.config.protection.discoveryIntervalSeconds * 1000;
    // Schedules live in Postgres; this tick only dispatches what is due there, so losing Redis loses no schedule.
    const tickEvery = app.config.backup.schedulerTickSeconds * 1000;
    const recoveryEvery = app.config.operationLeaseSeconds * 1000;
    const schedulers: [name: string, repeat: () => RepeatOptions][] = [
      ['discovery-cycle', () => ({ every: discoveryEvery, startDate: Date.now() + discoveryEvery })],
      ['schedule-tick', () => ({ every: tickEvery, startDate: Date.now() + tickEvery })],
      ['purge-soft-deleted', () => ({ every: app.config.protection.softDeletePurgeMinutes * 60_000 })],
      // Daily at RV_RETENTION_SWEEP_HOUR UTC; the job sweeps as of that instant in service time (see jobs/retention.ts).
      ['retention-sweep', () => ({ pattern: `0 ${app.config.backup.retentionSweepHour} * * *`, tz: 'UTC' })],
      ['operation-recovery', () => ({ every: recoveryEvery, startDate: Date.now() + recoveryEvery })],
    ];
    const upsert = (name: string, repeat: () => RepeatOptions) =>
      app.queues.maintenance.upsertJobScheduler(name, repeat(), { name });
    for (const [name, repeat] of schedulers) await upsert(name, repeat);
    // Operations queued in a Redis that lost them while no worker ran are taken up at once, not a minute later.
    await requeueLostOperations(app);
    // A Redis that comes back empty (restarted without persistence, failed over) has lost them: each reconnection
    // re-creates the missing ones (existing ones are left alone, so reconnecting does not postpone their next run).
    const recreateMissing = async () => {
      for (const [name, repeat] of schedulers) {
        if ((await app.queues.maintenance.getJobScheduler(name)) === undefined) {
          await upsert(name, repeat);
          app.log.warn({ scheduler: name }, 'job scheduler re-created after Redis lost it');
        }
      }
    };
    const onReconnect = () => {
      recreateMissing()
        .then(() => requeueLostOperations(app))
        .then((requeued) =>
          app.log.info({ requeued }, 'recovered after a Redis reconnection: job schedulers and operations checked'),
        )
        .catch((error: unknown) =>
          app.log.warn({ err: error }, 'job schedulers and operations not recovered yet (Redis unavailable)'),
        );
    };
    app.redis.on('ready', onReconnect);

    app.addHook('onClose', async () => {
      app.redis.off('ready', onReconnect);
      await Promise.all([operations.close(), maintenance.close()]);
      connection.disconnect();
    });
  },
  { name: 'workers', dependencies: ['db', 'queues', 'blob-store', 'operations', 'agent-commands'] },
);
