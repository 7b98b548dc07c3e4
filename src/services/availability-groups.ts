import type { FastifyInstance } from 'fastify';
import type { ProtectionContainer } from '../generated/prisma/client.ts';
import type { InventoryAvailabilityGroup } from '../protocol/agent.ts';
import {
  AG_CONTAINER_TYPE,
  backupNode,
  nodesList,
  protectionPrecondition,
  replicaNodes,
  type DistributedNode,
} from '../domain/availability-groups.ts';
import type { BackupType } from '../protocol/agent.ts';
import type { ChainState } from '../domain/backup-chain.ts';

/** The group an AG container stands for (as its nodes last reported it); undefined for a VM's container. */
export function groupOf(container: Pick<ProtectionContainer, 'containerType' | 'availabilityGroup'>) {
  return container.containerType === AG_CONTAINER_TYPE
    ? (container.availabilityGroup as unknown as InventoryAvailabilityGroup)
    : undefined;
}

/**
 * The vault's registered VMs among the group's replicas: VM name (lower-cased) → the VM's container. A node
 * registered to another vault is not one of them (each vault sees only its own nodes).
 */
export async function registeredNodes(
  app: FastifyInstance,
  vaultId: string,
  group: Pick<InventoryAvailabilityGroup, 'replicas'>,
): Promise<Map<string, ProtectionContainer>> {
  const containers = await app.db.protectionContainer.findMany({
    where: {
      vaultId,
      containerType: 'VMAppContainer',
      registrationStatus: 'Registered',
      OR: group.replicas.map((r) => ({ friendlyName: { equals: r.serverName, mode: 'insensitive' as const } })),
    },
  });
  return new Map(containers.map((c) => [c.friendlyName.toLowerCase(), c]));
}

/** VM name (lower-cased) → VM resource id, for the domain's node rules. */
export function resourceIds(nodes: ReadonlyMap<string, ProtectionContainer>): Map<string, string> {
  return new Map([...nodes].map(([name, c]) => [name, c.vmResourceId]));
}

/** An AG container's nodesList (empty for a VM's container). */
export async function containerNodes(app: FastifyInstance, container: ProtectionContainer): Promise<DistributedNode[]> {
  const group = groupOf(container);
  return group === undefined ? [] : nodesList(group, resourceIds(await registeredNodes(app, container.vaultId, group)));
}

/**
 * The agents a protected item's configuration goes to: its VM's, or for an AG database every registered node's
 * (Azure pushes an AG database's schedules to all registered nodes), the primary's first.
 */
export async function agentContainerIds(app: FastifyInstance, containerId: string): Promise<string[]> {
  const container = await app.db.protectionContainer.findUniqueOrThrow({ where: { id: containerId } });
  const group = groupOf(container);
  if (group === undefined) return [container.id];
  const nodes = await registeredNodes(app, container.vaultId, group);
  const primaryFirst = [...group.replicas].sort((a, b) => (a.role === 'Primary' ? -1 : b.role === 'Primary' ? 1 : 0));
  return primaryFirst.flatMap((r) => {
    const node = nodes.get(r.serverName.toLowerCase());
    return node === undefined ? [] : [node.id];
  });
}

/**
 * Sends a protected item's configuration (its policy, or its end) to the agents that back it up: its VM's, or every
 * registered node of its AG. The first (an AG's primary) carries `operationId`: an operation waits for that one.
 */
export async function configureAgents(
  app: FastifyInstance,
  containerId: string,
  payload: { itemName: string; protect: boolean; policy: object | null },
  operationId?: string,
): Promise<void> {
  const [first, ...others] = await agentContainerIds(app, containerId);
  if (first !== undefined) await app.agentCommands.issue(first, 'configure', payload, operationId);
  for (const other of others) await app.agentCommands.issue(other, 'configure', payload);
}

/** Why the databases of an AG container cannot be protected now (Azure's preference check); undefined for a VM's. */
export async function groupProtectionProblem(
  app: FastifyInstance,
  container: ProtectionContainer,
): Promise<{ code: string; message: string } | undefined> {
  const group = groupOf(container);
  if (group === undefined) return undefined;
  const nodes = replicaNodes(group, resourceIds(await registeredNodes(app, container.vaultId, group)));
  return protectionPrecondition(group.name, group.backupPreference, nodes);
}

