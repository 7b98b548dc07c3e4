import type { FastifyInstance } from 'fastify';
import type { AgentCommand, Operation } from '../generated/prisma/client.ts';
import { deleteVault } from './vault-deletion.ts';
import { cancellationFailed, cancelJob } from './job-cancellation.ts';
import { onDemandBackup } from './backup-operations.ts';
import { itemRestore } from './restore-operations.ts';
import {
  itemConfiguration,
  itemDeletion,
  itemStop,
  itemUndelete,
  policyDeletion,
  policyUpdate,
} from './protection-operations.ts';
import {
  containerInquiry,
  containerRefresh,
  containerRegistration,
  containerUnregistration,
} from './container-operations.ts';

/**
 * The work behind one kind of asynchronous operation. `run` must be safe to repeat after a crash. An operation
 * that needs a VM's agent issues a command and returns `waitForAgent`; `onAgentResult` then finishes it when the
 * agent answers (throw an ArmError to fail it), and `onTimeout` cleans up if it never does.
 */
export interface OperationHandler {
  run(app: FastifyInstance, operation: Operation): Promise<{ waitForAgent?: boolean } | void>;
  onAgentResult?(app: FastifyInstance, operation: Operation, command: AgentCommand): Promise<void>;
  onFailure?(app: FastifyInstance, operation: Operation, code: string, message: string): Promise<void>;
}

export const operationHandlers: Record<string, OperationHandler> = {
  'vault.delete': { run: deleteVault },
  'job.cancel': { run: cancelJob, onFailure: cancellationFailed },
  'item.backup': onDemandBackup,
  'item.restore': itemRestore,
  'fabric.refresh': containerRefresh,
  'container.register': containerRegistration,
  'container.inquire': containerInquiry,
  'container.unregister': containerUnregistration,
  'item.configure': itemConfiguration,
  'item.stop': itemStop,
  'item.delete': itemDeletion,
  'item.undelete': itemUndelete,
  'policy.update': policyUpdate,
  'policy.delete': policyDeletion,
};
