/**
 * Always On availability groups as Azure Backup treats them (pure rules; docs/availability-groups.md cites the
 * sources):
 *
 * - An AG is a container of its own, `SQLAGWorkLoadContainer;<group id>`, whose databases are protectable items
 *   `SQLDataBase;<AG name>;<db>` — each database once, however many replicas report it.
 * - Full and Differential backups run on the primary replica whatever the backup preference; Log and Copy-only Full
 *   follow the AG's automated backup preference. Replica backup priorities are ignored.
 * - Configuring protection needs the primary registered to the vault, and with "Secondary only" at least one
 *   secondary too (`FabricSvcBackupPreferenceCheckFailedUserError` otherwise).
 * - Basic availability groups are not supported.
 */
import type { BackupType, InventoryAvailabilityGroup } from '../protocol/agent.ts';

export type BackupPreference = InventoryAvailabilityGroup['backupPreference'];
export type ReplicaRole = InventoryAvailabilityGroup['replicas'][number]['role'];

/** A replica as the vault sees it: where it runs, its role, and whether its VM is registered to this vault. */
export interface ReplicaNode {
  serverName: string;
  role: ReplicaRole;
  /** The node's VM is registered to this vault (its agent can be asked to back up). */
  registered: boolean;
}

export const AG_CODES = {
  /** Azure's (troubleshooting page: "Backup preference ... cannot be met as some nodes ... are not registered"). */
  preferenceNotMet: 'FabricSvcBackupPreferenceCheckFailedUserError',
  /** CHOSEN: Azure documents that Basic AGs are unsupported, not the code it reports. */
  basicNotSupported: 'UserErrorSQLBasicAvailabilityGroupNotSupported',
  /** CHOSEN: a node of the group is not registered to this vault (shown in nodesList). */
  nodeNotRegistered: 'UserErrorAGNodeNotRegistered',
} as const;

/** The container type of an availability group (a VM's is `VMAppContainer`); its containers' names start with it. */
export const AG_CONTAINER_TYPE = 'SQLAGWorkLoadContainer';
export const AG_CONTAINER_PREFIX = `${AG_CONTAINER_TYPE};`;

/** The AG's container name (Azure: `SQLAGWorkLoadContainer;<guid>`; CHOSEN: the guid is the AG's group_id). */
export function agContainerName(groupId: string): string {
  return `${AG_CONTAINER_PREFIX}${groupId.toLowerCase()}`;
}

/** The AG's own protectable item (type `SQLAvailabilityGroupContainer`; CHOSEN name: `SQLAvailabilityGroupContainer;<AG>`). */
export function agItemName(groupName: string): string {
  return `SQLAvailabilityGroupContainer;${groupName}`;
}

export function isAgContainerName(name: string): boolean {
  return name.toLowerCase().startsWith(AG_CONTAINER_PREFIX.toLowerCase());
}

/** Why the AG's databases cannot be protected, or undefined. */
export function groupProblem(
  group: Pick<InventoryAvailabilityGroup, 'name' | 'isBasic'>,
): { code: string; message: string } | undefined {
  if (!group.isBasic) return undefined;
  return {
    code: AG_CODES.basicNotSupported,
    message: `'${group.name}' is a Basic availability group; Azure Backup does not support backing up Basic availability group databases.`,
  };
}

const PREFERENCE_TEXT: Record<BackupPreference, string> = {
  Primary: 'Primary',
  SecondaryOnly: 'Secondary only',
  Secondary: 'Prefer secondary',
  None: 'Any replica',
};

function preferenceNotMet(
  group: string,
  preference: BackupPreference,
  needs: string,
): { code: string; message: string } {
  return {
    code: AG_CODES.preferenceNotMet,
    message:
      `Backup preference '${PREFERENCE_TEXT[preference]}' of SQL Always On availability group '${group}' cannot be met ` +
      `as some nodes of the availability group are not registered: ${needs} must be registered to this vault and healthy.`,
  };
}

/** Whether protection can be configured: the primary registered, and a secondary too under "Secondary only". */
export function protectionPrecondition(
  group: string,
  preference: BackupPreference,
  replicas: readonly ReplicaNode[],
): { code: string; message: string } | undefined {
  if (!replicas.some((r) => r.role === 'Primary' && r.registered))
    return preferenceNotMet(group, preference, 'the primary replica');
  if (preference === 'SecondaryOnly' && !replicas.some((r) => r.role === 'Secondary' && r.registered))
    return preferenceNotMet(group, preference, 'at least one secondary replica');
  return undefined;
}

/**
 * The node that takes a backup of `type` (Azure's table per backup preference); the others skip it. Among several
 * eligible secondaries Azure takes "any one" and ignores priorities: CHOSEN, the first registered one in the group's
 * replica order. "Any replica" (None): CHOSEN, the primary when registered, else the first registered secondary.
 */
export function backupNode(
  group: string,
  preference: BackupPreference,
  type: BackupType,
  replicas: readonly ReplicaNode[],
): { serverName: string } | { error: { code: string; message: string } } {
  const primary = replicas.find((r) => r.role === 'Primary' && r.registered);
  const secondary = replicas.find((r) => r.role === 'Secondary' && r.registered);
  const pick = (node: ReplicaNode | undefined, needs: string) =>
    node === undefined ? { error: preferenceNotMet(group, preference, needs) } : { serverName: node.serverName };
  if (type === 'Full' || type === 'Differential') return pick(primary, 'the primary replica');
  switch (preference) {
    case 'Primary':
      return pick(primary, 'the primary replica');
    case 'SecondaryOnly':
      return pick(secondary, 'a secondary replica');
    case 'Secondary':
      return pick(secondary ?? primary, 'a replica');
    case 'None':
      return pick(primary ?? secondary, 'a replica');
  }
}

/** A node as `nodesList` shows it (`DistributedNodesInfo`). */
export type DistributedNode = {
  nodeName: string;
  status: 'Succeeded' | 'Failed';
  sourceResourceId?: string;
  errorDetail?: { code: string; message: string; recommendations: string[] };
};

/**
 * The group's nodes for `nodesList`: Succeeded when the node's VM is registered to this vault, else Failed.
 * CHOSEN (Azure names no code for an unregistered AG node): `UserErrorAGNodeNotRegistered`.
 */
export function nodesList(
  group: Pick<InventoryAvailabilityGroup, 'name' | 'replicas'>,
  registered: ReadonlyMap<string, string>,
): DistributedNode[] {
  return group.replicas.map((r) => {
    const resourceId = registered.get(r.serverName.toLowerCase());
    return resourceId !== undefined
      ? { nodeName: r.serverName, status: 'Succeeded', sourceResourceId: resourceId }
      : {
          nodeName: r.serverName,
          status: 'Failed',
          errorDetail: {
            code: AG_CODES.nodeNotRegistered,
            message: `Node '${r.serverName}' of availability group '${group.name}' is not registered to this vault.`,
            recommendations: [
              `Register '${r.serverName}' to this vault (it must be in the vault's region and subscription).`,
            ],
          },
        };
  });
}

/** The replicas with whether each node is registered to this vault (`registered`: VM name, lower-cased → VM id). */
export function replicaNodes(
  group: Pick<InventoryAvailabilityGroup, 'replicas'>,
  registered: ReadonlyMap<string, string>,
): ReplicaNode[] {
  return group.replicas.map((r) => ({
    serverName: r.serverName,
    role: r.role,
    registered: registered.has(r.serverName.toLowerCase()),
  }));
}
