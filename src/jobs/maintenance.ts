import type { FastifyInstance } from 'fastify';
import type { Job } from 'bullmq';
import { autoProtect, purgeExpiredSoftDeletes } from '../services/protection.ts';
import { dispatchDue } from './scheduler.ts';
import { rpoWatch } from './rpo-watch.ts';
import { failAbandonedUploads } from '../services/backups.ts';
import { retentionSweep, sweepTimeAtOrBefore } from './retention.ts';
import { requeueLostOperations } from './operation-recovery.ts';
import { agentContainerIds, groupContainersOf } from '../services/availability-groups.ts';
import type { ProtectionContainer } from '../generated/prisma/client.ts';

/**
 * Background upkeep on the `maintenance` queue: the scheduler tick (dispatches due backups), the periodic discovery
 * cycle (Azure rediscovers databases every 8 hours), auto-protection of what discovery found, purging
 * soft-deleted items whose retention ended, the daily retention sweep (expired recovery points), and the recovery of
 * operations whose queued jobs Redis lost.
 */
export async function runMaintenance(app: FastifyInstance, job: Job): Promise<unknown> {
  switch (job.name) {
    case 'discovery-cycle':
      return discoveryCycle(app);
    case 'autoprotect':
      return autoProtect(app, (job.data as { intentId: string }).intentId);
    case 'schedule-tick': {
      // Dispatch first: what is due starts on time; the RPO watch then judges with those backups under way.
      await failAbandonedUploads(app, app.clock.now());
      const started = await dispatchDue(app, app.clock.now());
      await rpoWatch(app, app.clock.now());
      return started;
    }
    case 'purge-soft-deleted':
      return purgeExpiredSoftDeletes(app, app.clock.now());
    case 'operation-recovery':
      return requeueLostOperations(app);
    case 'retention-sweep':
      return retentionSweep(app, sweepTimeAtOrBefore(app.clock.now(), app.config.backup.retentionSweepHour));
    default:
      throw new Error(`unknown maintenance job '${job.name}'`);
  }
}

/**
 * Asks the agents of registered VMs with auto-protection for their inventory (unless a discover already waits), so
 * databases created since are found and protected. VMs without intents are rediscovered on demand (inquire).
 */
async function discoveryCycle(app: FastifyInstance): Promise<number> {
  const intents = await app.db.protectionIntent.findMany({ select: { containerId: true }, distinct: ['containerId'] });
  // An AG's intent is served by its nodes: their inventories report the group's databases.
  const agents = await Promise.all(intents.map((i) => agentContainerIds(app, i.containerId)));
  const containers = await app.db.protectionContainer.findMany({
    where: {
      registrationStatus: 'Registered',
      id: { in: [...new Set(agents.flat())] },
      commands: { none: { type: 'discover', status: { in: ['Pending', 'Delivered', 'Acknowledged'] } } },
    },
    select: { id: true },
  });
  for (const container of containers) await app.agentCommands.issue(container.id, 'discover');
  return containers.length;
}

/** After an inventory: auto-protect what the intents on the VM, or on the groups it hosts a replica of, cover. */
export async function afterInventory(app: FastifyInstance, container: ProtectionContainer): Promise<void> {
  const containerIds = [container.id, ...(await groupContainersOf(app, container)).map((g) => g.id)];
  const intents = await app.db.protectionIntent.findMany({
    where: { containerId: { in: containerIds } },
    select: { id: true },
  });
  for (const intent of intents) {
    await app.queues.maintenance.add(
      'autoprotect',
      { intentId: intent.id },
      { removeOnComplete: 1000, removeOnFail: 1000 },
    );
  }
}
