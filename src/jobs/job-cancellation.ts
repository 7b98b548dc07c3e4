import type { FastifyInstance } from 'fastify';
import type { Operation } from '../generated/prisma/client.ts';
import { cancelBackup } from '../services/backups.ts';
import { changeJobStatus } from './job-records.ts';

/**
 * Cancels a job marked Cancelling. A Backup job's upload is ended first (no more blocks, no commit, no blob; the
 * agent is refused and stops), then the job is Cancelled. A job whose work has already ended keeps its outcome.
 */
export async function cancelJob(app: FastifyInstance, operation: Operation): Promise<void> {
  const { jobId } = operation.target as { jobId: string };
  await cancelBackup(app, jobId);
  await changeJobStatus(app, jobId, 'Cancelling', { status: 'Cancelled', endTime: app.clock.now() });
}

/**
 * The cancellation failed (never queued, or its work failed): the job goes on as it was — a job left Cancelling
 * would refuse its own blocks and commit, and no second cancellation could be asked.
 */
export async function cancellationFailed(app: FastifyInstance, operation: Operation): Promise<void> {
  const { jobId } = operation.target as { jobId: string };
  await changeJobStatus(app, jobId, 'Cancelling', { status: 'InProgress' });
}
