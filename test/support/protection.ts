import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import { until } from './vm.ts';

/** The vault's resource group and name, from its ARM id. */
function vaultOf(vaultArmId: string) {
  const [, resourceGroup = '', vault = ''] = /\/resourceGroups\/([^/]+)\/.*\/vaults\/([^/]+)$/i.exec(vaultArmId) ?? [];
  return { resourceGroup, vault };
}

/** Configure protection of one SQL database with a policy of its vault, as the portal's "Configure backup" does. */
export function protectDatabase(
  backup: RecoveryServicesBackupClient,
  vaultArmId: string,
  containerName: string,
  itemName: string,
  policyName: string,
) {
  const { resourceGroup, vault } = vaultOf(vaultArmId);
  return backup.protectedItems.createOrUpdate(vault, resourceGroup, 'Azure', containerName, itemName, {
    properties: {
      protectedItemType: 'AzureVmWorkloadSQLDatabase',
      policyId: `${vaultArmId}/backupPolicies/${policyName}`,
    } as never,
  });
}

/** Backup now (backups.trigger) of a protected item, as the portal does; resolves with its job once it has ended. */
export async function backupNow(
  backup: RecoveryServicesBackupClient,
  vaultArmId: string,
  containerName: string,
  itemName: string,
  backupType: string,
) {
  const { resourceGroup, vault } = vaultOf(vaultArmId);
  let statusUrl = '';
  await backup.backups.trigger(
    vault,
    resourceGroup,
    'Azure',
    containerName,
    itemName,
    { properties: { objectType: 'AzureWorkloadBackupRequest', backupType } as never },
    { onResponse: (raw) => void (statusUrl = raw.headers.get('azure-asyncoperation') ?? '') },
  );
  const operationId = new URL(statusUrl).pathname.split('/').pop() ?? '';
  const jobId = await until('the backup job', async () => {
    const status = await backup.protectedItemOperationStatuses.get(
      vault,
      resourceGroup,
      'Azure',
      containerName,
      itemName,
      operationId,
    );
    return status.status === 'Succeeded' ? (status.properties as { jobId?: string }).jobId : undefined;
  });
  return until('the job to end', async () => {
    const job = await backup.jobDetails.get(vault, resourceGroup, jobId!);
    return job.properties?.status === 'InProgress' ? undefined : job;
  });
}

/** The Azure error code a failed job reports first (its errorDetails' errorTitle). */
export const errorTitle = (job: { properties?: unknown }) =>
  (job.properties as { errorDetails?: { errorTitle?: string }[] }).errorDetails?.[0]?.errorTitle;
