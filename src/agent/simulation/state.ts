/**
 * The reference agent's on-disk state under `--state-dir`, so a restarted agent continues exactly where it stopped:
 *
 * ```
 * <stateDir>/agent-state.json     this file's `AgentState` (JSON, written atomically: temp file + fsync + rename)
 * <stateDir>/images/<guid>.img    page images of restored databases (restore into `store.imagesDir`)
 * ```
 *
 * Per database it keeps the model that defines its whole history (seed/size/rate/start time, or a restored image +
 * write stream), the SQL-side backup chain (recovery model, differential base, where the next log starts), the
 * recovery-model changes, and the last backup of each type the agent itself took. Content is never stored: it is
 * recomputed from the model.
 *
 * Restored databases: a restore produces an image file; the restored database is a new incarnation whose base content
 * is that file (read-only) and which keeps receiving simulated writes from its own write stream (default rate 0), so
 * its hash at any later time is computable and it can be backed up like any other database. `addRestoredDatabase`
 * either creates a new database (alternate location) or, with `overwrite`, replaces an existing one's incarnation
 * (original location): new database GUID, same family GUID, backup chain reset (the next backup must be a Full).
 *
 * Spec changes (`syncWithSpec`): new databases are created (createdAt = the spec's `createdAt` or "now"); databases
 * gone from the spec are moved to `deletedDatabases`; a changed recovery model is applied as a switch at "now"; a
 * changed seed / sizeMiB / writesPerMinute / marker / explicit createdAt cannot rewrite history, so the database is
 * recreated (old incarnation deleted, a new one created at "now" — or at the explicit createdAt).
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { BackupMetadata, BackupType } from './backup.ts';
import { afterBackup, afterRecoveryModelChange, type BackupChainState, initialChainState } from './chain.ts';
import { type DatabaseModel, deriveGuid, type Instant, SimulatedDatabase, toMs } from './database.ts';
import { SimulationError } from './errors.ts';
import type { RestoreResult } from './restore.ts';
import type { FailoverRecord, RecoveryModel, VmSpec } from './spec.ts';

export const STATE_FILE = 'agent-state.json';
export const IMAGES_DIR = 'images';
export const STATE_VERSION = 1;

/** The spec values that define a database's history (a change means a new database). */
export interface SpecParams {
  seed: string;
  sizeMiB: number;
  writesPerMinute: number;
  marker?: string;
  /** Only when the spec gave one explicitly. */
  createdAt?: string;
}

export interface RestoredFrom {
  databaseGuid: string;
  familyGuid: string;
  databaseName?: string;
  pointInTime: string;
  restoredLsn: string;
  sha256: string;
  restoredAt: string;
}

export interface DatabaseRecord {
  instanceName: string;
  name: string;
  /** `spec`: declared in the VM spec; `restore`: created by an alternate-location restore. */
  origin: 'spec' | 'restore';
  specParams?: SpecParams;
  /** When this database (its current incarnation) came into existence (ISO). */
  createdAt: string;
  /** Defines the content history; an image `base.path` is relative to the state dir when inside it. */
  model: DatabaseModel;
  readOnly: boolean;
  /** SQL Server's view of the backup chain (includes the current recovery model). */
  chain: BackupChainState;
  recoveryModelChanges: Array<{ at: string; from: RecoveryModel; to: RecoveryModel }>;
  /** The last backup of each type the agent took for the vault (foreign backups only move `chain`). */
  lastBackups: Partial<Record<BackupType, BackupMetadata>>;
  /** Foreign backups recorded (newest last, at most 20), for diagnostics. */
  foreignBackups: BackupMetadata[];
  restoredFrom?: RestoredFrom;
  deletedAt?: string;
}

export interface AgentState {
  version: 1;
  /** Active databases, unique by (instanceName, name). */
  databases: DatabaseRecord[];
  /** Databases removed from the spec or recreated (kept for diagnostics). */
  deletedDatabases: DatabaseRecord[];
  /** Availability group failovers the agent was told of, one per group (absent in older state files). */
  failovers?: FailoverRecord[];
}

export function emptyState(): AgentState {
  return { version: STATE_VERSION, databases: [], deletedDatabases: [] };
}

function iso(t: Instant): string {
  return new Date(toMs(t)).toISOString();
}

export function databaseKey(instanceName: string, name: string): string {
  return `${instanceName}/${name}`;
}

export function findDatabase(state: AgentState, instanceName: string, name: string): DatabaseRecord | undefined {
  return state.databases.find((d) => d.instanceName === instanceName && d.name === name);
}

function requireDatabase(state: AgentState, instanceName: string, name: string): DatabaseRecord {
  const rec = findDatabase(state, instanceName, name);
  if (!rec) throw new SimulationError('InvalidRequest', `no database ${databaseKey(instanceName, name)}`);
  return rec;
}

