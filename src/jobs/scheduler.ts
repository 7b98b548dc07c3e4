import type { FastifyInstance } from 'fastify';
import { Prisma } from '../generated/prisma/client.ts';
import { effectiveBackupType } from '../domain/backup-chain.ts';
import { nextDifferentialAfter, nextFullAfter, nextLogAfter } from '../domain/policy/schedule.ts';
import { policyOf } from '../services/protection.ts';
import { startBackupsIn, type BackupStart } from '../services/backups.ts';
import { announceJobs } from './job-records.ts';

type Scheduled = 'Full' | 'Differential' | 'Log';

/** What dispatch reads of a due item and its VM. */
interface DueItem {
  id: string;
  vaultId: string;
  containerId: string;
  itemName: string;
  friendlyName: string;
  /** Never null: only items with a policy are dispatchable. */
  policyId: string;
  chainBroken: boolean;
  nextFullAt: Date | null;
  nextDiffAt: Date | null;
  nextLogAt: Date | null;
  containerFriendlyName: string;
  lastHeartbeatAt: Date | null;
  containerType: string;
  /** Backups its VM was running when it was claimed. */
  openOnContainer: number;
  /** When the item's last Full ended (null: it has none). */
  lastFullEnd: Date | null;
}

/** Which of an item's schedules are due at `now`; a due Full wins over a Differential, either over a Log. */
function dueType(item: DueItem, now: Date): Scheduled | undefined {
  if (item.nextFullAt !== null && item.nextFullAt <= now) return 'Full';
  if (item.nextDiffAt !== null && item.nextDiffAt <= now) return 'Differential';
  if (item.nextLogAt !== null && item.nextLogAt <= now) return 'Log';
  return undefined;
}

/**
 * What a tick may start: items with a schedule (protected, or waiting for their first backup, not soft-deleted) on a
 * VM with room — a VM already running its limit of backups (Azure's DefaultBackupTasksThreshold, 20) is passed over,
 * its due items waiting for a later tick, so that they neither hold a tick (claimed again and again) nor keep other
 * VMs' backups from starting. The claim and nextDueTime read an item `i` joined to `open`, its VM's running backups.
 */
const openPerVm = Prisma.sql`SELECT "containerId", count(*)::int AS "open" FROM "BackupUpload" WHERE "state" = 'Open' GROUP BY "containerId"`;
const dispatchable = (app: FastifyInstance) => Prisma.sql`
  i."deferredDeleteAt" IS NULL AND i."protectionState" IN ('IRPending', 'Protected', 'ProtectionError') AND i."policyId" IS NOT NULL
  AND COALESCE(o."open", 0) < ${app.config.backup.maxConcurrentPerVm}`;
/** When an item is next due: its earliest schedule. */
const nextTime = Prisma.sql`LEAST(COALESCE(i."nextFullAt", 'infinity'), COALESCE(i."nextDiffAt", 'infinity'), COALESCE(i."nextLogAt", 'infinity'))`;

/**
 * A batch of 5,000 due items takes about a second on a quiet host and more than Prisma's default 5 s on a busy one
 * (bench/RESULTS.md): past the timeout the batch would roll back, and every later tick fail the same way.
 */
const SCHEDULER_TRANSACTION = { maxWait: 10_000, timeout: 60_000 };

/**
 * Dispatches every scheduled backup due at `now`, each exactly once however many workers tick, and never half: a
 * batch of due items is claimed with FOR UPDATE SKIP LOCKED, and in that same transaction their next times move past
 * `now` and their backups start (jobs, uploads, agent commands; startBackupsIn) — a worker killed anywhere in between
 * leaves the schedule as it was, for the next tick. Set-based, so a tick of 20,000 due items is a few statements per
 * batch. A Log or Differential heals into a Full when Azure would (no Full yet, broken chain, last Full older than 15
 * days); a VM already running its limit of backups keeps its due items for a later tick. Returns how many started.
 * `waitForOthers`: wait for items another process is claiming at this moment instead of skipping them, so that on
 * return everything due at `now` has been started by someone (the emulator clock then waits for those backups too).
 */
