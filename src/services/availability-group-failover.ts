import type { FastifyInstance } from 'fastify';
import type { AgentCommand, ProtectionContainer } from '../generated/prisma/client.ts';
import { ArmError, errors } from '../domain/errors.ts';
import { nodesList, type DistributedNode } from '../domain/availability-groups.ts';
import type { CommandType, FailoverCommandPayload } from '../protocol/agent.ts';
import { groupOf, registeredNodes, resourceIds } from './availability-groups.ts';

export interface FailoverOutcome {
  availabilityGroup: string;
  primary: string;
  /** The group's nodes after the failover, as the vault now knows them (with each replica's role). */
  nodes: (DistributedNode & { role: 'Primary' | 'Secondary' })[];
}

/**
 * The emulator's failover control (docs/availability-groups.md): the group fails over to the replica on `primary`.
 * The failover happens on the SQL side — every node registered to this vault gets a `failover` command, which its
 * agent's simulated SQL Server applies — and the vault learns it as Azure does, from discovery: each node is then
 * asked for its inventory (as "Rediscover DBs" would), so the next backups go where the new roles say. Replicas whose
 * VMs are not registered here cannot be told (their agents answer another vault, or none).
 */
export async function failOver(
  app: FastifyInstance,
  container: ProtectionContainer,
  primary: string,
  waitSeconds: number,
): Promise<FailoverOutcome> {
  const group = groupOf(container);
  if (group === undefined)
    throw errors.invalidInput(`'${container.name}' is not an availability group's container (SQLAGWorkLoadContainer).`);
  const replica = group.replicas.find((r) => r.serverName.toLowerCase() === primary.toLowerCase());
  if (replica === undefined)
    throw errors.invalidInput(
      `Availability group '${group.name}' has no replica on '${primary}' (its replicas: ${group.replicas.map((r) => r.serverName).join(', ')}).`,
    );
  const nodes = [...(await registeredNodes(app, container.vaultId, group)).values()];
  if (nodes.length === 0)
    throw errors.invalidInput(
      `No node of availability group '${group.name}' is registered to this vault: no agent can be told of the failover.`,
    );
  const deadline = Date.now() + waitSeconds * 1000;
  const payload: FailoverCommandPayload = { availabilityGroup: group.name, primary: replica.serverName };
  // One step after the other: every node's SQL Server has failed over before any node reports its inventory.
  await onEveryNode(app, nodes, 'failover', payload, deadline);
  await onEveryNode(app, nodes, 'discover', {}, deadline);
  const after = groupOf(await app.db.protectionContainer.findUniqueOrThrow({ where: { id: container.id } }))!;
  const roles = new Map(after.replicas.map((r) => [r.serverName.toLowerCase(), r.role]));
  return {
    availabilityGroup: after.name,
    primary: after.replicas.find((r) => r.role === 'Primary')?.serverName ?? replica.serverName,
    nodes: nodesList(after, resourceIds(await registeredNodes(app, container.vaultId, after))).map((n) => ({
      ...n,
      role: roles.get(n.nodeName.toLowerCase()) ?? 'Secondary',
    })),
  };
}

/** Issues a command to every node's agent and waits for all of them; an agent's failure or silence fails the control. */
async function onEveryNode(
  app: FastifyInstance,
  nodes: readonly ProtectionContainer[],
  type: CommandType,
  payload: object,
  deadline: number,
): Promise<void> {
  const issued: AgentCommand[] = [];
  for (const node of nodes) issued.push(await app.agentCommands.issue(node.id, type, payload));
  for (;;) {
    const commands = await app.db.agentCommand.findMany({ where: { id: { in: issued.map((c) => c.id) } } });
    const failed = commands.find((c) => c.status === 'Failed');
    if (failed !== undefined) {
      const node = nodes.find((n) => n.id === failed.containerId)!;
      throw new ArmError(
        400,
        failed.errorCode ?? 'UserErrorInquiryFailed',
        `${node.friendlyName}: ${failed.errorMessage ?? `the ${type} command failed`}`,
      );
    }
    if (commands.every((c) => c.status === 'Succeeded')) return;
    if (Date.now() >= deadline) {
      const silent = nodes.filter((n) => commands.some((c) => c.containerId === n.id && c.status !== 'Succeeded'));
      throw new ArmError(
        504,
        'WorkloadExtensionNotReachable',
        `The agents of ${silent.map((n) => n.friendlyName).join(', ')} did not answer the ${type} command in time; it stays queued for them.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
