import type { Policy, Vault } from '../../../generated/prisma/client.ts';
import type { SqlPolicy } from '../../../domain/policy/types.ts';
import { toWireFormat } from '../../../domain/policy/validate.ts';
import { policyId } from '../../../arm/paths.ts';

/**
 * A policy with its protected-item count: a SQL one as `AzureVmWorkloadProtectionPolicy`, in the wire form it was
 * given; a default Azure VM one (`AzureIaaSVMProtectionPolicy`) as it was made.
 */
export function renderPolicy(vault: Vault, policy: Policy, protectedItemsCount: number) {
  const properties =
    policy.backupManagementType === 'AzureWorkload'
      ? toWireFormat(policy.properties as unknown as SqlPolicy)
      : (policy.properties as object);
  return {
    id: policyId(vault, policy.name),
    name: policy.name,
    type: 'Microsoft.RecoveryServices/vaults/backupPolicies',
    properties: { ...properties, protectedItemsCount },
  };
}

/** The workload a policy's backup management type protects (what `$filter=workloadType eq …` names). */
export const WORKLOAD_OF_MANAGEMENT_TYPE: Record<string, string> = { AzureWorkload: 'SQLDataBase', AzureIaasVM: 'VM' };
