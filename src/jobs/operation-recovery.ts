import type { FastifyInstance } from 'fastify';

/**
 * Operations live in PostgreSQL; their work and their deadlines are BullMQ jobs in Redis. A Redis that comes back
 * empty (restarted without persistence, failed over) has lost those jobs, and without this an operation would stay
 * InProgress for ever — its client polling it for ever. For each InProgress operation with neither job in the queue:
 * if it already sent its agent a command, its work ran and it waits for the result, so it gets a new deadline (a full
 * one: the wait restarts); otherwise its work is queued again. Queuing is idempotent (jobs are keyed by the
 * operation's id) and the work skips an operation that is no longer InProgress, so a sweep racing the request that
 * started an operation, or another worker's sweep, queues nothing twice. An operation whose lease is live is running
 * in some process (jobs/operation-lease.ts) and is left alone; one whose job ended while it is still InProgress (its
 * worker skipped it for another's lease, then that worker died) gets its work queued again. Returns how many were
 * queued again.
 */
export async function requeueLostOperations(app: FastifyInstance): Promise<number> {
  const queue = app.queues.operations;
  // This deployment's only: deployments that share a database keep their queues apart by prefix (as the tests do).
  const inProgress = await app.db.$queryRaw<{ id: string; kind: string }[]>`
    SELECT "id", "kind" FROM "Operation"
    WHERE "queuePrefix" = ${app.config.queuePrefix} AND "status" = 'InProgress'
      AND ("leaseUntil" IS NULL OR "leaseUntil" < now())`;
  let requeued = 0;
  for (const operation of inProgress) {
    const [work, deadline] = await Promise.all([queue.getJob(operation.id), queue.getJob(`deadline-${operation.id}`)]);
    if (deadline !== undefined) continue;
    if (work !== undefined) {
      const state = await work.getState();
      if (state !== 'completed' && state !== 'failed') continue;
      await work.remove();
    }
    const sentCommand = await app.db.agentCommand.findFirst({
      where: { operationId: operation.id },
      select: { id: true },
    });
    if (sentCommand === null) await app.operations.enqueue(operation);
    else await app.operations.enqueueDeadline(operation.id);
    requeued += 1;
  }
  if (requeued > 0) app.log.warn({ requeued }, 'operations whose queued jobs Redis had lost were queued again');
  return requeued;
}
