import type { Vault } from '../../../generated/prisma/client.ts';
import { policyId, protectedItemIdsOf } from '../../../arm/paths.ts';
import { lastBackupStatusOf, protectedItemHealth } from '../../../domain/protection.ts';
import type { ProtectedItemView } from '../../../services/protected-item-views.ts';

/** One KPI, the item's backup health (the RPO watch's verdict); Azure's KPI names are not published. */
const kpis = (resourceHealthStatus: 'Healthy' | 'PersistentUnhealthy') =>
  Object.freeze({ EntityHealth: Object.freeze({ resourceHealthStatus, resourceHealthDetails: Object.freeze([]) }) });
const HEALTHY = kpis('Healthy');
const UNHEALTHY = kpis('PersistentUnhealthy');
const NO_NODES = Object.freeze([]);

/**
 * Renders protected SQL databases of a vault as `AzureVmWorkloadSQLDatabaseProtectedItem`, at `now`. A list page
 * renders 200 with one renderer: the ids' vault part and the policies' ids are built once, the parts every item
 * shares are shared, and every object has one shape whatever the item holds (what it lacks is undefined, which the
 * serializer leaves out).
 */
export function protectedItemRenderer(vault: Vault, now: Date) {
  const policyIds = new Map<string, string>();
  const policyIdOf = (name: string) => {
    let id = policyIds.get(name);
    if (id === undefined) policyIds.set(name, (id = policyId(vault, name)));
    return id;
  };
  const idOf = protectedItemIdsOf(vault);
  return (item: ProtectedItemView) => {
    const health = protectedItemHealth(item.protectionState, item.healthStatus);
    const deferred = item.deferredDeleteAt;
    const policy = item.policyName;
    return {
      id: idOf(item.containerName, item.itemName),
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
        policyId: policy === null ? '' : policyIdOf(policy),
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
        nodesList: NO_NODES,
        kpisHealths: health === 'ActionRequired' ? UNHEALTHY : HEALTHY,
      },
    };
  };
}
