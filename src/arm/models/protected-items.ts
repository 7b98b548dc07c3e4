import { Type } from 'typebox';
import { backupResource, DateTime, Discriminated, ErrorDetail, KnownString, Nullable } from './common.ts';

const AzureVmWorkloadProtectedItemExtendedInfo = Type.Object(
  {
    oldestRecoveryPoint: Type.Optional(Nullable(DateTime())),
    oldestRecoveryPointInVault: Type.Optional(DateTime()),
    oldestRecoveryPointInArchive: Type.Optional(DateTime()),
    newestRecoveryPointInArchive: Type.Optional(DateTime()),
    recoveryPointCount: Type.Optional(Type.Integer()),
    policyState: Type.Optional(Type.String()),
    recoveryModel: Type.Optional(Type.String()),
  },
  { title: 'AzureVmWorkloadProtectedItemExtendedInfo' },
);

const ResourceHealthDetails = Type.Object(
  {
    code: Type.Optional(Type.Integer()),
    title: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
    recommendations: Type.Optional(Type.Array(Type.String())),
  },
  { title: 'ResourceHealthDetails' },
);

const KPIResourceHealthDetails = Type.Object(
  {
    resourceHealthStatus: Type.Optional(
      KnownString(
        'Healthy',
        'TransientDegraded',
        'PersistentDegraded',
        'TransientUnhealthy',
        'PersistentUnhealthy',
        'Invalid',
      ),
    ),
    resourceHealthDetails: Type.Optional(Type.Array(ResourceHealthDetails)),
  },
  { title: 'KPIResourceHealthDetails' },
);

export const DistributedNodesInfo = Type.Object(
  {
    nodeName: Type.Optional(Type.String()),
    status: Type.Optional(Type.String()),
    errorDetail: Type.Optional(ErrorDetail),
    sourceResourceId: Type.Optional(Type.String()),
  },
  { title: 'DistributedNodesInfo' },
);

/** `AzureVmWorkloadSQLDatabaseProtectedItem` (protectedItemType AzureVmWorkloadSQLDatabase). */
export const AzureVmWorkloadSQLDatabaseProtectedItem = Discriminated(
  'AzureVmWorkloadSQLDatabaseProtectedItem',
  'protectedItemType',
  'AzureVmWorkloadSQLDatabase',
  {
    backupManagementType: Type.Optional(KnownString('AzureWorkload')),
    workloadType: Type.Optional(KnownString('SQLDataBase')),
    containerName: Type.Optional(Type.String()),
    sourceResourceId: Type.Optional(Type.String()),
    policyId: Type.Optional(Type.String()),
    lastRecoveryPoint: Type.Optional(DateTime()),
    backupSetName: Type.Optional(Type.String()),
    createMode: Type.Optional(Type.String()),
    deferredDeleteTimeInUTC: Type.Optional(DateTime()),
    isScheduledForDeferredDelete: Type.Optional(Type.Boolean()),
    deferredDeleteTimeRemaining: Type.Optional(Type.String({ description: 'd.hh:mm:ss' })),
    isDeferredDeleteScheduleUpcoming: Type.Optional(Type.Boolean()),
    isRehydrate: Type.Optional(Type.Boolean()),
    resourceGuardOperationRequests: Type.Optional(Type.Array(Type.String())),
    isArchiveEnabled: Type.Optional(Type.Boolean()),
    policyName: Type.Optional(Type.String()),
    softDeleteRetentionPeriodInDays: Type.Optional(Type.Integer()),
    vaultId: Type.Optional(Type.String()),
    friendlyName: Type.Optional(Type.String()),
    serverName: Type.Optional(Type.String()),
    parentName: Type.Optional(Type.String()),
    parentType: Type.Optional(Type.String()),
    protectionStatus: Type.Optional(Type.String()),
    protectionState: Type.Optional(
      KnownString('Invalid', 'IRPending', 'Protected', 'ProtectionError', 'ProtectionStopped', 'ProtectionPaused'),
    ),
    lastBackupStatus: Type.Optional(KnownString('Invalid', 'Healthy', 'Unhealthy', 'IRPending')),
    lastBackupTime: Type.Optional(DateTime()),
    lastBackupErrorDetail: Type.Optional(ErrorDetail),
    protectedItemDataSourceId: Type.Optional(Type.String()),
    protectedItemHealthStatus: Type.Optional(
      KnownString('Invalid', 'Healthy', 'Unhealthy', 'NotReachable', 'IRPending'),
    ),
    extendedInfo: Type.Optional(AzureVmWorkloadProtectedItemExtendedInfo),
    kpisHealths: Type.Optional(Type.Record(Type.String(), KPIResourceHealthDetails)),
    nodesList: Type.Optional(Type.Array(DistributedNodesInfo)),
  },
);

export const ProtectedItemResource = backupResource('ProtectedItemResource', AzureVmWorkloadSQLDatabaseProtectedItem);
