import { Type } from 'typebox';
import { backupResource, KnownString } from './common.ts';
import { SQLDataDirectory } from './recovery-points.ts';
import { DistributedNodesInfo } from './protected-items.ts';

const PreBackupValidation = Type.Object(
  {
    status: Type.Optional(KnownString('Invalid', 'Success', 'Failed')),
    code: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
  },
  { title: 'PreBackupValidation' },
);

const protectionState = KnownString('Invalid', 'NotProtected', 'Protecting', 'Protected', 'ProtectionFailed');

const protectableItem = {
  backupManagementType: Type.Optional(KnownString('AzureWorkload')),
  workloadType: Type.Optional(KnownString('SQLDataBase')),
  friendlyName: Type.Optional(Type.String()),
  protectionState: Type.Optional(protectionState),
  parentName: Type.Optional(Type.String()),
  parentUniqueName: Type.Optional(Type.String()),
  serverName: Type.Optional(Type.String()),
  isAutoProtectable: Type.Optional(Type.Boolean()),
  isAutoProtected: Type.Optional(Type.Boolean()),
  subinquireditemcount: Type.Optional(Type.Integer()),
  subprotectableitemcount: Type.Optional(Type.Integer()),
  prebackupvalidation: Type.Optional(PreBackupValidation),
  isProtectable: Type.Optional(Type.Boolean()),
};

/**
 * A protectable item of a SQL Server VM, discriminated by `protectableItemType`: an instance, an availability group
 * (with its nodes) or a database.
 */
export const WorkloadProtectableItem = Type.Union([
  Type.Object(
    {
      protectableItemType: Type.Literal('SQLAvailabilityGroupContainer'),
      ...protectableItem,
      nodesList: Type.Optional(Type.Array(DistributedNodesInfo)),
    },
    { title: 'AzureVmWorkloadSQLAvailabilityGroupProtectableItem' },
  ),
  Type.Object(
    { protectableItemType: Type.Literal('SQLInstance'), ...protectableItem },
    { title: 'AzureVmWorkloadSQLInstanceProtectableItem' },
  ),
  Type.Object(
    { protectableItemType: Type.Literal('SQLDataBase'), ...protectableItem },
    { title: 'AzureVmWorkloadSQLDatabaseProtectableItem' },
  ),
]);
export const WorkloadProtectableItemResource = backupResource(
  'WorkloadProtectableItemResource',
  WorkloadProtectableItem,
);

const workloadItem = {
  backupManagementType: Type.Optional(KnownString('AzureWorkload')),
  workloadType: Type.Optional(KnownString('SQLDataBase')),
  friendlyName: Type.Optional(Type.String()),
  protectionState: Type.Optional(protectionState),
  parentName: Type.Optional(Type.String()),
  serverName: Type.Optional(Type.String()),
  isAutoProtectable: Type.Optional(Type.Boolean()),
  subinquireditemcount: Type.Optional(Type.Integer()),
  subWorkloadItemCount: Type.Optional(Type.Integer()),
};

/** A workload item (what inquiry found), discriminated by `workloadItemType`: an instance or a database. */
export const WorkloadItem = Type.Union([
  Type.Object(
    {
      workloadItemType: Type.Literal('SQLInstance'),
      ...workloadItem,
      dataDirectoryPaths: Type.Optional(Type.Array(SQLDataDirectory)),
    },
    { title: 'AzureVmWorkloadSQLInstanceWorkloadItem' },
  ),
  Type.Object(
    { workloadItemType: Type.Literal('SQLDataBase'), ...workloadItem },
    { title: 'AzureVmWorkloadSQLDatabaseWorkloadItem' },
  ),
]);
export const WorkloadItemResource = backupResource('WorkloadItemResource', WorkloadItem);