// ---------------------------------------------------------------------------------------------------------------
// Pure state transitions (mutate the draft they are given; the store hands out drafts)

export interface SyncResult {
  added: string[];
  removed: string[];
  recreated: string[];
  recoveryModelChanged: string[];
}

function newSpecRecord(
  vmName: string,
  instanceName: string,
  db: VmSpec['instances'][number]['databases'][number],
  now: Instant,
): DatabaseRecord {
  const createdAt = iso(db.createdAt ?? now);
  const params: SpecParams = { seed: db.seed, sizeMiB: db.sizeMiB, writesPerMinute: db.writesPerMinute };
  if (db.marker !== undefined) params.marker = db.marker;
  if (db.createdAt !== undefined) params.createdAt = createdAt;
  // An availability group's database is one database on every replica: one GUID (as SQL Server's AG has it).
  const owner = db.availabilityGroup === undefined ? `${vmName}/${instanceName}` : `ag/${db.availabilityGroup}`;
  const guid = deriveGuid(`rv-sim/guid/${owner}/${db.name}/${db.seed}/${createdAt}`);
  const create = {
    seed: db.seed,
    sizeMiB: db.sizeMiB,
    writesPerMinute: db.writesPerMinute,
    createdAt,
    databaseGuid: guid,
  };
  const model = SimulatedDatabase.create(db.marker === undefined ? create : { ...create, marker: db.marker }).model;
  return {
    instanceName,
    name: db.name,
    origin: 'spec',
    specParams: params,
    createdAt,
    model,
    readOnly: db.readOnly,
    chain: initialChainState(db.recoveryModel),
    recoveryModelChanges: [],
    lastBackups: {},
    foreignBackups: [],
  };
}

function paramsDiffer(old: SpecParams | undefined, db: VmSpec['instances'][number]['databases'][number]): boolean {
  if (!old) return false;
  if (
    old.seed !== db.seed ||
    old.sizeMiB !== db.sizeMiB ||
    old.writesPerMinute !== db.writesPerMinute ||
    old.marker !== db.marker
  )
    return true;
  return db.createdAt !== undefined && old.createdAt !== db.createdAt.toISOString();
}

/** Brings the state in line with the spec (see the module comment). Mutates `state`. */
export function syncWithSpec(state: AgentState, spec: VmSpec, now: Instant): SyncResult {
  const result: SyncResult = { added: [], removed: [], recreated: [], recoveryModelChanged: [] };
  const wanted = new Set<string>();
  for (const instance of spec.instances) {
    for (const db of instance.databases) {
      const key = databaseKey(instance.name, db.name);
      wanted.add(key);
      const rec = findDatabase(state, instance.name, db.name);
      if (!rec) {
        state.databases.push(newSpecRecord(spec.vmName, instance.name, db, now));
        result.added.push(key);
        continue;
      }
      if (rec.origin === 'restore') {
        // A restored database the spec now declares: adopt it as it is.
        rec.origin = 'spec';
        rec.specParams = { seed: db.seed, sizeMiB: db.sizeMiB, writesPerMinute: db.writesPerMinute };
        if (db.marker !== undefined) rec.specParams.marker = db.marker;
      } else if (paramsDiffer(rec.specParams, db)) {
        deleteRecord(state, rec, now);
        state.databases.push(newSpecRecord(spec.vmName, instance.name, db, now));
        result.recreated.push(key);
        continue;
      }
      rec.readOnly = db.readOnly;
      if (rec.chain.recoveryModel !== db.recoveryModel) {
        setRecoveryModel(state, instance.name, db.name, db.recoveryModel, now);
        result.recoveryModelChanged.push(key);
      }
    }
  }
  for (const rec of [...state.databases]) {
    const key = databaseKey(rec.instanceName, rec.name);
    if (rec.origin === 'spec' && !wanted.has(key)) {
      deleteRecord(state, rec, now);
      result.removed.push(key);
    }
  }
  return result;
}

function deleteRecord(state: AgentState, rec: DatabaseRecord, now: Instant): void {
  state.databases = state.databases.filter((d) => d !== rec);
  rec.deletedAt = iso(now);
  state.deletedDatabases.push(rec);
  if (state.deletedDatabases.length > 100) state.deletedDatabases.splice(0, state.deletedDatabases.length - 100);
}

/** `ALTER DATABASE ... SET RECOVERY` at `at`. Mutates `state`. */
export function setRecoveryModel(
  state: AgentState,
  instanceName: string,
  name: string,
  model: RecoveryModel,
  at: Instant,
): void {
  const rec = requireDatabase(state, instanceName, name);
  const from = rec.chain.recoveryModel;
  if (from === model) return;
  rec.chain = afterRecoveryModelChange(rec.chain, model);
  rec.recoveryModelChanges.push({ at: iso(at), from, to: model });
}

