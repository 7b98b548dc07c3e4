import type { FastifyInstance } from 'fastify';
import type { ProtectedItem } from '../generated/prisma/client.ts';
import { effectiveBackupType } from '../domain/backup-chain.ts';
import { nextDifferentialAfter, nextFullAfter, nextLogAfter } from '../domain/policy/schedule.ts';
import { policyOf } from '../services/protection.ts';
import { chainStateFor, startBackup } from '../services/backups.ts';

type Scheduled = 'Full' | 'Differential' | 'Log';

/** Which of an item's schedules are due at `now`; a due Full wins over a Differential, either over a Log. */
function dueType(item: ProtectedItem, now: Date): Scheduled | undefined {
  if (item.nextFullAt !== null && item.nextFullAt <= now) return 'Full';
  if (item.nextDiffAt !== null && item.nextDiffAt <= now) return 'Differential';
  if (item.nextLogAt !== null && item.nextLogAt <= now) return 'Log';
  return undefined;
}

/**
 * Dispatches every scheduled backup due at `now`, each exactly once however many workers tick: due items are
 * claimed with FOR UPDATE SKIP LOCKED and their next times moved past `now` in the same transaction. A Log or
 * Differential heals into a Full when Azure would (no Full yet, broken chain, last Full older than 15 days).
 * Returns how many backups were started.
 */
export async function dispatchDue(app: FastifyInstance, now: Date, batch = 500): Promise<number> {
  let started = 0;
  for (;;) {
    const claimed = await app.db.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string }[]>`
        SELECT "id" FROM "ProtectedItem"
        WHERE "deferredDeleteAt" IS NULL AND "protectionState" IN ('IRPending', 'Protected', 'ProtectionError')
          AND ("nextFullAt" <= ${now} OR "nextDiffAt" <= ${now} OR "nextLogAt" <= ${now})
        ORDER BY LEAST(COALESCE("nextFullAt", 'infinity'), COALESCE("nextDiffAt", 'infinity'), COALESCE("nextLogAt", 'infinity'))
        LIMIT ${batch} FOR UPDATE SKIP LOCKED`;
      const items = await tx.protectedItem.findMany({ where: { id: { in: rows.map((r) => r.id) } }, include: { policy: true, container: true } });
      // Azure runs at most 20 backups at once per VM (DefaultBackupTasksThreshold); the rest wait for a later tick.
      const running = await tx.backupUpload.groupBy({ by: ['containerId'], where: { state: 'Open', containerId: { in: items.map((i) => i.containerId) } }, _count: { _all: true } });
      const slots = new Map(running.map((r) => [r.containerId, app.config.backup.maxConcurrentPerVm - r._count._all]));
      const due: { item: (typeof items)[number]; type: Scheduled }[] = [];
      for (const item of items) {
        const type = dueType(item, now);
        if (type === undefined || item.policy === null) continue;
        const free = slots.get(item.containerId) ?? app.config.backup.maxConcurrentPerVm;
        if (free <= 0) continue;
        slots.set(item.containerId, free - 1);
        const policy = policyOf(item.policy);
        // Move every schedule that is due past now: a missed run is not run twice.
        await tx.protectedItem.update({
          where: { id: item.id },
          data: {
            ...(item.nextFullAt !== null && item.nextFullAt <= now ? { nextFullAt: nextFullAfter(policy, now) } : {}),
            ...(item.nextDiffAt !== null && item.nextDiffAt <= now ? { nextDiffAt: nextDifferentialAfter(policy, now) ?? null } : {}),
            ...(item.nextLogAt !== null && item.nextLogAt <= now ? { nextLogAt: nextLogAfter(policy, now) ?? null } : {}),
          },
        });
        due.push({ item, type });
      }
      return due;
    });
    for (const { item, type } of claimed) {
      const effective = effectiveBackupType(type, await chainStateFor(app, item.id), now, { chainBroken: item.chainBroken });
      await startBackup(app, { item, type: effective.type, onDemand: false, compress: item.policy === null ? false : policyOf(item.policy).compression, scheduledAt: now });
      started += 1;
    }
    // A full batch may hide more due items; fewer means all were seen (those over a VM's limit wait for the next tick).
    if (claimed.length === 0 || claimed.length < batch) return started;
  }
}

/** The earliest scheduled backup of any item, if any (what advancing the emulator clock steps to). */
export async function nextDueTime(app: FastifyInstance): Promise<Date | undefined> {
  const [row] = await app.db.$queryRaw<{ next: Date | null }[]>`
    SELECT MIN(LEAST(COALESCE("nextFullAt", 'infinity'), COALESCE("nextDiffAt", 'infinity'), COALESCE("nextLogAt", 'infinity'))) AS "next"
    FROM "ProtectedItem"
    WHERE "deferredDeleteAt" IS NULL AND "protectionState" IN ('IRPending', 'Protected', 'ProtectionError')`;
  const next = row?.next;
  return next instanceof Date && Number.isFinite(next.getTime()) ? next : undefined;
}
