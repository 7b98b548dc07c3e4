import type { FastifyInstance } from 'fastify';
import type { Job, JobStatus, Prisma } from '../generated/prisma/client.ts';
import { alertOnJobEnd } from '../services/alerts.ts';

/** A job as the portal's event stream shows it (`job.created`, `job.updated`). */
function jobEventView(job: Job, previousStatus?: JobStatus) {
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
 * A job by its id. Raw SQL, not findUnique: pollers ask for a job again and again, and Prisma's query compiler costs
 * as much CPU as the rest of the request (bench/RESULTS.md: get job 2,152 → 3,214–3,403 req/s under 50 connections).
 * Every column of Job comes back as the model types it (timestamptz as Date, jsonb parsed, the enum as its text).
 */
export async function jobById(app: FastifyInstance, id: string): Promise<Job | null> {
  const [job] = await app.db.$queryRaw<Job[]>`SELECT * FROM "Job" WHERE "id" = ${id}`;
  return job ?? null;
}

/** A failed job's columns: its end and Azure's `errorDetails` (the code as `errorTitle`). */
export function failedJobFields(endTime: Date, error: { code: string; message: string }) {
  return {
    status: 'Failed' as const,
    endTime,
    errorDetails: [{ errorTitle: error.code, errorString: error.message, recommendations: [] }],
  };
}

/** A job written by a transaction, to announce once it has committed; no previous status: the job was created. */
export interface JobChange {
  job: Job;
  previousStatus?: JobStatus;
}

/**
 * Announces committed job changes: each reaches the portal's event stream, and a job that has ended raises (or
 * resolves) its alerts. Every job change in the service ends here, whatever transaction made it.
 */
export async function announceJobs(app: FastifyInstance, changes: readonly JobChange[]): Promise<void> {
  // Alerts first: a portal that hears a job failed finds its alert already there. The changes are committed, so their
  // events go out even if an alert could not be written.
  try {
    for (const { job } of changes) {
      if (job.status !== 'InProgress' && job.status !== 'Cancelling') await alertOnJobEnd(app, job);
    }
  } finally {
    // Sent together, not one round trip each (a tick starts thousands of jobs): one Redis connection keeps their order.
    await Promise.all(
      changes.map(({ job, previousStatus }) =>
        app.portalEvents.publish(
          job.vaultId,
          previousStatus === undefined
            ? { type: 'job.created', data: jobEventView(job) }
            : { type: 'job.updated', data: jobEventView(job, previousStatus) },
        ),
      ),
    );
  }
}

/**
 * The backup jobs (`AzureWorkloadJob`) that operations record, as the Backup Jobs list shows them. Every job is
 * created and changes status through this module, so each change reaches the portal's event stream.
 */
export async function startJob(
  app: FastifyInstance,
  vaultId: string,
  operation: string,
  entityFriendlyName: string,
  more: {
    protectedItemId?: string;
    cancellable?: boolean;
    extendedInfo?: Prisma.InputJsonObject;
    /** The caller's request id when a request started the job (see Job.activityId). */
    activityId?: string;
  } = {},
): Promise<Job> {
  const job = await app.db.job.create({
    data: { vaultId, operation, entityFriendlyName, startTime: app.clock.now(), ...more },
  });
  await announceJobs(app, [{ job }]);
  return job;
}

/** Moves a job from one status to another — nothing when it is no longer in `from` — and announces the change. */
export async function changeJobStatus(
  app: FastifyInstance,
  jobId: string,
  from: JobStatus,
  data: Prisma.JobUpdateManyMutationInput & { status: JobStatus },
): Promise<Job | undefined> {
  const [job] = await app.db.job.updateManyAndReturn({ where: { id: jobId, status: from }, data });
  if (job !== undefined) await announceJobs(app, [{ job, previousStatus: from }]);
  return job;
}

/**
 * Ends a job that is still in progress or Cancelling, in the transaction `db` is part of (a job ends with the work it
 * records): Completed, or Failed with the error. Announce the changes it returns (`announceJobs`) once that transaction has
 * committed.
 */
export async function finishJobIn(
  db: Prisma.TransactionClient,
  jobId: string,
  now: Date,
  error?: { code: string; message: string },
): Promise<JobChange[]> {
  const data = error === undefined ? { status: 'Completed' as const, endTime: now } : failedJobFields(now, error);
  // A job whose cancellation was asked meanwhile ends with its work's outcome too. One status at a time, so that the
  // change says which it left (an UPDATE … RETURNING gives only the new row); Cancelling is the rare second try.
  for (const from of ['InProgress', 'Cancelling'] as const) {
    const jobs = await db.job.updateManyAndReturn({ where: { id: jobId, status: from }, data });
    if (jobs.length > 0) return jobs.map((job) => ({ job, previousStatus: from }));
  }
  return [];
}

/** Ends a job that is in progress: Completed, or Failed with the error; failed backups and restores raise alerts. */
export async function finishJob(
  app: FastifyInstance,
  jobId: string | null,
  error?: { code: string; message: string },
): Promise<void> {
  if (jobId === null) return;
  await announceJobs(app, await finishJobIn(app.db, jobId, app.clock.now(), error));
}