/**
 * Records a completed backup: moves the SQL-side chain; a vault backup also becomes `lastBackups[type]`.
 * Mutates `state`.
 */
export function recordBackup(
  state: AgentState,
  instanceName: string,
  name: string,
  metadata: BackupMetadata,
  options: { foreign?: boolean } = {},
): void {
  const rec = requireDatabase(state, instanceName, name);
  if (metadata.databaseGuid !== rec.model.databaseGuid) {
    throw new SimulationError(
      'InvalidRequest',
      `backup of database ${metadata.databaseGuid} recorded on ${databaseKey(instanceName, name)} (${rec.model.databaseGuid})`,
    );
  }
  rec.chain = afterBackup(rec.chain, metadata);
  if (options.foreign) {
    rec.foreignBackups.push(metadata);
    if (rec.foreignBackups.length > 20) rec.foreignBackups.splice(0, rec.foreignBackups.length - 20);
  } else {
    rec.lastBackups[metadata.type] = metadata;
  }
}

/** A failover of `record.group`: replaces the group's earlier one. */
export function recordFailover(state: AgentState, record: FailoverRecord): void {
  state.failovers = [
    ...(state.failovers ?? []).filter((f) => f.group.toLowerCase() !== record.group.toLowerCase()),
    record,
  ];
}

export interface AddRestoredOptions {
  instanceName: string;
  name: string;
  restore: RestoreResult;
  /** When the restored database came online; its writes (if any) start one period later. */
  restoredAt: Instant;
  /** Simulated writes on the restored database. Default: the replaced database's rate (overwrite) or 0. */
  writesPerMinute?: number;
  /** Default: the replaced database's (overwrite) or FULL. */
  recoveryModel?: RecoveryModel;
  /** Replace an existing database of that name (original-location restore with overwrite). */
  overwrite?: boolean;
  /** The state dir, to store the image path relative to it. */
  stateDir?: string;
}

/**
 * Registers a restored database (see the module comment). Throws `InvalidRequest` if the name exists and `overwrite`
 * is not set (the agent reports `UserErrorCannotRestoreExistingDBWithoutForceOverwrite`). Mutates `state`.
 */
