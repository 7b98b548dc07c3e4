import type { FastifyInstance } from 'fastify';
import type { AgentCommand, Operation } from '../generated/prisma/client.ts';
import { ArmError } from '../domain/errors.ts';
import { operationHandlers } from './operation-handlers.ts';
import { failBackupCommand } from '../services/backups.ts';

/**
 * What a command's result means beyond its operation, by command type. A backup's success arrives as its commit
 * (the upload routes); its failure arrives here, as the command's result.
 */
const commandResultHandlers: Partial<Record<string, (app: FastifyInstance, command: AgentCommand) => Promise<void>>> = {
  backup: async (app, command) => {
    if (command.status !== 'Failed') return;
    const { backupId } = command.payload as { backupId?: unknown };
    await failBackupCommand(
      app,
      backupId,
      command.errorCode ?? 'CloudInternalError',
      command.errorMessage ?? 'The workload extension could not take the backup.',
    );
  },
};

/** Finishes what waits on a command the agent just completed: its type's own consequence, then its operation. */
export async function onCommandCompleted(app: FastifyInstance, command: AgentCommand): Promise<void> {
  await commandResultHandlers[command.type]?.(app, command);
  if (command.operationId === null) return;
  const operation = await app.db.operation.findUnique({ where: { id: command.operationId } });
  if (operation === null || operation.status !== 'InProgress') return;
  try {
    await operationHandlers[operation.kind]?.onAgentResult?.(app, operation, command);
    await app.operations.succeed(operation.id);
  } catch (error) {
    if (!(error instanceof ArmError)) throw error;
    await failOperation(app, operation, error);
  }
}

/** Fails an operation: the kind's own clean-up first (job, container state), then the operation itself. */
export async function failOperation(app: FastifyInstance, operation: Operation, error: ArmError): Promise<void> {
  await operationHandlers[operation.kind]?.onFailure?.(app, operation, error.code, error.message);
  await app.operations.fail(operation.id, error);
}
