import type { Vault } from '../../../generated/prisma/client.ts';
import { policyId, protectedItemId } from '../../../arm/paths.ts';
import { lastBackupStatusOf, protectedItemHealth } from '../../../domain/protection.ts';
import type { ProtectedItemView } from '../../../services/protected-item-views.ts';

/**
 * A protected SQL database as `AzureVmWorkloadSQLDatabaseProtectedItem`. Every object has one shape whatever the
 * item holds (what it lacks is undefined, which the serializer leaves out): a page renders 200 of them.
 */
export function renderProtectedItem(vault: Vault, item: ProtectedItemView, now: Date) {
  const health = protectedItemHealth(item.protectionState, item.healthStatus);
  const deferred = item.deferredDeleteAt;
  const policy = item.policyName;
  return {
    id: protectedItemId(vault, { name: item.containerName }, item),
    name: item.itemName,
    type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems',
    properties: {
      protectedItemType: 'AzureVmWorkloadSQLDatabase',
      backupManagementType: 'AzureWorkload',
      workloadType: 'SQLDataBase',
      friendlyName: item.friendlyName,
      serverName: item.serverName,
      parentName: item.instanceName,
      parentType: 'AzureVmWorkloadSQLInstance',
      protectionStatus: item.healthStatus,
      protectionState: item.protectionState,
      protectedItemHealthStatus: health,
      lastBackupStatus: lastBackupStatusOf(item.protectionState, item.lastBackupStatus),
      lastBackupTime: item.lastBackupTime?.toISOString(),
      lastBackupErrorDetail: item.lastBackupError ?? undefined,
      protectedItemDataSourceId: item.id,
      containerName: item.containerName,
      sourceResourceId: item.vmResourceId,
      policyId: policy === null ? '' : policyId(vault, policy),
      lastRecoveryPoint: item.latestPoint?.toISOString(),
      policyName: policy ?? undefined,
      isScheduledForDeferredDelete: deferred !== null,
      deferredDeleteTimeInUTC: deferred?.toISOString(),
      deferredDeleteTimeRemaining:
        deferred === null
          ? undefined
          : `${Math.max(0, Math.ceil((deferred.getTime() - now.getTime()) / 86_400_000))}.00:00:00`,
      softDeleteRetentionPeriodInDays: vault.softDeleteRetentionDays,
      extendedInfo: {
        oldestRecoveryPoint: item.oldestPoint?.toISOString(),
        recoveryPointCount: item.pointCount,
        policyState: policy === null ? 'NotProtected' : 'Consistent',
        recoveryModel: item.recoveryModel,
      },
      nodesList: [],
      // One KPI, the item's backup health (the RPO watch's verdict); Azure's KPI names are not published.
      kpisHealths: {
        EntityHealth: {
          resourceHealthStatus: health === 'ActionRequired' ? 'PersistentUnhealthy' : 'Healthy',
          resourceHealthDetails: [],
        },
      },
    },
  };
}
