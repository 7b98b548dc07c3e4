import type { FastifyInstance } from 'fastify';
import type { Job } from '../generated/prisma/client.ts';

/** The backup jobs (`AzureWorkloadJob`) that operations record, as the Backup Jobs list shows them. */
export async function startJob(app: FastifyInstance, vaultId: string, operation: string, entityFriendlyName: string): Promise<Job> {
  return app.db.job.create({ data: { vaultId, operation, entityFriendlyName, startTime: app.clock.now() } });
}

/** Ends a job with its work's outcome; one whose cancellation was asked meanwhile keeps the outcome too. */
export async function finishJob(app: FastifyInstance, jobId: string | null, error?: { code: string; message: string }): Promise<void> {
  if (jobId === null) return;
  await app.db.job.updateMany({
    where: { id: jobId, status: { in: ['InProgress', 'Cancelling'] } },
    data: {
      status: error === undefined ? 'Completed' : 'Failed',
      endTime: app.clock.now(),
      ...(error === undefined
        ? {}
        : { errorDetails: [{ errorTitle: error.code, errorString: error.message, recommendations: [] }] }),
    },
  });
}
