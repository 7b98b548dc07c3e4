import type { Policy, ProtectedItem, ProtectionContainer, Vault } from '../../../generated/prisma/client.ts';
import { policyId, protectedItemId } from '../../../arm/paths.ts';
import { lastBackupStatusOf, protectedItemHealth } from '../../../domain/protection.ts';
import type { RecoveryPointSummary } from '../../../services/recovery-point-summaries.ts';

/** A protected SQL database as `AzureVmWorkloadSQLDatabaseProtectedItem`. */
export function renderProtectedItem(
  vault: Vault,
  container: ProtectionContainer,
  item: ProtectedItem,
  policy: Policy | null,
  points: RecoveryPointSummary,
  now: Date,
) {
  const health = protectedItemHealth(item.protectionState, item.healthStatus);
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
      protectedItemHealthStatus: health,
      lastBackupStatus: lastBackupStatusOf(item.protectionState, item.lastBackupStatus),
      ...(item.lastBackupTime === null ? {} : { lastBackupTime: item.lastBackupTime.toISOString() }),
      ...(item.lastBackupError === null ? {} : { lastBackupErrorDetail: item.lastBackupError }),
      protectedItemDataSourceId: item.id,
      containerName: container.name,
      sourceResourceId: container.vmResourceId,
      policyId: policy === null ? '' : policyId(vault, policy.name),
      ...(points.latest === undefined ? {} : { lastRecoveryPoint: points.latest.toISOString() }),
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
        ...(points.oldest === undefined ? {} : { oldestRecoveryPoint: points.oldest.toISOString() }),
        recoveryPointCount: points.count,
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
