import type { Policy, ProtectionContainer, ProtectionIntent, Vault } from '../../../generated/prisma/client.ts';
import { containerId, fabricId, policyId } from '../../../arm/paths.ts';

/** An auto-protection intent as `AzureWorkloadSQLAutoProtectionIntent`. */
export function renderIntent(vault: Vault, intent: ProtectionIntent, container: ProtectionContainer, policy: Policy) {
  return {
    id: `${fabricId(vault)}/backupProtectionIntent/${intent.name}`,
    name: intent.name,
    type: 'Microsoft.RecoveryServices/vaults/backupFabrics/backupProtectionIntent',
    properties: {
      protectionIntentItemType: 'AzureWorkloadSQLAutoProtectionIntent',
      backupManagementType: 'AzureWorkload',
      workloadItemType: 'SQLInstance',
      sourceResourceId: container.vmResourceId,
      itemId: `${containerId(vault, container)}/protectableItems/${intent.itemName}`,
      policyId: policyId(vault, policy.name),
      protectionState: 'Protected',
    },
  };
}
