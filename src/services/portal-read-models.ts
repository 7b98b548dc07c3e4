import type { FastifyInstance } from 'fastify';
import { PROTECTED_ITEMS_PER_VAULT } from '../domain/limits.ts';
import {
  JobStatus,
  Prisma,
  ProtectionState,
  type Alert,
  type UploadState,
  type Vault,
} from '../generated/prisma/client.ts';
import { containerHealth } from '../domain/containers.ts';
import { lastBackupStatusOf, protectedItemHealth } from '../domain/protection.ts';
import { ALERT_TYPES } from './alerts.ts';

/**
 * The portal's read models, each from indexed queries only (bench/portal.ts measures them on 2,000 protected items
 * and 100,000 recovery points): a vault summary, the backup-items view and the alerts list.
 */

const BACKUP_TYPES = ['Full', 'Differential', 'Log', 'CopyOnlyFull'] as const;
/** The backup types the backup-items view reports a last backup for. */
const ITEM_BACKUP_TYPES = ['Full', 'Differential', 'Log'] as const;
const DAY_MS = 86_400_000;

const zeros = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;

interface SummaryRow {
  items: { state: ProtectionState; health: string; n: number }[];
  heartbeats: (string | null)[];
  jobs: { status: JobStatus; operation: string; n: number }[];
  openAlerts: { kind: string; n: number }[];
  storage: { type: string; points: string; size: string; stored: string }[];
}

/**
 * The vault summary, from one statement (one round trip, one pass through the query engine): items grouped by state
 * and health, the registered containers' last heartbeats, the last 24 hours of jobs grouped by status and operation
 * (an index-only scan), open alerts by type, and the trigger-kept storage counters.
 */
export async function vaultSummary(app: FastifyInstance, vault: Vault) {
  const now = app.clock.now();
  const since = new Date(now.getTime() - DAY_MS);
  const [row] = await app.db.$queryRaw<SummaryRow[]>`
    SELECT
      (SELECT coalesce(json_agg(g), '[]') FROM (
        SELECT "protectionState" AS state, "healthStatus" AS health, count(*)::int AS n FROM "ProtectedItem" WHERE "vaultId" = ${vault.id} GROUP BY 1, 2) g) AS items,
      (SELECT coalesce(json_agg("lastHeartbeatAt"), '[]') FROM "ProtectionContainer"
        WHERE "vaultId" = ${vault.id} AND "registrationStatus" <> 'NotRegistered') AS heartbeats,
      (SELECT coalesce(json_agg(g), '[]') FROM (
        SELECT status, operation, count(*)::int AS n FROM "Job" WHERE "vaultId" = ${vault.id} AND "startTime" >= ${since} GROUP BY 1, 2) g) AS jobs,
      (SELECT coalesce(json_agg(g), '[]') FROM (
        SELECT kind, count(*)::int AS n FROM "Alert" WHERE "vaultId" = ${vault.id} AND "resolvedAt" IS NULL GROUP BY 1) g) AS "openAlerts",
      (SELECT coalesce(json_agg(g), '[]') FROM (
        SELECT type, "recoveryPoints"::text AS points, "sizeBytes"::text AS size, "storedBytes"::text AS stored
        FROM "VaultStorageUsage" WHERE "vaultId" = ${vault.id}) g) AS storage`;
  const { items, heartbeats, jobs, openAlerts, storage } = row as SummaryRow;

  const byHealth = zeros(['Healthy', 'ActionRequired', 'IRPending'] as const);
  const byProtectionState = zeros(Object.values(ProtectionState));
  for (const group of items) {
    byHealth[protectedItemHealth(group.state, group.health)] += group.n;
    byProtectionState[group.state] += group.n;
  }
  const containersByHealth = zeros(['Healthy', 'Unhealthy'] as const);
  for (const heartbeat of heartbeats) {
    containersByHealth[
      containerHealth(
        heartbeat === null ? null : new Date(heartbeat),
        new Date(),
        app.config.agent.unhealthyAfterSeconds,
      )
    ] += 1;
  }
  const byStatus = zeros(Object.values(JobStatus));
  const byOperation: Record<string, number> = {};
  for (const group of jobs) {
    byStatus[group.status] += group.n;
    byOperation[group.operation] = (byOperation[group.operation] ?? 0) + group.n;
  }
  const openByType = zeros(ALERT_TYPES);
  for (const group of openAlerts) openByType[group.kind as keyof typeof openByType] = group.n;
  const byBackupType = Object.fromEntries(
    BACKUP_TYPES.map((type) => [type, { recoveryPoints: 0, sizeBytes: 0, storedBytes: 0 }]),
  );
  for (const usage of storage) {
    byBackupType[usage.type] = {
      recoveryPoints: Number(usage.points),
      sizeBytes: Number(usage.size),
      storedBytes: Number(usage.stored),
    };
  }

  return {
    asOf: now.toISOString(),
    protectedItems: {
      total: items.reduce((sum, group) => sum + group.n, 0),
      countAgainstLimit: vault.protectedItemCount,
      limit: PROTECTED_ITEMS_PER_VAULT,
      byHealth,
      byProtectionState,
    },
    containers: { total: heartbeats.length, byHealth: containersByHealth },
    jobsLast24Hours: {
      since: since.toISOString(),
      total: jobs.reduce((sum, group) => sum + group.n, 0),
      byStatus,
      byOperation,
    },
    alerts: { openRpoBreaches: openByType.RpoBreach, openByType },
    storage: {
      sizeBytes: Object.values(byBackupType).reduce((sum, type) => sum + type.sizeBytes, 0),
      storedBytes: Object.values(byBackupType).reduce((sum, type) => sum + type.storedBytes, 0),
      byBackupType,
    },
  };
}

