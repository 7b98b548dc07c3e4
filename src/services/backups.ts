import type { FastifyInstance } from 'fastify';
import { routeGroupBackups } from './availability-groups.ts';
import { randomInt, randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { BackupUpload, Prisma, RecoveryPoint } from '../generated/prisma/client.ts';
import { ArmError, errors } from '../domain/errors.ts';
import {
  LSN_VALIDATION_FAILURE,
  parseLsn,
  validateCommit,
  type ChainState,
  type CommittedPoint,
} from '../domain/backup-chain.ts';
import { BACKUP_CANCELLED, type BackupMetadata, type BackupType } from '../protocol/agent.ts';
import { commitBlob, deleteBlob, MAX_BLOCKS_PER_BLOB, type StoredBlock } from '../storage/backup-blobs.ts';
import { blockSizeFor } from '../domain/backup-blocks.ts';
import { vaultContainerName } from '../storage/containers.ts';
import { unwrapDataKey } from '../storage/keys.ts';
import { containerHealth } from '../domain/containers.ts';
import { announceJobs, changeJobStatus, failedJobFields, finishJobIn, type JobChange } from '../jobs/job-records.ts';

const CONFLICT = 'OperationCancelledBecauseConflictingOperationRunningUserError';

export const vaultBlobs = (app: FastifyInstance, vaultId: string) =>
  app.blob.getContainerClient(vaultContainerName(app.config.blobContainerPrefix, vaultId));

/** Parallel blob deletions per call: enough to hide round trips, few enough not to flood the blob service. */
const BLOB_DELETES_IN_FLIGHT = 8;

/**
 * Deletes backup blobs whose recovery points (or uploads) are already gone from the database, so a failure here
 * leaves garbage, never a point without its data: each failure is logged and counted (returned), not thrown — the
 * rows are deleted, so a retry would not find these names again.
 */
export async function deleteBackupBlobs(
  app: FastifyInstance,
  vaultId: string,
  blobNames: readonly string[],
): Promise<number> {
  const container = vaultBlobs(app, vaultId);
  let failed = 0;
  for (let i = 0; i < blobNames.length; i += BLOB_DELETES_IN_FLIGHT) {
    await Promise.all(
      blobNames.slice(i, i + BLOB_DELETES_IN_FLIGHT).map(async (blobName) => {
        try {
          await deleteBlob(container, blobName);
        } catch (error) {
          failed += 1;
          app.log.warn({ err: error, vaultId, blobName }, 'backup blob left behind: its recovery point is deleted');
        }
      }),
    );
  }
  return failed;
}

/** Vault data keys never change, so each process unwraps a vault's key once (not once per 4 MiB block). */
const dataKeys = new WeakMap<FastifyInstance, Map<string, Buffer>>();

export async function dataKeyOf(app: FastifyInstance, vaultId: string): Promise<Buffer> {
  const cache = dataKeys.get(app) ?? new Map<string, Buffer>();
  dataKeys.set(app, cache);
  const cached = cache.get(vaultId);
  if (cached !== undefined) return cached;
  const vault = await app.db.vault.findUniqueOrThrow({ where: { id: vaultId }, select: { wrappedDataKey: true } });
  const key = unwrapDataKey(app.config.masterKey, vault.wrappedDataKey);
  cache.set(vaultId, key);
  return key;
}

/** What a block needs of its upload. None of it changes once the upload exists, so a process reads it once. */
export type UploadFacts = Pick<BackupUpload, 'id' | 'containerId' | 'vaultId' | 'blobName' | 'compress'> & {
  blockSizeBytes: number;
};

/** Open uploads' facts by id, per app (the least recently used forgotten past UPLOADS_CACHED: read again then). */
const openUploads = new WeakMap<FastifyInstance, LRUCache<string, UploadFacts>>();
const UPLOADS_CACHED = 1000;
/** An upload that ended (committed, failed, gone) is read again by its next block, which is then refused. */
const forgetUpload = (app: FastifyInstance, uploadId: string) => openUploads.get(app)?.delete(uploadId);
const uploadNotFound = (uploadId: string) => errors.resourceNotFound(`The upload '${uploadId}' of this container`);

/** An upload of this container (the agent's token names it), else 404: another container's uploads do not exist for it. */
export async function uploadOfContainer(
  app: FastifyInstance,
  containerId: string,
  uploadId: string,
): Promise<BackupUpload> {
  const upload = await app.db.backupUpload.findUnique({ where: { id: uploadId.toLowerCase() } });
  if (upload === null || upload.containerId !== containerId) throw uploadNotFound(uploadId);
  return upload;
}

/** Azure: a block holds at most 4000 MiB. */
const MAX_BLOCK_BYTES = 4000 * 1024 * 1024;

/** An upload's block size: chosen at its first open (fixBlockSize), else RV_BACKUP_BLOCK_SIZE_BYTES. */
export const blockSizeOf = (app: FastifyInstance, upload: Pick<BackupUpload, 'blockSizeBytes'>): number =>
  upload.blockSizeBytes ?? app.config.backup.blockSizeBytes;

/**
 * At the first open of an upload whose agent announces the stream's size, fixes the backup's block size so that it
 * fits in one blob (domain/backup-blocks.ts); later opens (a resume, another API process) find it fixed. A backup
 * larger than Azure's largest blob is refused before any block is sent.
 */
export async function fixBlockSize(
  app: FastifyInstance,
  upload: BackupUpload,
  sizeBytes: number | undefined,
): Promise<BackupUpload> {
  if (upload.blockSizeBytes !== null || sizeBytes === undefined || upload.state !== 'Open') return upload;
  const chosen = blockSizeFor(sizeBytes, app.config.backup.blockSizeBytes, {
    maxBlocks: MAX_BLOCKS_PER_BLOB,
    maxBlockBytes: MAX_BLOCK_BYTES,
  });
  if (chosen === undefined) {
    throw errors.invalidInput(
      `A backup of ${sizeBytes} bytes exceeds the ${MAX_BLOCKS_PER_BLOB} blocks of ${MAX_BLOCK_BYTES} bytes one backup holds.`,
    );
  }
  // The configured size needs no record (null means it): an ordinary backup costs no write here.
  if (chosen === app.config.backup.blockSizeBytes) return upload;
  const [fixed] = await app.db.backupUpload.updateManyAndReturn({
    where: { id: upload.id, blockSizeBytes: null },
    data: { blockSizeBytes: chosen },
  });
  return fixed ?? app.db.backupUpload.findUniqueOrThrow({ where: { id: upload.id } });
}

/**
 * The upload a block goes to: 404 when it is not this container's, 409 when it is no longer open (see
 * uploadNotOpen). Read from the database once per process; whether it is still open is checked again by
 * recordBlock, in the statement that records the block.
 */
export async function openUploadFor(app: FastifyInstance, containerId: string, uploadId: string): Promise<UploadFacts> {
  let cache = openUploads.get(app);
  if (cache === undefined) openUploads.set(app, (cache = new LRUCache({ max: UPLOADS_CACHED })));
  const id = uploadId.toLowerCase();
  let facts = cache.get(id);
  if (facts === undefined) {
    const upload = await uploadOfContainer(app, containerId, id);
    if (upload.state !== 'Open') throw await uploadNotOpen(app, upload);
    facts = {
      id,
      containerId: upload.containerId,
      vaultId: upload.vaultId,
      blobName: upload.blobName,
      compress: upload.compress,
      blockSizeBytes: blockSizeOf(app, upload),
    };
    cache.set(id, facts);
  }
  if (facts.containerId !== containerId) throw uploadNotFound(uploadId);
  return facts;
}

/**
 * Records a staged block, in one statement that also checks that the upload is still open and its job not
 * cancelled, and marks the upload's progress (the abandoned-upload sweep goes by it). One round trip per block
 * instead of four through the query compiler: measured as a third of the service's CPU per block beside hashing
 * and encryption. Refused (409) when the upload ended meanwhile; a block staged after the upload failed is
 * deleted with the blob's other uncommitted blocks, so nothing of it stays behind.
 */
export async function recordBlock(app: FastifyInstance, upload: UploadFacts, block: StoredBlock): Promise<void> {
  const recorded = await app.db.$queryRaw<{ index: number }[]>`
    WITH "open" AS (
      UPDATE "BackupUpload" AS u SET "updatedAt" = ${app.clock.now()}
       WHERE u."id" = ${upload.id} AND u."state" = 'Open'
         AND NOT EXISTS (SELECT 1 FROM "Job" AS j WHERE j."id" = u."jobId" AND j."status" IN ('Cancelling', 'Cancelled'))
      RETURNING u."id")
    INSERT INTO "UploadBlock" ("uploadId", "index", "blockId", "sha256", "plaintextBytes", "storedBytes", "compressed")
    SELECT "id", ${block.index}, ${block.blockId}, ${block.sha256}, ${block.plaintextBytes}, ${block.storedBytes}, ${block.compressed} FROM "open"
    ON CONFLICT ("uploadId", "index") DO UPDATE SET "blockId" = EXCLUDED."blockId", "sha256" = EXCLUDED."sha256",
      "plaintextBytes" = EXCLUDED."plaintextBytes", "storedBytes" = EXCLUDED."storedBytes", "compressed" = EXCLUDED."compressed"
    RETURNING "index"`;
  if (recorded.length > 0) return;
  forgetUpload(app, upload.id);
  const current = await app.db.backupUpload.findUnique({ where: { id: upload.id } });
  // Failed, or gone with its item or vault (purged): so goes the blob this block was just staged into.
  if (current === null || current.state === 'Failed')
    await deleteBlob(vaultBlobs(app, upload.vaultId), upload.blobName);
  throw current === null ? uploadNotFound(upload.id) : await uploadNotOpen(app, current);
}

/** A job whose cancellation was asked (or done): its backup takes no more blocks and no commit. */
const cancellationAsked = (job: { status: string } | null) =>
  job?.status === 'Cancelling' || job?.status === 'Cancelled';

/** Why an upload takes no more blocks or commits: its job was cancelled, or it ended (committed, failed). */
export async function uploadNotOpen(app: FastifyInstance, upload: BackupUpload): Promise<ArmError> {
  const job =
    upload.jobId === null
      ? null
      : await app.db.job.findUnique({ where: { id: upload.jobId }, select: { status: true } });
  if (cancellationAsked(job)) {
    return errors.conflict(
      BACKUP_CANCELLED,
      `The Backup job ${upload.jobId} was cancelled: the vault takes nothing more of backup ${upload.id} and keeps nothing of it.`,
    );
  }
  return errors.conflict('UserErrorUploadNotOpen', `The upload '${upload.id}' is ${upload.state.toLowerCase()}.`);
}

type CommittedPointRow = Pick<
  RecoveryPoint,
  | 'id'
  | 'type'
  | 'firstLsn'
  | 'lastLsn'
  | 'checkpointLsn'
  | 'databaseBackupLsn'
  | 'differentialBaseLsn'
  | 'startTime'
  | 'endTime'
>;

export const asCommittedPoint = (point: CommittedPointRow): CommittedPoint => ({
  id: point.id,
  type: point.type as BackupType,
  firstLsn: point.firstLsn,
  lastLsn: point.lastLsn,
  checkpointLsn: point.checkpointLsn,
  databaseBackupLsn: point.databaseBackupLsn,
  ...(point.differentialBaseLsn === null ? {} : { differentialBaseLsn: point.differentialBaseLsn }),
  startTime: point.startTime,
  endTime: point.endTime,
});

/**
 * What the chain rules need of an item's history — its latest Full (not copy-only), Differential and Log — read as
 * three indexed rows, not the item's whole history (thousands of logs after a few weeks). "Latest" as chainStateOf
 * orders: by end time, then by last LSN.
 */
export async function chainStateFor(app: FastifyInstance, protectedItemId: string): Promise<ChainState> {
  // One round trip: the latest point of each type, each an index probe of (protectedItemId, type, endTime).
  const latest = await app.db.$queryRaw<CommittedPointRow[]>`
    SELECT p.* FROM (VALUES ('Full'), ('Differential'), ('Log')) AS t("type")
    CROSS JOIN LATERAL (
      SELECT "id", "type", "firstLsn", "lastLsn", "checkpointLsn", "databaseBackupLsn", "differentialBaseLsn", "startTime", "endTime"
      FROM "RecoveryPoint" WHERE "protectedItemId" = ${protectedItemId} AND "type" = t."type"
      ORDER BY "endTime" DESC, "lastLsn" DESC LIMIT 1
    ) p`;
  const of = (type: BackupType) => latest.find((point) => point.type === type);
  const [full, differential, log] = [of('Full'), of('Differential'), of('Log')];
  return {
    ...(full === undefined ? {} : { lastFull: asCommittedPoint(full) }),
    ...(differential === undefined ? {} : { lastDifferential: asCommittedPoint(differential) }),
    ...(log === undefined ? {} : { lastLog: asCommittedPoint(log) }),
  };
}

export type Tx = Prisma.TransactionClient;

/** What starting a backup needs of its item (a Prisma item with its container will do). */
export interface BackupItem {
  id: string;
  vaultId: string;
  containerId: string;
  itemName: string;
  friendlyName: string;
  /** `containerType`: an availability group's databases are routed to a node (routeGroupBackups), a VM's are not. */
  container: { friendlyName: string; lastHeartbeatAt: Date | null; containerType: string };
}

/** One backup to start: what the database gets, and when it is taken (service time; default: now). */
export interface BackupStart {
  item: BackupItem;
  type: BackupType;
  onDemand: boolean;
  /** The caller's request id, for an on-demand backup a request started (see Job.activityId). */
  activityId?: string;
  expiresAt?: Date;
  compress: boolean;
  at?: Date;
}

export interface StartedBackups {
  /** The Backup job of each item (null: a scheduled log, which Azure does not list). */
  jobIds: Map<string, string | null>;
  /** The jobs created: announce them (announceJobs) once the transaction has committed. */
  jobs: JobChange[];
  /** The VMs whose agents have new commands: wake them once the transaction has committed. */
  containerIds: Set<string>;
}

/**
 * Starts backups in the caller's transaction, which holds the items' rows locked: for each, a Backup job (none for
 * a scheduled log) and an open upload, plus the `backup` command its VM's agent streams it from — or a job failed at
 * once: another backup of the database still runs (Azure's conflict code), its VM has not been heard from, or an
 * injected fault says so. Set-based — a handful of statements however many backups (uploads and commands go in as
 * arrays) — and all or nothing with the caller's own writes (a scheduler's moved schedules), so a crash never leaves
 * a backup claimed but not started. The caller announces `jobs` and wakes `containerIds` after its commit.
 */
export async function startBackupsIn(
  app: FastifyInstance,
  tx: Tx,
  starts: readonly BackupStart[],
): Promise<StartedBackups> {
  const started: StartedBackups = { jobIds: new Map(), jobs: [], containerIds: new Set() };
  if (starts.length === 0) return started;
  const now = app.clock.now();
  const running = new Set(
    (
      await tx.$queryRaw<{ protectedItemId: string }[]>`
      SELECT "protectedItemId" FROM "BackupUpload" WHERE "state" = 'Open' AND "protectedItemId" = ANY(${starts.map((s) => s.item.id)}::text[])`
    ).map((u) => u.protectedItemId),
  );
  // An AG database's backup goes to the node its group's backup preference selects (the item's container is the AG's).
  const routes = await routeGroupBackups(app, starts, chainStateFor);
  const routed = starts.map((start) => {
    const route = routes.get(start.item.id);
    return route === undefined || 'failure' in route
      ? start
      : { ...start, item: { ...start.item, containerId: route.containerId, container: route.container } };
  });
  // The job names the item where it is protected: an AG database's job shows its group, not the node that ran it.
  const entityOf = new Map(
    starts.map(({ item }) => [item.id, `${item.friendlyName} [${item.container.friendlyName}]`]),
  );
  const chainOf = (itemId: string) => {
    const route = routes.get(itemId);
    return route === undefined || 'failure' in route ? null : JSON.stringify(route.chain);
  };
  const notReached = new Map([
    ...unreachable(app, routed),
    ...[...routes].flatMap(([id, r]) => ('failure' in r ? [[id, r.failure] as const] : [])),
  ]);
  // An injected failure is used up only by a backup that would otherwise start.
  const failures = new Map([
    ...(await injectedFailures(
      app,
      tx,
      starts.filter(({ item }) => !running.has(item.id) && !notReached.has(item.id)),
    )),
    ...notReached,
  ]);
  const jobs: Prisma.JobCreateManyInput[] = [];
  const failed = new Map<string, { failure: { code: string; message: string }; itemIds: string[] }>();
  const uploads: { start: BackupStart; jobId: string | null }[] = [];
  for (const start of routed) {
    const { item } = start;
    // As in Azure, scheduled log backups are not listed as jobs (there would be 96 a day per database).
    const jobId = start.onDemand || start.type !== 'Log' ? randomUUID() : null;
    started.jobIds.set(item.id, jobId);
    const job =
      jobId === null
        ? undefined
        : {
            id: jobId,
            vaultId: item.vaultId,
            protectedItemId: item.id,
            operation: 'Backup',
            entityFriendlyName: entityOf.get(item.id)!,
            startTime: now,
            activityId: start.activityId ?? null,
            extendedInfo: { propertyBag: { 'Backup Type': start.type, 'Is On-Demand': String(start.onDemand) } },
          };
    const failure = running.has(item.id)
      ? { code: CONFLICT, message: `Another backup of '${item.friendlyName}' is in progress; this one was cancelled.` }
      : failures.get(item.id);
    if (failure !== undefined) {
      if (job !== undefined) jobs.push({ ...job, ...failedJobFields(now, failure) });
      if (failure.code !== CONFLICT) {
        const key = `${failure.code}\n${failure.message}`;
        const same = failed.get(key) ?? { failure, itemIds: [] };
        same.itemIds.push(item.id);
        failed.set(key, same);
      }
      continue;
    }
    running.add(item.id);
    if (job !== undefined) jobs.push({ ...job, cancellable: true });
    uploads.push({ start, jobId });
    started.containerIds.add(item.containerId);
  }
  // One statement per distinct failure (a silent VM fails all its databases alike), not one per item.
  for (const { failure, itemIds } of failed.values()) {
    await tx.protectedItem.updateMany({ where: { id: { in: itemIds } }, data: failedBackupFields(now, failure) });
  }
  if (jobs.length > 0) started.jobs = (await tx.job.createManyAndReturn({ data: jobs })).map((job) => ({ job }));
  if (uploads.length > 0) {
    const column = <T>(pick: (u: (typeof uploads)[number]) => T) => uploads.map(pick);
    // The uploads and their agents' `backup` commands in one statement, each command's payload built by PostgreSQL
    // from its upload's row (a scheduler tick starts thousands; this is most of its time). `at`: the moment the backup
    // is taken, in service time — the agent's simulated database follows the vault's clock. The agent-commands plugin
    // delivers these like any command; the caller wakes their containers once committed.
    await tx.$executeRaw`
      WITH u AS MATERIALIZED (
        SELECT gen_random_uuid()::text AS "id", * FROM unnest(${column((u) => u.start.item.vaultId)}::text[], ${column((u) => u.start.item.id)}::text[],
                             ${column((u) => u.start.item.containerId)}::text[], ${column((u) => u.jobId)}::text[], ${column((u) => u.start.type)}::text[],
                             ${column((u) => u.start.onDemand)}::boolean[], ${column((u) => u.start.expiresAt?.toISOString() ?? null)}::timestamptz[],
                             ${column((u) => u.start.compress)}::boolean[], ${column((u) => u.start.item.itemName)}::text[],
                             ${column((u) => (u.start.at ?? now).toISOString())}::text[], ${column((u) => chainOf(u.start.item.id))}::jsonb[])
          AS u("vaultId", "itemId", "containerId", "jobId", "type", "onDemand", "expiresAt", "compress", "itemName", "at", "chain")
      ), uploads AS (
        INSERT INTO "BackupUpload" ("id", "vaultId", "protectedItemId", "containerId", "jobId", "backupType", "isOnDemand", "expiresAt", "compress", "blobName", "createdAt", "updatedAt")
        SELECT "id", "vaultId", "itemId", "containerId", "jobId", "type", "onDemand", "expiresAt", "compress", "itemId" || '/' || "id" || '.bak', ${now}, ${now} FROM u
      )
      INSERT INTO "AgentCommand" ("id", "containerId", "type", "payload", "issuedAt")
      SELECT gen_random_uuid()::text, "containerId", 'backup',
             jsonb_build_object('backupId', "id", 'itemName', "itemName", 'backupType', "type", 'blockSizeBytes', ${app.config.backup.blockSizeBytes}::int,
                                'blocksInFlight', ${app.config.backup.blocksInFlight}::int, 'at', "at")
             || CASE WHEN "chain" IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('chain', "chain") END, ${now}
      FROM u`;
  }
  return started;
}

/**
 * Backups that fail before they start, as in Azure: the VM cannot reach the service (an injected VmConnectivity:
 * `UserErrorVMInternetConnectivityIssue`), or its workload extension has not been heard from for
 * RV_AGENT_UNHEALTHY_AFTER_SECONDS (the container is Unhealthy) or is cut off by an injected AgentSilence.
 */
function unreachable(
  app: FastifyInstance,
  starts: readonly BackupStart[],
): [string, { code: string; message: string }][] {
  const silentFor = app.config.agent.unhealthyAfterSeconds;
  return starts.flatMap(({ item }): [string, { code: string; message: string }][] => {
    if (app.faults.connectivityLost(item.containerId)) {
      const { code, message } = errors.vmConnectivity(item.container.friendlyName);
      return [[item.id, { code, message }]];
    }
    const silent =
      containerHealth(item.container.lastHeartbeatAt, new Date(), silentFor) === 'Unhealthy' ||
      app.faults.agentSilenced(item.containerId);
    if (!silent) return [];
    return [
      [
        item.id,
        {
          code: 'WorkloadExtensionNotReachable',
          message: `The workload extension on '${item.container.friendlyName}' has not been heard from for over ${silentFor} seconds: check that the VM runs and can reach the vault, then re-register it.`,
        },
      ],
    ];
  });
}

/** Injected BackupFailure faults (emulator controls): each of these backups uses up one of its item's failures. */
async function injectedFailures(
  app: FastifyInstance,
  tx: Tx,
  starts: readonly BackupStart[],
): Promise<[string, { code: string; message: string }][]> {
  if (!app.config.emulatorControls || starts.length === 0) return [];
  const taken = await tx.$queryRaw<{ protectedItemId: string; code: string; message: string | null }[]>`
    UPDATE "EmulatorFault" SET "remaining" = "remaining" - 1
    WHERE "kind" = 'BackupFailure' AND "remaining" > 0 AND "protectedItemId" = ANY(${starts.map((s) => s.item.id)}::text[])
    RETURNING "protectedItemId", "code", "message"`;
  if (taken.length > 0) await tx.emulatorFault.deleteMany({ where: { kind: 'BackupFailure', remaining: { lte: 0 } } });
  return taken.map((f) => [
    f.protectedItemId,
    { code: f.code, message: f.message ?? `The backup failed with ${f.code} (emulator fault BackupFailure).` },
  ]);
}

/**
 * Starts one backup now (backup now; also tests): the item's row is locked first, so a scheduler's dispatch (which
 * skips locked items) and this never both start one. Returns its job.
 */
export async function startBackup(app: FastifyInstance, start: BackupStart): Promise<string | null> {
  const started = await app.db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT 1 FROM "ProtectedItem" WHERE "id" = ${start.item.id} FOR UPDATE`;
    return startBackupsIn(app, tx, [start]);
  });
  await announceJobs(app, started.jobs);
  await app.agentCommands.wake(started.containerIds);
  return started.jobIds.get(start.item.id) ?? null;
}

/**
 * A recovery point id as Azure shapes them: a long decimal number — here the commit time in ms and 8 random digits.
 * (4 digits collided: on the emulator clock a whole vault's backups commit within the same few milliseconds.)
 */
const recoveryPointId = (at: Date) => `${at.getTime()}${String(randomInt(100_000_000)).padStart(8, '0')}`;

/** Uploads that never committed (the agent vanished) fail after RV_ABANDONED_UPLOAD_MINUTES; their blobs go. */
export async function failAbandonedUploads(app: FastifyInstance, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - app.config.backup.abandonedUploadMinutes * 60_000);
  const abandoned = await app.db.backupUpload.findMany({
    where: { state: 'Open', updatedAt: { lt: cutoff } },
    take: 500,
  });
  for (const upload of abandoned) {
    await failUpload(
      app,
      upload,
      new ArmError(
        400,
        'UserErrorBackupUploadAbandoned',
        `The agent stopped sending backup ${upload.id} and never committed it.`,
      ),
    );
  }
  return abandoned.length;
}

/**
 * The upload history a retention sweep keeps: ended uploads (committed or failed) unchanged for
 * RV_UPLOAD_HISTORY_DAYS go, with their block rows — all but each item's latest of each backup type, which the
 * portal's backup-items view shows. A recovery point holds its own block list, so nothing a restore needs goes with
 * them; without this the table would keep every backup ever taken (192,000 a day for 2,000 items with 15-minute
 * logs). Batches of 5,000 rows; returns how many went.
 */
export async function pruneUploadHistory(app: FastifyInstance, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - app.config.backup.uploadHistoryDays * 86_400_000);
  let pruned = 0;
  for (;;) {
    const deleted = await app.db.$executeRaw`
      DELETE FROM "BackupUpload" WHERE "id" IN (
        SELECT u."id" FROM "BackupUpload" u
        WHERE u."state" IN ('Committed', 'Failed') AND u."updatedAt" < ${cutoff}
          AND EXISTS (SELECT 1 FROM "BackupUpload" n
                      WHERE n."protectedItemId" = u."protectedItemId" AND n."backupType" = u."backupType" AND n."createdAt" > u."createdAt")
        LIMIT ${PRUNE_BATCH})`;
    pruned += deleted;
    if (deleted < PRUNE_BATCH) return pruned;
  }
}

const PRUNE_BATCH = 5_000;

/** A protected item's columns after a failed backup (an LSN failure marks the chain broken: next time, a Full). */
function failedBackupFields(now: Date, failure: { code: string; message: string }) {
  return {
    lastBackupStatus: 'Unhealthy',
    lastBackupError: failure,
    ...(failure.code === LSN_VALIDATION_FAILURE ? { chainBroken: true } : {}),
    updatedAt: now,
  };
}

/**
 * An agent that could not take a backup (SQL refused it, the database is gone…) fails its upload with its code. One
 * that stopped because the job's cancellation was asked ends that cancellation (the job.cancel operation may never
 * run: not queued, or its process gone).
 */
export async function failBackupCommand(
  app: FastifyInstance,
  backupId: unknown,
  code: string,
  message: string,
): Promise<void> {
  if (typeof backupId !== 'string') return;
  const upload = await app.db.backupUpload.findUnique({ where: { id: backupId } });
  if (upload?.state !== 'Open') return;
  // The agent's word is not enough: only a job whose cancellation was asked is cancelled by it.
  const job =
    code === BACKUP_CANCELLED && upload.jobId !== null
      ? await app.db.job.findUnique({ where: { id: upload.jobId }, select: { status: true } })
      : null;
  if (upload.jobId !== null && cancellationAsked(job)) await endCancelledBackup(app, upload.jobId);
  else await failUpload(app, upload, new ArmError(400, code, message));
}

/**
 * Ends the cancellation of a Backup job: its upload, unless it committed first, is failed (first, so that a commit
 * racing with this one loses), the job is Cancelled, then the blob goes with every staged block. Idempotent — a
 * retry fails nothing new and deletes the blob again — and reached by whichever comes first: the job.cancel
 * operation, or the agent reporting that the vault refused it. A backup that committed first keeps its recovery
 * point and its job Completed.
 */
export async function endCancelledBackup(app: FastifyInstance, jobId: string): Promise<void> {
  await app.db.backupUpload.updateMany({
    where: { jobId, state: 'Open' },
    data: { state: 'Failed', updatedAt: app.clock.now() },
  });
  // A retry deletes the blobs again, of whatever upload of the job has failed (its end time left as it was).
  const discarded = await app.db.backupUpload.findMany({
    where: { jobId, state: 'Failed' },
    select: { id: true, vaultId: true, blobName: true },
  });
  await changeJobStatus(app, jobId, 'Cancelling', { status: 'Cancelled', endTime: app.clock.now() });
  for (const upload of discarded) {
    forgetUpload(app, upload.id);
    await deleteBlob(vaultBlobs(app, upload.vaultId), upload.blobName);
  }
}

/**
 * Fails an upload that is still open: its job, and the item's last-backup state (an LSN failure marks the chain
 * broken: next time, a Full). `upload` may have been read a while ago (the abandoned-upload sweep reads hundreds at
 * once): one that has ended since — above all, committed by the agent meanwhile — is left as it is, blob and all.
 */
async function failUpload(app: FastifyInstance, upload: BackupUpload, error: ArmError): Promise<void> {
  const now = app.clock.now();
  const failure = { code: error.code, message: error.message };
  const ended = await app.db.$transaction(async (tx) => {
    const { count } = await tx.backupUpload.updateMany({
      where: { id: upload.id, state: 'Open' },
      data: { state: 'Failed', updatedAt: now },
    });
    if (count === 0) return undefined;
    await tx.protectedItem.update({ where: { id: upload.protectedItemId }, data: failedBackupFields(now, failure) });
    return upload.jobId === null ? [] : finishJobIn(tx, upload.jobId, now, failure);
  });
  if (ended === undefined) return;
  await announceJobs(app, ended);
  forgetUpload(app, upload.id);
  await deleteBlob(vaultBlobs(app, upload.vaultId), upload.blobName);
}

/**
 * Commits an upload whole or not at all: every block present, the LSN chain valid (else
 * UserErrorSQLLSNValidationFailure and no recovery point), then the block list committed and the recovery point
 * written in one transaction with the upload, the item and the job. If that transaction fails, the upload stays open
 * for the agent's retry (see the catch below).
 */
/** The files the last inventory reported for an item's database: what a backup holds when its agent did not say. */
async function inventoriedFiles(app: FastifyInstance, protectedItemId: string): Promise<Prisma.InputJsonArray> {
  const item = await app.db.protectedItem.findUnique({
    where: { id: protectedItemId },
    select: { containerId: true, itemNameKey: true },
  });
  const database =
    item === null
      ? null
      : await app.db.sqlDatabase.findUnique({
          where: { containerId_itemNameKey: item },
          select: { files: true },
        });
  return (database?.files ?? []) as Prisma.InputJsonArray;
}

export async function commitBackup(
  app: FastifyInstance,
  upload: BackupUpload,
  metadata: BackupMetadata,
): Promise<RecoveryPoint> {
  const blocks = await app.db.uploadBlock.findMany({ where: { uploadId: upload.id }, orderBy: { index: 'asc' } });
  const missing = Array.from({ length: metadata.blockCount }, (_, i) => i).filter((i) => blocks[i]?.index !== i);
  if (missing.length > 0 || blocks.length !== metadata.blockCount) {
    throw new ArmError(
      409,
      'UserErrorBackupUploadIncomplete',
      `The upload lacks blocks ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''} (announced ${metadata.blockCount}, received ${blocks.length}); send them and commit again.`,
    );
  }
  const size = blocks.reduce((sum, b) => sum + b.plaintextBytes, 0);
  if (size !== metadata.sizeBytes) {
    throw new ArmError(
      400,
      'UserErrorBackupSizeMismatch',
      `The blocks hold ${size} bytes but the metadata says ${metadata.sizeBytes}.`,
    );
  }
  if (metadata.backupType !== upload.backupType) {
    throw new ArmError(
      400,
      'BMSUserErrorInvalidInput',
      `This upload is a ${upload.backupType} backup, not ${metadata.backupType}.`,
    );
  }
  if (upload.jobId !== null) {
    const job = await app.db.job.findUnique({ where: { id: upload.jobId }, select: { status: true } });
    if (cancellationAsked(job)) throw await uploadNotOpen(app, upload);
  }
  const incoming = {
    type: metadata.backupType,
    firstLsn: parseLsn(metadata.firstLsn),
    lastLsn: parseLsn(metadata.lastLsn),
    checkpointLsn: parseLsn(metadata.checkpointLsn),
    databaseBackupLsn: parseLsn(metadata.databaseBackupLsn),
    ...(metadata.differentialBaseLsn === undefined
      ? {}
      : { differentialBaseLsn: parseLsn(metadata.differentialBaseLsn) }),
    startTime: new Date(metadata.startTime),
    endTime: new Date(metadata.endTime),
  };
  try {
    validateCommit(await chainStateFor(app, upload.protectedItemId), incoming);
  } catch (error) {
    if (error instanceof ArmError) await failUpload(app, upload, error);
    throw error;
  }

  const stored: StoredBlock[] = blocks.map((b) => ({
    index: b.index,
    blockId: b.blockId,
    sha256: b.sha256,
    plaintextBytes: b.plaintextBytes,
    storedBytes: b.storedBytes,
    compressed: b.compressed,
  }));
  const now = app.clock.now();
  const id = recoveryPointId(now);
  const files = metadata.files ?? (await inventoriedFiles(app, upload.protectedItemId));
  await commitBlob(vaultBlobs(app, upload.vaultId), upload.blobName, stored, {
    recoverypointid: id,
    backuptype: metadata.backupType,
  }).catch(async (error: unknown) => {
    // A cancellation that discarded the blob meanwhile is why, not the blob service: say so (the agent stops on it).
    const current = await app.db.backupUpload.findUnique({ where: { id: upload.id } });
    throw current !== null && current.state !== 'Open' ? await uploadNotOpen(app, current) : error;
  });
  try {
    const { point, ended } = await app.db.$transaction(async (tx) => {
      const created = await tx.recoveryPoint.create({
        data: {
          id,
          vaultId: upload.vaultId,
          protectedItemId: upload.protectedItemId,
          type: metadata.backupType,
          blobName: upload.blobName,
          blocks: stored as unknown as object,
          firstLsn: incoming.firstLsn,
          lastLsn: incoming.lastLsn,
          checkpointLsn: incoming.checkpointLsn,
          databaseBackupLsn: incoming.databaseBackupLsn,
          differentialBaseLsn: incoming.differentialBaseLsn ?? null,
          startTime: incoming.startTime,
          endTime: incoming.endTime,
          sizeBytes: BigInt(size),
          storedBytes: BigInt(stored.reduce((sum, b) => sum + b.storedBytes, 0)),
          sha256: metadata.sha256,
          files,
          isOnDemand: upload.isOnDemand,
          expiresAt: upload.expiresAt,
          createdAt: now,
        },
      });
      await tx.backupUpload.update({
        where: { id: upload.id, state: 'Open' },
        data: { state: 'Committed', recoveryPointId: id, updatedAt: now },
      });
      // The item healthy again, its chain whole again after a Full or a Log, and Protected after its first backup.
      const healsChain = metadata.backupType === 'Full' || metadata.backupType === 'Log';
      await tx.$executeRaw`
        UPDATE "ProtectedItem" SET "lastBackupTime" = ${incoming.endTime}, "lastBackupStatus" = 'Healthy', "lastBackupError" = NULL,
          "healthStatus" = 'Healthy', "chainBroken" = "chainBroken" AND NOT ${healsChain}, "updatedAt" = ${now},
          "protectionState" = CASE WHEN "protectionState" = 'IRPending' THEN 'Protected' ELSE "protectionState" END
        WHERE "id" = ${upload.protectedItemId}`;
      return { point: created, ended: upload.jobId === null ? [] : await finishJobIn(tx, upload.jobId, now) };
    });
    await announceJobs(app, ended);
    forgetUpload(app, upload.id);
    return point;
  } catch (error) {
    // No recovery point without its data, and no data deleted under a commit running alongside (an agent's retry):
    // one that won is the answer. An upload still open keeps its blob, whose block list the agent's retry commits
    // again (if none comes, the abandoned-upload sweep deletes it); one that ended otherwise (cancelled, failed,
    // purged) has no use for it.
    const current = await app.db.backupUpload.findUnique({ where: { id: upload.id } });
    if (current?.state === 'Committed') {
      const point =
        current.recoveryPointId === null
          ? null
          : await app.db.recoveryPoint.findUnique({ where: { id: current.recoveryPointId } });
      if (point !== null) return point;
      throw await uploadNotOpen(app, current);
    }
    if (current?.state === 'Open') throw error;
    await deleteBlob(vaultBlobs(app, upload.vaultId), upload.blobName);
    throw current === null ? uploadNotFound(upload.id) : await uploadNotOpen(app, current);
  }
}
