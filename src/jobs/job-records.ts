import type { FastifyInstance } from 'fastify';
import type { Job, Prisma } from '../generated/prisma/client.ts';

/** The backup jobs (`AzureWorkloadJob`) that operations record, as the Backup Jobs list shows them. */
export async function startJob(app: FastifyInstance, vaultId: string, operation: string, entityFriendlyName: string): Promise<Job> {
  return app.db.job.create({ data: { vaultId, operation, entityFriendlyName, startTime: app.clock.now() } });
}

/** A failed job's columns: its end and Azure's `errorDetails` (the code as `errorTitle`). */
export function failedJobFields(endTime: Date, error: { code: string; message: string }) {
  return { status: 'Failed' as const, endTime, errorDetails: [{ errorTitle: error.code, errorString: error.message, recommendations: [] }] };
}

/** Ends a job that is still in progress, in whatever transaction `db` is (a job ends with the work it records). */
export function finishJobIn(db: Prisma.TransactionClient, jobId: string, now: Date, error?: { code: string; message: string }) {
  return db.job.updateMany({
    where: { id: jobId, status: 'InProgress' },
    data: error === undefined ? { status: 'Completed', endTime: now } : failedJobFields(now, error),
  });
}

export async function finishJob(app: FastifyInstance, jobId: string | null, error?: { code: string; message: string }): Promise<void> {
  if (jobId === null) return;
  await finishJobIn(app.db, jobId, app.clock.now(), error);
}