export async function dispatchDue(
  app: FastifyInstance,
  now: Date,
  options: { batch?: number; waitForOthers?: boolean } = {},
): Promise<number> {
  const batch = options.batch ?? 5000;
  const lock = options.waitForOthers === true ? Prisma.sql`FOR UPDATE OF i` : Prisma.sql`FOR UPDATE OF i SKIP LOCKED`;
  let started = 0;
  for (;;) {
    const claimed = await app.db.$transaction(async (tx) => {
      // Raw, with the container's columns and the end of the item's last Full (whether a Log or Differential heals
      // into a Full): a batch through Prisma's relation loading costs more CPU than all the rest of the dispatch.
      const max = app.config.backup.maxConcurrentPerVm;
      const items = await tx.$queryRaw<DueItem[]>`
        WITH open AS (${openPerVm}), claimed AS (
          SELECT i."id", i."vaultId", i."containerId", i."itemName", i."friendlyName", i."policyId", i."chainBroken",
                 i."nextFullAt", i."nextDiffAt", i."nextLogAt", c."friendlyName" AS "containerFriendlyName", c."lastHeartbeatAt",
                 c."containerType", COALESCE(o."open", 0) AS "openOnContainer"
          FROM "ProtectedItem" i JOIN "ProtectionContainer" c ON c."id" = i."containerId"
          LEFT JOIN open o ON o."containerId" = i."containerId"
          WHERE ${dispatchable(app)} AND (i."nextFullAt" <= ${now} OR i."nextDiffAt" <= ${now} OR i."nextLogAt" <= ${now})
          ORDER BY ${nextTime}
          LIMIT ${batch} ${lock}
        )
        SELECT claimed.*, f."endTime" AS "lastFullEnd" FROM claimed
        LEFT JOIN LATERAL (
          SELECT "endTime" FROM "RecoveryPoint" WHERE "protectedItemId" = claimed."id" AND "type" = 'Full' ORDER BY "endTime" DESC LIMIT 1
        ) f ON true`;
      if (items.length === 0) return { count: 0, starts: 0, jobs: [], containerIds: new Set<string>() };
      // An item's next times depend only on its policy and `now`: computed once per policy, not once per item.
      const policies = new Map(
        (
          await tx.policy.findMany({
            where: { id: { in: [...new Set(items.map((i) => i.policyId))] } },
          })
        ).map((row) => {
          const policy = policyOf(row);
          const next = {
            full: nextFullAfter(policy, now),
            diff: nextDifferentialAfter(policy, now) ?? null,
            log: nextLogAfter(policy, now) ?? null,
          };
          return [row.id, { policy, next }];
        }),
      );
      // A VM's room: its limit less what it was running at the claim, less what this batch starts on it.
      const slots = new Map<string, number>();
      const starts: BackupStart[] = [];
      const moved: string[] = [];
      for (const item of items) {
        const type = dueType(item, now);
        const scheduled = policies.get(item.policyId);
        if (type === undefined || scheduled === undefined) continue;
        const { policy } = scheduled;
        const free = slots.get(item.containerId) ?? max - item.openOnContainer;
        if (free <= 0) continue;
        slots.set(item.containerId, free - 1);
        moved.push(item.id);
        const effective = effectiveBackupType(
          type,
          item.lastFullEnd === null ? {} : { lastFull: { endTime: item.lastFullEnd } },
          now,
          { chainBroken: item.chainBroken },
        );
        const backupItem = {
          ...item,
          container: {
            friendlyName: item.containerFriendlyName,
            lastHeartbeatAt: item.lastHeartbeatAt,
            containerType: item.containerType,
          },
        };
        starts.push({ item: backupItem, type: effective.type, onDemand: false, compress: policy.compression, at: now });
      }
      // Every schedule that is due moves past now (a missed run is not run twice), to its policy's next time.
      const nexts = [...policies].map(([policyId, { next }]) => ({ policyId, ...next }));
      await tx.$executeRaw`
        UPDATE "ProtectedItem" AS i SET
          "nextFullAt" = CASE WHEN i."nextFullAt" <= ${now} THEN p."full" ELSE i."nextFullAt" END,
          "nextDiffAt" = CASE WHEN i."nextDiffAt" <= ${now} THEN p."diff" ELSE i."nextDiffAt" END,
          "nextLogAt" = CASE WHEN i."nextLogAt" <= ${now} THEN p."log" ELSE i."nextLogAt" END
        FROM unnest(${nexts.map((n) => n.policyId)}::text[], ${nexts.map((n) => n.full)}::timestamptz[], ${nexts.map((n) => n.diff)}::timestamptz[],
                    ${nexts.map((n) => n.log)}::timestamptz[]) AS p("policyId", "full", "diff", "log")
        WHERE i."id" = ANY(${moved}::text[]) AND i."policyId" = p."policyId"`;
      const { jobs, containerIds } = await startBackupsIn(app, tx, starts);
      return { count: items.length, starts: starts.length, jobs, containerIds };
    }, SCHEDULER_TRANSACTION);
    await announceJobs(app, claimed.jobs);
    await app.agentCommands.wake(claimed.containerIds);
    started += claimed.starts;
    // A full batch may hide more due items; fewer means all were seen (those over a VM's limit wait for the next tick).
    if (claimed.count < batch) return started;
  }
}

/**
 * The earliest scheduled backup a tick could start (what advancing the emulator clock steps to): one on a VM at its
 * limit is not, or the clock would step to it again and again.
 */
export async function nextDueTime(app: FastifyInstance): Promise<Date | undefined> {
  const [row] = await app.db.$queryRaw<{ next: Date | null }[]>`
    WITH open AS (${openPerVm})
    SELECT MIN(${nextTime}) AS "next"
    FROM "ProtectedItem" i LEFT JOIN open o ON o."containerId" = i."containerId"
    WHERE ${dispatchable(app)}`;
  const next = row?.next;
  return next instanceof Date && Number.isFinite(next.getTime()) ? next : undefined;
}