export function addRestoredDatabase(state: AgentState, options: AddRestoredOptions): DatabaseRecord {
  const existing = findDatabase(state, options.instanceName, options.name);
  if (existing && !options.overwrite) {
    throw new SimulationError(
      'InvalidRequest',
      `database ${databaseKey(options.instanceName, options.name)} already exists and overwrite was not requested`,
    );
  }
  const r = options.restore;
  const restoredAt = iso(options.restoredAt);
  const guid = deriveGuid(
    `rv-sim/restore/${options.instanceName}/${options.name}/${r.databaseGuid}/${r.restoredLsn}/${restoredAt}`,
  );
  let path = r.imagePath;
  if (options.stateDir) {
    const rel = relative(resolve(options.stateDir), resolve(path));
    if (!rel.startsWith('..') && !isAbsolute(rel)) path = rel.split(sep).join('/');
  }
  const db = SimulatedDatabase.fromImage({
    path,
    sha256: r.sha256,
    pageCount: r.pageCount,
    lsn: r.restoredLsn,
    familyGuid: r.familyGuid,
    databaseGuid: guid,
    writeSeed: `rv-sim/restored/${guid}`,
    writesPerMinute: options.writesPerMinute ?? existing?.model.writes.writesPerMinute ?? 0,
    startTime: restoredAt,
  });
  const restoredFrom: RestoredFrom = {
    databaseGuid: r.databaseGuid,
    familyGuid: r.familyGuid,
    pointInTime: r.pointInTime,
    restoredLsn: r.restoredLsn,
    sha256: r.sha256,
    restoredAt,
  };
  if (r.databaseName !== undefined) restoredFrom.databaseName = r.databaseName;
  const recoveryModel = options.recoveryModel ?? existing?.chain.recoveryModel ?? 'FULL';
  const record: DatabaseRecord = {
    instanceName: options.instanceName,
    name: options.name,
    origin: existing?.origin ?? 'restore',
    createdAt: restoredAt,
    model: db.model,
    readOnly: false,
    chain: initialChainState(recoveryModel),
    recoveryModelChanges: [],
    lastBackups: {},
    foreignBackups: [],
    restoredFrom,
  };
  if (existing?.specParams) record.specParams = existing.specParams;
  if (existing) {
    state.databases = state.databases.filter((d) => d !== existing);
    existing.deletedAt = restoredAt;
    state.deletedDatabases.push(existing);
  }
  state.databases.push(record);
  return record;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation of what is read back

function checkState(value: unknown, file: string): AgentState {
  const bad = (m: string) => new SimulationError('InvalidState', `${file}: ${m}`);
  if (typeof value !== 'object' || value === null) throw bad('not a JSON object');
  const s = value as Partial<AgentState>;
  if (s.version !== STATE_VERSION)
    throw bad(`unsupported state version ${String(s.version)} (expected ${STATE_VERSION})`);
  if (!Array.isArray(s.databases) || !Array.isArray(s.deletedDatabases))
    throw bad('databases/deletedDatabases must be arrays');
  for (const [i, d] of s.databases.entries()) {
    if (
      typeof d?.instanceName !== 'string' ||
      typeof d.name !== 'string' ||
      typeof d.model !== 'object' ||
      typeof d.chain !== 'object'
    ) {
      throw bad(`databases[${i}] is malformed`);
    }
    try {
      new SimulatedDatabase(d.model);
    } catch (e) {
      throw bad(`databases[${i}].model: ${(e as Error).message}`);
    }
  }
  return s as AgentState;
}

// ---------------------------------------------------------------------------------------------------------------
// The store

/**
 * Loads, holds and atomically saves the state. All changes go through `update`, which runs one at a time (calls are
 * queued), gives the callback a draft copy, and swaps it in only after it was written to disk.
 */
export class AgentStateStore {
  private current: AgentState;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly cache = new Map<string, SimulatedDatabase>();

  private constructor(
    readonly stateDir: string,
    state: AgentState,
  ) {
    this.current = state;
  }

  /** Opens (creating if needed) the state under `stateDir`. */
  static async open(stateDir: string): Promise<AgentStateStore> {
    const dir = resolve(stateDir);
    await mkdir(join(dir, IMAGES_DIR), { recursive: true });
    const file = join(dir, STATE_FILE);
    let state: AgentState;
    try {
      const text = await readFile(file, 'utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new SimulationError('InvalidState', `${file}: not valid JSON`);
      }
      state = checkState(json, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      state = emptyState();
    }
    // Leftovers of a write interrupted by a crash.
    for (const name of await readdir(dir))
      if (name.startsWith(`${STATE_FILE}.tmp-`)) await rm(join(dir, name), { force: true });
    return new AgentStateStore(dir, state);
  }

  get statePath(): string {
    return join(this.stateDir, STATE_FILE);
  }

  /** Where restores should put images (`restoreDatabase({ targetDir: store.imagesDir })`). */
  get imagesDir(): string {
    return join(this.stateDir, IMAGES_DIR);
  }

  /** The current state. Treat it as read-only; change it through `update`. */
  get state(): AgentState {
    return this.current;
  }

  /** Applies `change` to a draft copy, saves it atomically, then makes it current. Returns the callback's result. */
  update<T>(change: (draft: AgentState) => T): Promise<T> {
    const run = async () => {
      const draft = structuredClone(this.current);
      const result = change(draft);
      checkState(JSON.parse(JSON.stringify(draft)), this.statePath);
      await this.write(draft);
      this.current = draft;
      return result;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }

  private async write(state: AgentState): Promise<void> {
    const tmp = `${this.statePath}.tmp-${process.pid}-${Date.now()}`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(`${JSON.stringify(state, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.statePath);
    try {
      const dir = await open(this.stateDir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch {
      // Directory fsync is best-effort (not supported everywhere).
    }
  }

  /** The simulated database of a record (image paths resolved against the state dir). Cached per incarnation. */
  database(record: DatabaseRecord): SimulatedDatabase {
    const key = `${record.model.databaseGuid}:${record.model.writes.startTime}`;
    let db = this.cache.get(key);
    if (!db) {
      const model = structuredClone(record.model);
      if (model.base.kind === 'image' && !isAbsolute(model.base.path))
        model.base.path = join(this.stateDir, model.base.path);
      db = new SimulatedDatabase(model);
      this.cache.set(key, db);
    }
    return db;
  }

  /** Deletes images in `images/` that no active database uses. Returns the removed file names. */
  async pruneImages(): Promise<string[]> {
    const used = new Set<string>();
    for (const d of this.current.databases) {
      if (d.model.base.kind === 'image') {
        const p = isAbsolute(d.model.base.path) ? d.model.base.path : join(this.stateDir, d.model.base.path);
        used.add(resolve(p));
      }
    }
    const removed: string[] = [];
    for (const name of await readdir(this.imagesDir)) {
      const p = resolve(join(this.imagesDir, name));
      if (!used.has(p) && !name.includes('.partial-')) {
        await rm(p, { force: true });
        removed.push(name);
      }
    }
    return removed;
  }
}
