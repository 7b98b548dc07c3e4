import type { FastifyInstance } from 'fastify';
import { chainStateOf, type BackupType } from '../domain/backup-chain.ts';
import { expiredPoints, YOUNGEST_EXPIRING_DAYS, type RetainedPoint } from '../domain/retention.ts';
import { policyOf } from '../services/protection.ts';
import { deleteBackupBlobs, pruneUploadHistory } from '../services/backups.ts';

const DAY_MS = 86_400_000;
/** Items read per query: 20,000 protected items never load at once (their points are read one item at a time). */
const ITEM_BATCH = 200;
/** Ids per DELETE statement, well below PostgreSQL's 65,535 bind parameters. */
const DELETE_BATCH = 1000;

/**
 * Sweep times are the daily instants at RV_RETENTION_SWEEP_HOUR:00 UTC. The latest one at or before `at`: what the
 * BullMQ job sweeps as of, so a sweep is the same whether the cron fires on time, late, or while the emulator clock
 * is somewhere else — and no "last sweep" needs storing, since sweeping an instant twice changes nothing.
 */
export function sweepTimeAtOrBefore(at: Date, hour: number): Date {
  const midnight = Math.floor(at.getTime() / DAY_MS) * DAY_MS;
  const today = midnight + hour * 3_600_000;
  return new Date(today <= at.getTime() ? today : today - DAY_MS);
}

/** The first sweep instant strictly after `at` (where the emulator clock must stop next). */
export function sweepTimeAfter(at: Date, hour: number): Date {
  return new Date(sweepTimeAtOrBefore(at, hour).getTime() + DAY_MS);
}

export interface SweepCounts {
  /** Items whose points were examined (those with a point old enough to expire). */
  items: number;
  /** Recovery points deleted (rows and blobs). */
  expired: number;
  /** Expired points kept until a later sweep because a backup of their item was being uploaded. */
  deferred: number;
  /** Blobs that could not be deleted after their rows were (garbage left in storage, logged). */
  blobsLeft: number;
  /** Ended uploads past RV_UPLOAD_HISTORY_DAYS, deleted (pruneUploadHistory). */
  uploadsPruned: number;
}

/**
 * The daily retention sweep (issue 6): every protected item with a policy — not soft-deleted, not "stopped, retain
 * forever" (its policy is null) — loses the recovery points `expiredPoints` names at `now` under its policy and the
 * policy's time zone, rows first, then blobs; then the upload history older than RV_UPLOAD_HISTORY_DAYS goes.
 * Idempotent: a second sweep at the same instant deletes nothing.
 */
export async function retentionSweep(app: FastifyInstance, now: Date): Promise<SweepCounts> {
  const counts: SweepCounts = { items: 0, expired: 0, deferred: 0, blobsLeft: 0, uploadsPruned: 0 };
  let after = '';
  for (;;) {
    const items = await app.db.protectedItem.findMany({
      where: { id: { gt: after }, policyId: { not: null }, deferredDeleteAt: null },
      select: { id: true },
      orderBy: { id: 'asc' },
      take: ITEM_BATCH,
    });
    // Most items have nothing old enough to expire: one indexed query per batch finds those that may.
    const cutoff = new Date(now.getTime() - YOUNGEST_EXPIRING_DAYS * DAY_MS);
    const candidates = await app.db.$queryRaw<{ id: string }[]>`
      SELECT DISTINCT "protectedItemId" AS "id" FROM "RecoveryPoint"
      WHERE "protectedItemId" = ANY(${items.map((i) => i.id)}::text[]) AND ("endTime" < ${cutoff} OR "expiresAt" <= ${now})`;
    for (const { id } of candidates) {
      const swept = await sweepItem(app, id, now);
      if (swept === undefined) continue;
      counts.items += 1;
      counts.deferred += swept.deferred;
      if (swept.blobNames.length === 0) continue;
      counts.expired += swept.blobNames.length;
      counts.blobsLeft += await deleteBackupBlobs(app, swept.vaultId, swept.blobNames);
    }
    if (items.length < ITEM_BATCH) break;
    after = items[items.length - 1]?.id ?? after;
  }
  counts.uploadsPruned = await pruneUploadHistory(app, now);
  app.log.info({ at: now.toISOString(), ...counts }, 'retention sweep');
  return counts;
}

