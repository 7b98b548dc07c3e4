import type { Policy, ProtectedItem, ProtectionContainer, Vault } from '../../../generated/prisma/client.ts';
import { policyId, protectedItemId } from '../../../arm/paths.ts';
import { lastBackupStatusOf, protectedItemHealth } from '../../../domain/protection.ts';

/** A protected SQL database as `AzureVmWorkloadSQLDatabaseProtectedItem`. */
export function renderProtectedItem(
  vault: Vault,
  container: ProtectionContainer,
  item: ProtectedItem,
  policy: Policy | null,
  now: Date,
) {
  const deferred = item.deferredDeleteAt;
  return {
    id: protectedItemId(vault, container, item),
    name: item.itemName,
    type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems',
    properties: {
      protectedItemType: 'AzureVmWorkloadSQLDatabase',
      backupManagementType: 'AzureWorkload',
      workloadType: 'SQLDataBase',
      friendlyName: item.friendlyName,
      serverName: container.fqdn ?? container.friendlyName,
      parentName: item.instanceName,
      parentType: 'AzureVmWorkloadSQLInstance',
      protectionStatus: item.healthStatus,
      protectionState: item.protectionState,
      protectedItemHealthStatus: protectedItemHealth(item.protectionState, item.healthStatus),
      lastBackupStatus: lastBackupStatusOf(item.protectionState, item.lastBackupStatus),
      ...(item.lastBackupTime === null ? {} : { lastBackupTime: item.lastBackupTime.toISOString() }),
      ...(item.lastBackupError === null ? {} : { lastBackupErrorDetail: item.lastBackupError }),
      protectedItemDataSourceId: item.id,
      containerName: container.name,
      sourceResourceId: container.vmResourceId,
      policyId: policy === null ? '' : policyId(vault, policy.name),
      ...(policy === null ? {} : { policyName: policy.name }),
      isScheduledForDeferredDelete: deferred !== null,
      ...(deferred === null
        ? {}
        : {
            deferredDeleteTimeInUTC: deferred.toISOString(),
            deferredDeleteTimeRemaining: `${Math.max(0, Math.ceil((deferred.getTime() - now.getTime()) / 86_400_000))}.00:00:00`,
          }),
      softDeleteRetentionPeriodInDays: vault.softDeleteRetentionDays,
      extendedInfo: {
        recoveryPointCount: 0,
        policyState: policy === null ? 'NotProtected' : 'Consistent',
        recoveryModel: item.recoveryModel,
      },
      nodesList: [],
      kpisHealths: {},
    },
  };
}
