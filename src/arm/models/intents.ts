import { Type } from 'typebox';
import { backupResource, Discriminated, KnownString } from './common.ts';

/** `AzureWorkloadSQLAutoProtectionIntent`: auto-protection of a SQL instance's databases with a policy. */
export const AzureWorkloadSQLAutoProtectionIntent = Discriminated(
  'AzureWorkloadSQLAutoProtectionIntent',
  'protectionIntentItemType',
  'AzureWorkloadSQLAutoProtectionIntent',
  {
    backupManagementType: Type.Optional(KnownString('AzureWorkload')),
    sourceResourceId: Type.Optional(Type.String()),
    itemId: Type.Optional(Type.String()),
    policyId: Type.Optional(Type.String()),
    protectionState: Type.Optional(
      KnownString('Invalid', 'NotProtected', 'Protecting', 'Protected', 'ProtectionFailed'),
    ),
    workloadItemType: Type.Optional(KnownString('SQLInstance', 'SQLDataBase', 'SQLAvailabilityGroupContainer')),
  },
);

export const ProtectionIntentResource = backupResource(
  'ProtectionIntentResource',
  AzureWorkloadSQLAutoProtectionIntent,
);