/**
 * One item, in one transaction: its row is locked (FOR UPDATE), its state checked again (a soft delete or a stop may
 * have come since the batch was read), its points read in endTime order and the expired ones deleted. Returns the
 * deleted points' blob names, for the caller to delete once the rows are gone: a blob left behind by a crash is
 * garbage, a row pointing at a deleted blob would be a recovery point that cannot be restored.
 *
 * Uploads in flight. A commit validates against the item's latest Full, Differential and Log (`chainStateFor`), read
 * before the commit's own transaction. Deleting one of those three while an upload is open could let a backup commit
 * against a point that is gone: a retained point with no base. In a steady state they are never expired (the policy
 * keeps the latest Full a retained log or differential needs), but after weeks of failed backups, or with a suspended
 * item resumed, they can be. So while an upload is Open, those three stay until the next sweep (counted as deferred)
 * and everything older expires as usual — skipping the whole item instead would let a busy database (uploads nearly
 * always open) keep its expired points for ever. The lock makes the check exact: creating an upload inserts a row
 * referencing the item, which waits for this transaction (a FOR KEY SHARE lock conflicts with FOR UPDATE), so an
 * upload is either visible here or opened after these deletions are committed.
 */
async function sweepItem(
  app: FastifyInstance,
  itemId: string,
  now: Date,
): Promise<{ vaultId: string; blobNames: string[]; deferred: number } | undefined> {
  return app.db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT 1 FROM "ProtectedItem" WHERE "id" = ${itemId} FOR UPDATE`;
    const item = await tx.protectedItem.findUnique({
      where: { id: itemId },
      select: { vaultId: true, deferredDeleteAt: true, policy: true },
    });
    if (item === null || item.policy === null || item.deferredDeleteAt !== null) return undefined;
    const rows = await tx.recoveryPoint.findMany({
      where: { protectedItemId: itemId },
      orderBy: [{ endTime: 'asc' }, { lastLsn: 'asc' }],
      // Not `blocks`: a large backup records tens of thousands of them, and retention needs none.
      select: {
        id: true,
        type: true,
        blobName: true,
        firstLsn: true,
        lastLsn: true,
        checkpointLsn: true,
        databaseBackupLsn: true,
        differentialBaseLsn: true,
        startTime: true,
        endTime: true,
        isOnDemand: true,
        expiresAt: true,
      },
    });
    const points: RetainedPoint[] = rows.map((r) => ({
      id: r.id,
      type: r.type as BackupType,
      firstLsn: r.firstLsn,
      lastLsn: r.lastLsn,
      checkpointLsn: r.checkpointLsn,
      databaseBackupLsn: r.databaseBackupLsn,
      ...(r.differentialBaseLsn === null ? {} : { differentialBaseLsn: r.differentialBaseLsn }),
      startTime: r.startTime,
      endTime: r.endTime,
      isOnDemand: r.isOnDemand,
      ...(r.expiresAt === null ? {} : { expiresAt: r.expiresAt }),
    }));
    const expire = new Set(expiredPoints(points, policyOf(item.policy), now).expire);
    let deferred = 0;
    if (expire.size > 0 && (await tx.backupUpload.count({ where: { protectedItemId: itemId, state: 'Open' } })) > 0) {
      const { lastFull, lastDifferential, lastLog } = chainStateOf(points);
      for (const p of [lastFull, lastDifferential, lastLog]) if (p !== undefined && expire.delete(p.id)) deferred += 1;
    }
    const ids = [...expire];
    for (let i = 0; i < ids.length; i += DELETE_BATCH) {
      await tx.recoveryPoint.deleteMany({ where: { id: { in: ids.slice(i, i + DELETE_BATCH) } } });
    }
    return { vaultId: item.vaultId, blobNames: rows.filter((r) => expire.has(r.id)).map((r) => r.blobName), deferred };
  });
}
