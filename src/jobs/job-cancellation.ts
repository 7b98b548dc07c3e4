import type { FastifyInstance } from 'fastify';
import type { Operation } from '../generated/prisma/client.ts';

/**
 * Cancels a job marked Cancelling. The work behind cancellable jobs (backups, restores) checks for Cancelling and
 * stops; a job whose work has already ended keeps its outcome.
 */
export async function cancelJob(app: FastifyInstance, operation: Operation): Promise<void> {
  const { jobId } = operation.target as { jobId: string };
  await app.db.job.updateMany({ where: { id: jobId, status: 'Cancelling' }, data: { status: 'Cancelled', endTime: app.clock.now() } });
}
