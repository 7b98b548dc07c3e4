/**
 * The `failover` command (the emulator's failover control): the VM's simulated SQL Server sees an availability group
 * fail over. The agent records it in its simulated state, where it holds over the spec's roles until the spec's own
 * roles change (src/agent/simulation/spec.ts `withFailovers`); the vault learns the new roles from the next inventory.
 */
import type { Command, CommandResult } from '../protocol/agent.ts';
import { primaryOf, type VmSpec } from './simulation/spec.ts';
import { recordFailover, type AgentStateStore } from './simulation/state.ts';

export interface FailoverContext {
  simulation: AgentStateStore;
  /** The VM as its spec file says it (without the failovers recorded so far). */
  specAsWritten(): Promise<VmSpec>;
  /** The VM as its SQL Server sees it now (with them). */
  spec(): Promise<VmSpec>;
  log(message: string, data: Record<string, unknown>): void;
}

const failed = (code: string, message: string): CommandResult => ({
  status: 'Failed',
  error: { code, message: message.slice(0, 4096) },
});

export async function runFailover(context: FailoverContext, command: Command): Promise<CommandResult> {
  const { availabilityGroup: group, primary } = command.payload as Record<string, unknown>;
  if (typeof group !== 'string' || typeof primary !== 'string')
    return failed('UserErrorInvalidCommand', 'A failover command needs availabilityGroup and primary.');
  const specPrimary = primaryOf(await context.specAsWritten(), group);
  const now = await context.spec();
  const known = now.availabilityGroups.find((g) => g.name.toLowerCase() === group.toLowerCase());
  if (specPrimary === undefined || !known?.replicas.some((r) => r.vmName.toLowerCase() === primary.toLowerCase())) {
    return failed(
      'UserErrorAvailabilityGroupNotFound',
      `This VM's SQL Server has no availability group '${group}' with a replica on '${primary}'.`,
    );
  }
  await context.simulation.update((draft) => recordFailover(draft, { group, primary, specPrimary }));
  context.log(`availability group ${group} failed over: ${primary} is its primary`, { group, primary });
  return { status: 'Succeeded', result: { availabilityGroup: group, primary } };
}