/** A row of the backup-items view, as PostgreSQL builds it (JSON: times are ISO 8601 strings). */
export interface BackupItemRow {
  id: string;
  itemName: string;
  itemNameKey: string;
  friendlyName: string;
  instanceName: string;
  protectionState: string;
  healthStatus: string;
  lastBackupStatus: string | null;
  lastBackupError: { code: string; message: string } | null;
  deferredDeleteAt: string | null;
  containerName: string;
  serverName: string;
  policyName: string | null;
  earliestRestorePoint: string | null;
  latestRestorePoint: string | null;
  /** The latest upload of each type in ITEM_BACKUP_TYPES (a failed one whose job was cancelled: Cancelled). */
  lastBackups: Record<string, { state: UploadState | 'Cancelled'; start: string; end: string } | null>;
}

/**
 * A page of a vault's protected items in (itemNameKey, id) order, each with its restore point range (two probes of
 * the (protectedItemId, endTime) index) and its latest upload of each backup type (one probe each of
 * (protectedItemId, backupType, createdAt)): a fixed number of index lookups per row, whatever the history. The page
 * comes back as one JSON value, which costs far less to read than as many typed columns.
 */
export async function backupItemRows(
  app: FastifyInstance,
  vaultId: string,
  after: [string, string] | undefined,
  take: number,
): Promise<BackupItemRow[]> {
  // Keys are constants (json_build_object cannot type a parameter as a key); the type filter is a parameter.
  const lastBackups = ITEM_BACKUP_TYPES.map(
    (type) => Prisma.sql`${Prisma.raw(`'${type}'`)}, (
    SELECT json_build_object('state', CASE WHEN u.state = 'Failed' AND EXISTS (
             SELECT 1 FROM "Job" j WHERE j.id = u."jobId" AND j.status IN ('Cancelling', 'Cancelled')) THEN 'Cancelled' ELSE u.state::text END,
           'start', u."createdAt", 'end', u."updatedAt") FROM "BackupUpload" u
    WHERE u."protectedItemId" = i.id AND u."backupType" = ${type} ORDER BY u."createdAt" DESC LIMIT 1)`,
  );
  const [page] = await app.db.$queryRaw<{ rows: BackupItemRow[] }[]>`
    SELECT coalesce(json_agg(item), '[]') AS rows FROM (
      SELECT i.id, i."itemName", i."itemNameKey", i."friendlyName", i."instanceName", i."protectionState", i."healthStatus",
             i."lastBackupStatus", i."lastBackupError", i."deferredDeleteAt", c.name AS "containerName", c."friendlyName" AS "serverName", p.name AS "policyName",
             (SELECT min(r."endTime") FROM "RecoveryPoint" r WHERE r."protectedItemId" = i.id) AS "earliestRestorePoint",
             (SELECT max(r."endTime") FROM "RecoveryPoint" r WHERE r."protectedItemId" = i.id) AS "latestRestorePoint",
             json_build_object(${Prisma.join(lastBackups)}) AS "lastBackups"
      FROM "ProtectedItem" i
      JOIN "ProtectionContainer" c ON c.id = i."containerId"
      LEFT JOIN "Policy" p ON p.id = i."policyId"
      WHERE i."vaultId" = ${vaultId} ${after === undefined ? Prisma.empty : Prisma.sql`AND (i."itemNameKey", i.id) > (${after[0]}, ${after[1]})`}
      ORDER BY i."itemNameKey", i.id
      LIMIT ${take}
    ) item`;
  return page?.rows ?? [];
}