/** The AG containers of the vault whose group has a replica on this VM (its inventory reports their databases too). */
export async function groupContainersOf(
  app: FastifyInstance,
  node: ProtectionContainer,
): Promise<ProtectionContainer[]> {
  const groups = await app.db.protectionContainer.findMany({
    where: { vaultId: node.vaultId, containerType: AG_CONTAINER_TYPE },
  });
  return groups.filter((g) =>
    groupOf(g)!.replicas.some((r) => r.serverName.toLowerCase() === node.friendlyName.toLowerCase()),
  );
}

/**
 * The groups with a replica on this VM whose databases are protected, with how many: Azure refuses to unregister such
 * a node, lest the backup preference can no longer be met without it; it must leave the group first.
 */
export async function protectedGroupsOf(
  app: FastifyInstance,
  node: ProtectionContainer,
): Promise<{ name: string; protectedItems: number }[]> {
  const groups = await groupContainersOf(app, node);
  if (groups.length === 0) return [];
  const counts = await app.db.protectedItem.groupBy({
    by: ['containerId'],
    where: { containerId: { in: groups.map((g) => g.id) } },
    _count: { _all: true },
  });
  // An AG container's friendly name is its group's name (inventory.ts).
  const names = new Map(groups.map((g) => [g.id, g.friendlyName]));
  return counts.map((c) => ({ name: names.get(c.containerId) ?? '', protectedItems: c._count._all }));
}

/** Where an AG database's backup goes: the chosen node's container, and the database's chain as the vault has it. */
export interface BackupRoute {
  containerId: string;
  container: { friendlyName: string; lastHeartbeatAt: Date | null; containerType: string };
  /**
   * The replicated database's backup chain (differential base, where the next log starts): an AG database's chain
   * belongs to the database, whichever replica took the previous backup, so the vault tells the chosen node.
   */
  chain: { lastFull?: { checkpointLsn: string; endTime: string }; logChain?: { lastLsn: string; endTime: string } };
}

/**
 * Routes the backups of AG databases to the node the backup preference selects (domain rule `backupNode`); other
 * backups are not in the answer. A preference no registered node can meet fails the backup with Azure's code.
 */
export async function routeGroupBackups(
  app: FastifyInstance,
  starts: readonly {
    item: { id: string; vaultId: string; containerId: string; container: { containerType: string } };
    type: BackupType;
  }[],
  /** The item's committed chain (backups.ts's chainStateFor). */
  chainStateFor: (app: FastifyInstance, itemId: string) => Promise<ChainState>,
): Promise<Map<string, BackupRoute | { failure: { code: string; message: string } }>> {
  const routes = new Map<string, BackupRoute | { failure: { code: string; message: string } }>();
  const inGroups = starts.filter((s) => s.item.container.containerType === AG_CONTAINER_TYPE);
  if (inGroups.length === 0) return routes;
  const groups = await app.db.protectionContainer.findMany({
    where: { id: { in: [...new Set(inGroups.map((s) => s.item.containerId))] } },
  });
  if (groups.length === 0) return routes;
  const byId = new Map(groups.map((g) => [g.id, g]));
  // A group's nodes are read once however many of its databases start together (a tick starts them all at once).
  const nodesOf = new Map<string, Promise<Map<string, ProtectionContainer>>>();
  for (const { item, type } of starts) {
    const container = byId.get(item.containerId);
    const group = container && groupOf(container);
    if (container === undefined || group === undefined) continue;
    const reading = nodesOf.get(container.id) ?? registeredNodes(app, item.vaultId, group);
    nodesOf.set(container.id, reading);
    const nodes = await reading;
    const chosen = backupNode(group.name, group.backupPreference, type, replicaNodes(group, resourceIds(nodes)));
    if ('error' in chosen) {
      routes.set(item.id, { failure: chosen.error });
      continue;
    }
    const node = nodes.get(chosen.serverName.toLowerCase())!;
    const { lastFull, lastLog } = await chainStateFor(app, item.id);
    const start = lastLog ?? lastFull;
    routes.set(item.id, {
      containerId: node.id,
      container: {
        friendlyName: node.friendlyName,
        lastHeartbeatAt: node.lastHeartbeatAt,
        containerType: node.containerType,
      },
      chain: {
        ...(lastFull === undefined
          ? {}
          : { lastFull: { checkpointLsn: String(lastFull.checkpointLsn), endTime: lastFull.endTime.toISOString() } }),
        ...(start === undefined
          ? {}
          : { logChain: { lastLsn: String(start.lastLsn), endTime: start.endTime.toISOString() } }),
      },
    });
  }
  return routes;
}
