import type { Operation } from '../generated/prisma/client.ts';
import { ArmError } from '../domain/errors.ts';
import { allowedBackupTypes } from '../domain/protection.ts';
import type { BackupType } from '../protocol/agent.ts';
import { policyOf } from '../services/protection.ts';
import { startBackup } from '../services/backups.ts';
import { finishJob, startJob } from './job-records.ts';
import type { OperationHandler } from './operation-handler.ts';
import { targetOf } from './operation-targets.ts';

/**
 * Backup now (`backups.trigger`): the operation ends once the Backup job exists; the job then follows the agent's
 * upload. What the database cannot take, or a Log/Differential with no Full to base it on, fails the job with
 * Azure's code — on-demand backups are not healed into Fulls.
 */
export const onDemandBackup: OperationHandler = {
  async run(app, operation: Operation) {
    const target = targetOf(operation, 'item.backup');
    const item = await app.db.protectedItem.findUnique({
      where: { containerId_itemNameKey: { containerId: target.containerId, itemNameKey: target.itemNameKey } },
      include: { container: true, policy: true },
    });
    if (item === null)
      throw new ArmError(
        404,
        'BMSUserErrorDataSourceObjectNotFound',
        'The item was removed before its backup started.',
      );
    const refusal = await refusalOf(app, item, target.backupType);
    let jobId: string | null;
    if (refusal !== undefined) {
      const job = await startJob(app, item.vaultId, 'Backup', `${item.friendlyName} [${item.container.friendlyName}]`, {
        protectedItemId: item.id,
        ...(target.activityId === undefined ? {} : { activityId: target.activityId }),
      });
      await finishJob(app, job.id, refusal);
      jobId = job.id;
    } else {
      jobId = await startBackup(app, {
        item,
        type: target.backupType,
        onDemand: true,
        ...(target.activityId === undefined ? {} : { activityId: target.activityId }),
        ...(target.expiresAt === undefined ? {} : { expiresAt: new Date(target.expiresAt) }),
        compress: target.compress ?? (item.policy === null ? false : policyOf(item.policy).compression),
      });
    }
    await app.db.operation.update({ where: { id: operation.id }, data: { jobId } });
  },
};

async function refusalOf(
  app: Parameters<OperationHandler['run']>[0],
  item: { id: string; friendlyName: string; recoveryModel: string; isReadOnly: boolean },
  type: BackupType,
) {
  if (
    !allowedBackupTypes({
      name: item.friendlyName,
      recoveryModel: item.recoveryModel,
      isReadOnly: item.isReadOnly,
    }).includes(type)
  ) {
    return {
      code: 'UserErrorSQLPODoesNotSupportBackupType',
      message: `The database '${item.friendlyName}' (${item.recoveryModel}${item.isReadOnly ? ', read-only' : ''}) does not support ${type} backups.`,
    };
  }
  if (
    (type === 'Log' || type === 'Differential') &&
    (await app.db.recoveryPoint.count({ where: { protectedItemId: item.id, type: 'Full' } })) === 0
  ) {
    return {
      code: 'UserErrorParentFullBackupMissing',
      message: `A ${type} backup of '${item.friendlyName}' needs a Full backup first.`,
    };
  }
  return undefined;
}
