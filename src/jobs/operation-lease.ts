import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';

/** This process, as a lease holder. */
export const LEASE_OWNER = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/**
 * Takes the lease on an InProgress operation for RV_OPERATION_LEASE_SECONDS (database time, so hosts' clocks do not
 * matter): false when another process holds a live one (it runs the operation now) or the operation has ended.
 * Renewing is taking it again while held.
 */
export async function takeLease(app: FastifyInstance, operationId: string): Promise<boolean> {
  const taken = await app.db.$executeRaw`
    UPDATE "Operation" SET "leaseOwner" = ${LEASE_OWNER},
           "leaseUntil" = now() + make_interval(secs => ${app.config.operationLeaseSeconds})
    WHERE "id" = ${operationId} AND "status" = 'InProgress'
      AND ("leaseUntil" IS NULL OR "leaseUntil" < now() OR "leaseOwner" = ${LEASE_OWNER})`;
  return taken === 1;
}

export async function releaseLease(app: FastifyInstance, operationId: string): Promise<void> {
  await app.db.operation.updateMany({
    where: { id: operationId, leaseOwner: LEASE_OWNER },
    data: { leaseOwner: null, leaseUntil: null },
  });
}

/**
 * Runs `work` under the operation's lease, renewed while it runs; undefined (nothing run) when the lease is not to be
 * had. A process that dies holding it stops renewing: the lease runs out and recovery queues the operation again.
 */
export async function underLease<T>(
  app: FastifyInstance,
  operationId: string,
  work: () => Promise<T>,
): Promise<T | undefined> {
  if (!(await takeLease(app, operationId))) return undefined;
  const renew = setInterval(
    () =>
      void takeLease(app, operationId).catch((error: unknown) =>
        app.log.warn({ err: error, operationId }, 'operation lease not renewed'),
      ),
    (app.config.operationLeaseSeconds * 1000) / 3,
  );
  try {
    return await work();
  } finally {
    clearInterval(renew);
    await releaseLease(app, operationId).catch((error: unknown) =>
      app.log.warn({ err: error, operationId }, 'operation lease not released (it runs out by itself)'),
    );
  }
}
