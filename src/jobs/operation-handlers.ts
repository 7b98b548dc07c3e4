import type { FastifyInstance } from 'fastify';
import type { Operation } from '../generated/prisma/client.ts';
import { deleteVault } from './vault-deletion.ts';

/** The work behind each kind of asynchronous operation; each must be safe to run again after a crash. */
export type OperationHandler = (app: FastifyInstance, operation: Operation) => Promise<{ jobId?: string } | void>;

export const operationHandlers: Record<string, OperationHandler> = {
  'vault.delete': deleteVault,
};
