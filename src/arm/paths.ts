/** Route patterns and resource ids of the management plane, in one place. */
export const SUBSCRIPTION = '/subscriptions/:subscriptionId';
export const RESOURCE_GROUP = `${SUBSCRIPTION}/resourceGroups/:resourceGroupName`;
export const PROVIDER = 'providers/Microsoft.RecoveryServices';
export const VAULT = `${RESOURCE_GROUP}/${PROVIDER}/vaults/:vaultName`;

export interface VaultRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

/** A vault's ARM id, with the names as they were created. */
export function vaultId(vault: VaultRef): string {
  return `/subscriptions/${vault.subscriptionId}/resourceGroups/${vault.resourceGroup}/${PROVIDER}/vaults/${vault.name}`;
}

export const fabricId = (vault: VaultRef) => `${vaultId(vault)}/backupFabrics/Azure`;

export const containerId = (vault: VaultRef, container: { name: string }) =>
  `${fabricId(vault)}/protectionContainers/${container.name}`;

/** The ids of many protected items of one vault (a list page): the vault's part is built once. */
export function protectedItemIdsOf(vault: VaultRef): (containerName: string, itemName: string) => string {
  const containers = `${fabricId(vault)}/protectionContainers/`;
  return (containerName, itemName) => `${containers}${containerName}/protectedItems/${itemName}`;
}

export const protectedItemId = (vault: VaultRef, container: { name: string }, item: { itemName: string }) =>
  protectedItemIdsOf(vault)(container.name, item.itemName);

export const policyId = (vault: VaultRef, name: string) => `${vaultId(vault)}/backupPolicies/${name}`;
