import type { FastifyInstance } from 'fastify';
import type { Operation } from '../generated/prisma/client.ts';
import { changeJobStatus } from './job-records.ts';

/**
 * Cancels a job marked Cancelling. The work behind cancellable jobs (backups, restores) checks for Cancelling and
 * stops; a job whose work has already ended keeps its outcome.
 */
export async function cancelJob(app: FastifyInstance, operation: Operation): Promise<void> {
  const { jobId } = operation.target as { jobId: string };
  await changeJobStatus(app, jobId, 'Cancelling', { status: 'Cancelled', endTime: app.clock.now() });
}
