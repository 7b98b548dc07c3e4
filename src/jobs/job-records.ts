import type { FastifyInstance } from 'fastify';
import type { Job, JobStatus, Prisma } from '../generated/prisma/client.ts';
import { alertOnJobEnd } from '../services/alerts.ts';

/** A job as the portal's event stream shows it (`job.created`, `job.updated`). */
export function jobEventView(job: Job, previousStatus?: JobStatus) {
  const [error] = job.errorDetails as { errorTitle?: string }[];
  return {
    jobId: job.id,
    operation: job.operation,
    status: job.status,
    ...(previousStatus === undefined ? {} : { previousStatus }),
    entityFriendlyName: job.entityFriendlyName,
    startTime: job.startTime.toISOString(),
    ...(job.endTime === null ? {} : { endTime: job.endTime.toISOString() }),
    ...(error?.errorTitle === undefined ? {} : { errorCode: error.errorTitle }),
  };
}

/**
 * The backup jobs (`AzureWorkloadJob`) that operations record, as the Backup Jobs list shows them. Every job is
 * created and changes status here, so each change reaches the portal's event stream.
 */
export async function startJob(
  app: FastifyInstance,
  vaultId: string,
  operation: string,
  entityFriendlyName: string,
  more: { protectedItemId?: string; cancellable?: boolean; extendedInfo?: Prisma.InputJsonObject } = {},
): Promise<Job> {
  const job = await app.db.job.create({ data: { vaultId, operation, entityFriendlyName, startTime: app.clock.now(), ...more } });
  await app.portalEvents.publish(vaultId, { type: 'job.created', data: jobEventView(job) });
  return job;
}

/** Moves a job from one status to another — nothing when it is no longer in `from` — and announces the change. */
export async function changeJobStatus(app: FastifyInstance, jobId: string, from: JobStatus, data: Prisma.JobUpdateManyMutationInput & { status: JobStatus }): Promise<Job | undefined> {
  const [job] = await app.db.job.updateManyAndReturn({ where: { id: jobId, status: from }, data });
  if (job !== undefined) await app.portalEvents.publish(job.vaultId, { type: 'job.updated', data: jobEventView(job, from) });
  return job;
}

/** Ends a job that is in progress: Completed, or Failed with the error; failed backups and restores raise alerts. */
export async function finishJob(app: FastifyInstance, jobId: string | null, error?: { code: string; message: string }): Promise<void> {
  if (jobId === null) return;
  const job = await changeJobStatus(app, jobId, 'InProgress', {
    status: error === undefined ? 'Completed' : 'Failed',
    endTime: app.clock.now(),
    ...(error === undefined
      ? {}
      : { errorDetails: [{ errorTitle: error.code, errorString: error.message, recommendations: [] }] }),
  });
  if (job !== undefined) await alertOnJobEnd(app, job);
}
