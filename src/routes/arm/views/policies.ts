import type { Policy, Vault } from '../../../generated/prisma/client.ts';
import type { SqlPolicy } from '../../../domain/policy/types.ts';
import { toWireFormat } from '../../../domain/policy/validate.ts';
import { policyId } from '../../../arm/paths.ts';

/** A policy as `AzureVmWorkloadProtectionPolicy`, in the wire form it was given, with its protected-item count. */
export function renderPolicy(vault: Vault, policy: Policy, protectedItemsCount: number) {
  return {
    id: policyId(vault, policy.name),
    name: policy.name,
    type: 'Microsoft.RecoveryServices/vaults/backupPolicies',
    properties: { ...toWireFormat(policy.properties as unknown as SqlPolicy), protectedItemsCount },
  };
}
