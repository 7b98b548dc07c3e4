import type { Policy, ProtectionContainer, ProtectionIntent, Vault } from '../../../generated/prisma/client.ts';
import { containerId, fabricId, policyId } from '../../../arm/paths.ts';

/** An auto-protection intent (on a SQL instance or an availability group) as `AzureWorkloadSQLAutoProtectionIntent`. */
export function renderIntent(vault: Vault, intent: ProtectionIntent, container: ProtectionContainer, policy: Policy) {
  return {
    id: `${fabricId(vault)}/backupProtectionIntent/${intent.name}`,
    name: intent.name,
    type: 'Microsoft.RecoveryServices/vaults/backupFabrics/backupProtectionIntent',
    properties: {
      protectionIntentItemType: 'AzureWorkloadSQLAutoProtectionIntent',
      backupManagementType: 'AzureWorkload',
      // The protectable item's type (an AG's: CHOSEN, Azure's SDK names no workload item type for it).
      workloadItemType: intent.itemName.slice(0, intent.itemName.indexOf(';')),
      // An AG has no VM of its own.
      ...(container.vmResourceId === '' ? {} : { sourceResourceId: container.vmResourceId }),
      itemId: `${containerId(vault, container)}/protectableItems/${intent.itemName}`,
      policyId: policyId(vault, policy.name),
      protectionState: 'Protected',
    },
  };
}
