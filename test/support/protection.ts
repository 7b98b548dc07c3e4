import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';

/** Configure protection of one SQL database with a policy of its vault, as the portal's "Configure backup" does. */
export function protectDatabase(
  backup: RecoveryServicesBackupClient,
  vaultArmId: string,
  containerName: string,
  itemName: string,
  policyName: string,
) {
  const [, resourceGroup = '', vault = ''] = /\/resourceGroups\/([^/]+)\/.*\/vaults\/([^/]+)$/i.exec(vaultArmId) ?? [];
  return backup.protectedItems.createOrUpdate(vault, resourceGroup, 'Azure', containerName, itemName, {
    properties: {
      protectedItemType: 'AzureVmWorkloadSQLDatabase',
      policyId: `${vaultArmId}/backupPolicies/${policyName}`,
    } as never,
  });
}
