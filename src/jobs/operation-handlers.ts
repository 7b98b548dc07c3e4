import type { OperationHandler } from './operation-handler.ts';
import type { OperationKind } from './operation-targets.ts';
import { deleteVault } from './vault-deletion.ts';
import { cancellationFailed, cancelJob } from './job-cancellation.ts';
import { onDemandBackup } from './backup-operations.ts';
import { itemRestore } from './restore-operations.ts';
import { itemConfiguration, itemDeletion, itemStop, itemUndelete, policyUpdate } from './protection-operations.ts';
import {
  containerInquiry,
  containerRefresh,
  containerRegistration,
  containerUnregistration,
} from './container-operations.ts';

/** Every kind of asynchronous operation (each with its target's schema) and the handler that does its work. */
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
} satisfies Record<OperationKind, OperationHandler>;