/** An upload's state in the words of a job's status. */
const BACKUP_STATUS: Record<UploadState | 'Cancelled', string> = {
  Open: 'InProgress',
  Committed: 'Completed',
  Failed: 'Failed',
  Cancelled: 'Cancelled',
};
const iso = (time: string) => new Date(time).toISOString();

/** The view of a backup-items row (`protectedItemArmId` names it as the management API does). */
export function backupItemView(row: BackupItemRow, protectedItemArmId: string) {
  const lastBackups: Record<string, { status: string; startTime: string; endTime?: string }> = {};
  for (const type of ITEM_BACKUP_TYPES) {
    const upload = row.lastBackups[type];
    if (upload === null || upload === undefined) continue;
    lastBackups[type] = {
      status: BACKUP_STATUS[upload.state],
      startTime: iso(upload.start),
      ...(upload.state === 'Open' ? {} : { endTime: iso(upload.end) }),
    };
  }
  return {
    id: protectedItemArmId,
    name: row.itemName,
    friendlyName: row.friendlyName,
    serverName: row.serverName,
    containerName: row.containerName,
    parentName: row.instanceName,
    protectionState: row.protectionState,
    protectedItemHealthStatus: protectedItemHealth(row.protectionState, row.healthStatus),
    // Also a backup that failed before it sent anything (agent unreachable, a conflict, an injected fault), which
    // leaves no upload for lastBackups.
    lastBackupStatus: lastBackupStatusOf(row.protectionState, row.lastBackupStatus),
    ...(row.lastBackupError === null ? {} : { lastBackupErrorDetail: row.lastBackupError }),
    ...(row.policyName === null ? {} : { policyName: row.policyName }),
    isScheduledForDeferredDelete: row.deferredDeleteAt !== null,
    lastBackups,
    ...(row.earliestRestorePoint === null ? {} : { earliestRestorePoint: iso(row.earliestRestorePoint) }),
    ...(row.latestRestorePoint === null ? {} : { latestRestorePoint: iso(row.latestRestorePoint) }),
  };
}

/**
 * A page of a vault's alerts, newest first, after the keyset cursor (raisedAt, id). The redundant `raisedAt <=` bound
 * lets PostgreSQL start the index scan at the cursor instead of filtering its way there.
 */
export function alertRows(
  app: FastifyInstance,
  where: Prisma.AlertWhereInput & { vaultId: string },
  after: [Date, string] | undefined,
  take: number,
): Promise<Alert[]> {
  const [at, id] = after ?? [];
  return app.db.alert.findMany({
    where:
      at === undefined
        ? where
        : { ...where, raisedAt: { lte: at }, OR: [{ raisedAt: { lt: at } }, { raisedAt: at, id: { lt: id } }] },
    orderBy: [{ raisedAt: 'desc' }, { id: 'desc' }],
    take,
  });
}
