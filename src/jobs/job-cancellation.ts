import type { FastifyInstance } from 'fastify';
import type { Operation } from '../generated/prisma/client.ts';
import { endCancelledBackup } from '../services/backups.ts';
import { changeJobStatus } from './job-records.ts';
import { targetOf } from './operation-targets.ts';

/**
 * Cancels a job marked Cancelling. A Backup job's upload is ended first (no more blocks, no commit, no blob; the
 * agent is refused and stops), then the job is Cancelled. A job whose work has already ended keeps its outcome.
 */
export async function cancelJob(app: FastifyInstance, operation: Operation): Promise<void> {
  const { jobId } = targetOf(operation, 'job.cancel');
  await endCancelledBackup(app, jobId);
}

/**
 * The cancellation failed (never queued, or its work failed). A job whose backup is still open goes on as it was —
 * left Cancelling it would refuse its own blocks and commit, and no second cancellation could be asked. One whose
 * upload is no longer open (the cancellation's work failed it, then failed itself) cannot go on: it is Cancelled.
 */
export async function cancellationFailed(app: FastifyInstance, operation: Operation): Promise<void> {
  const { jobId } = targetOf(operation, 'job.cancel');
  const open = await app.db.backupUpload.count({ where: { jobId, state: 'Open' } });
  if (open > 0) await changeJobStatus(app, jobId, 'Cancelling', { status: 'InProgress' });
  else await changeJobStatus(app, jobId, 'Cancelling', { status: 'Cancelled', endTime: app.clock.now() });
}
