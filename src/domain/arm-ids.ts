/**
 * ARM ids of the vault's resources, read back into their path parts — for callers that name a resource by its id
 * (the emulator's fault controls) rather than by a path. Case-insensitive like ARM; `;` may arrive as `%3B`.
 */
export interface ItemIdParts {
  subscriptionId: string;
  resourceGroupName: string;
  vaultName: string;
  fabricName: string;
  containerName: string;
  protectedItemName?: string;
}

const ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.RecoveryServices\/vaults\/([^/]+)\/backupFabrics\/([^/]+)\/protectionContainers\/([^/]+)(?:\/protectedItems\/([^/]+))?\/?$/i;

/** A protection container's id (`…/protectionContainers/{c}`) or a protected item's (`…/protectedItems/{i}`). */
export function parseContainerOrItemId(id: string): ItemIdParts | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(id);
  } catch {
    return undefined;
  }
  const m = ID.exec(decoded);
  if (m === null) return undefined;
  const [, subscriptionId, resourceGroupName, vaultName, fabricName, containerName, protectedItemName] =
    m as unknown as string[];
  return {
    subscriptionId: subscriptionId!,
    resourceGroupName: resourceGroupName!,
    vaultName: vaultName!,
    fabricName: fabricName!,
    containerName: containerName!,
    ...(protectedItemName === undefined ? {} : { protectedItemName }),
  };
}

/** Ids the service generates (jobs, alerts, operations); anything else names nothing. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
