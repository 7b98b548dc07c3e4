/**
 * The VM spec the reference agent simulates (issue 3, point 5): a VM, its SQL Server instances and their databases.
 *
 * `parseVmSpec` validates the JSON *shape* strictly — unknown fields, wrong types and impossible values are errors
 * naming the field path, so typos fail loudly — and fills in defaults. It deliberately does NOT apply Azure's
 * protectability rules (unsupported versions, Linux, FCIs, snapshots, > 1000 files, long paths, names Azure rejects,
 * case-only duplicate names, VM + RG name length): those are things discovery must *report*, so a spec has to be able
 * to express them.
 *
 * ```json
 * { "vmName": "sqlvm1", "resourceGroup": "sql-rg", "os": "WindowsServer2019",
 *   "instances": [ { "name": "MSSQLSERVER", "version": "2019", "edition": "Enterprise", "pluginIsSysadmin": true,
 *     "databases": [ { "name": "sales", "recoveryModel": "FULL", "sizeMiB": 64, "files": 2, "writesPerMinute": 600 } ] } ] }
 * ```
 */
import { SpecError } from './errors.ts';
import { isLinuxOs } from '../../protocol/agent.ts';

export const RECOVERY_MODELS = ['FULL', 'SIMPLE', 'BULK_LOGGED'] as const;
export type RecoveryModel = (typeof RECOVERY_MODELS)[number];

/** `sys.databases.state_desc` values. */
export const DATABASE_STATES = [
  'ONLINE',
  'RESTORING',
  'RECOVERING',
  'RECOVERY_PENDING',
  'SUSPECT',
  'EMERGENCY',
  'OFFLINE',
  'COPYING',
  'OFFLINE_SECONDARY',
] as const;
export type DatabaseState = (typeof DATABASE_STATES)[number];

export type DatabaseFileType = 'Data' | 'Log';

export interface DatabaseFile {
  logicalName: string;
  type: DatabaseFileType;
  path: string;
}

export interface DatabaseSpec {
  name: string;
  recoveryModel: RecoveryModel;
  /** Size of the simulated data (page image) in MiB; whole MiB, 1 ... 1 048 576. Default 16. */
  sizeMiB: number;
  /** Number of database files (data + log), = `filePaths.length`. Default 2 (one .mdf, one .ldf). */
  files: number;
  /** Transactions per minute, integer 0 ... 60 000. Default 60, or 0 for a read-only database. */
  writesPerMinute: number;
  /** Seed of the deterministic content. Default `${vmName}/${instanceName}/${databaseName}`. */
  seed: string;
  readOnly: boolean;
  state: DatabaseState;
  /** A database snapshot (`CREATE DATABASE ... AS SNAPSHOT OF`); Azure cannot protect these. */
  isSnapshot: boolean;
  /** The mirror side of a database-mirroring pair. */
  isMirror: boolean;
  /** A plaintext string planted in page 0 of the content (tests look for it in stored blobs). */
  marker?: string;
  /** When the database was created; absent = "when the agent first saw it" (recorded in the state dir). */
  createdAt?: Date;
  dataDirectory: string;
  logDirectory: string;
  /** Every file: explicit (`filePaths` in the JSON) or generated from the directories and `files`. */
  filePaths: DatabaseFile[];
}

export interface InstanceSpec {
  name: string;
  /** As written in the spec, e.g. "2019", "2008 R2" (a number in the JSON is turned into its string). */
  version: string;
  edition: string;
  pluginIsSysadmin: boolean;
  isFailoverClusterInstance: boolean;
  dataDirectory: string;
  logDirectory: string;
  databases: DatabaseSpec[];
}

export interface VmSpec {
  vmName: string;
  resourceGroup: string;
  os: string;
  instances: InstanceSpec[];
}

export const SPEC_DEFAULTS = {
  os: 'WindowsServer2019',
  version: '2019',
  edition: 'Enterprise',
  pluginIsSysadmin: true,
  recoveryModel: 'FULL' as RecoveryModel,
  sizeMiB: 16,
  files: 2,
  writesPerMinute: 60,
  state: 'ONLINE' as DatabaseState,
} as const;

export const SPEC_LIMITS = {
  maxSizeMiB: 1_048_576,
  maxWritesPerMinute: 60_000,
  /** SQL Server's own limit of files per database (Azure's limit, 1000, is for discovery to report). */
  maxFiles: 32_767,
  maxMarkerBytes: 1024,
} as const;

const SQL_MAJOR: Record<string, string> = {
  '2008': 'MSSQL10',
  '2008 R2': 'MSSQL10_50',
  '2008R2': 'MSSQL10_50',
  '2012': 'MSSQL11',
  '2014': 'MSSQL12',
  '2016': 'MSSQL13',
  '2017': 'MSSQL14',
  '2019': 'MSSQL15',
  '2022': 'MSSQL16',
  '2025': 'MSSQL17',
};

// One definition of "Linux" for the vault and the simulated VM alike.
export { isLinuxOs };

/** SQL Server's default data directory for an instance, e.g. `C:\Program Files\Microsoft SQL Server\MSSQL15.MSSQLSERVER\MSSQL\DATA`. */
export function defaultDataDirectory(os: string, version: string, instanceName: string): string {
  if (isLinuxOs(os)) return '/var/opt/mssql/data';
  const major = SQL_MAJOR[version.trim()] ?? 'MSSQL';
  return `C:\\Program Files\\Microsoft SQL Server\\${major}.${instanceName}\\MSSQL\\DATA`;
}

function joinPath(dir: string, file: string): string {
  const sep = dir.includes('/') && !dir.includes('\\') ? '/' : '\\';
  return dir.endsWith(sep) ? `${dir}${file}` : `${dir}${sep}${file}`;
}

/** SQL Server's default file layout: `<db>.mdf`, `<db>_1.ndf` ..., and one `<db>_log.ldf`. */
export function defaultFilePaths(
  dbName: string,
  files: number,
  dataDirectory: string,
  logDirectory: string,
): DatabaseFile[] {
  const out: DatabaseFile[] = [{ logicalName: dbName, type: 'Data', path: joinPath(dataDirectory, `${dbName}.mdf`) }];
  for (let k = 1; k < files - 1; k++) {
    out.push({ logicalName: `${dbName}_${k}`, type: 'Data', path: joinPath(dataDirectory, `${dbName}_${k}.ndf`) });
  }
  out.push({ logicalName: `${dbName}_log`, type: 'Log', path: joinPath(logDirectory, `${dbName}_log.ldf`) });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The parser: small typed readers that know the path of what they read.

type Json = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function object(value: unknown, path: string, allowed: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SpecError(path, `expected an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new SpecError(join(path, key), `unknown field (allowed: ${allowed.join(', ')})`);
    }
  }
  return value as Json;
}

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function string(obj: Json, key: string, path: string, fallback?: string): string {
  const value = obj[key];
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new SpecError(join(path, key), 'is required');
  }
  if (typeof value !== 'string') throw new SpecError(join(path, key), `expected a string, got ${describe(value)}`);
  if (value.length === 0) throw new SpecError(join(path, key), 'must not be empty');
  if (hasControlChars(value)) throw new SpecError(join(path, key), 'must not contain control characters');
  return value;
}

function optionalString(obj: Json, key: string, path: string): string | undefined {
  return obj[key] === undefined ? undefined : string(obj, key, path);
}

function boolean(obj: Json, key: string, path: string, fallback: boolean): boolean {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new SpecError(join(path, key), `expected true or false, got ${describe(value)}`);
  return value;
}

function integer(obj: Json, key: string, path: string, fallback: number, min: number, max: number): number {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new SpecError(join(path, key), `expected an integer, got ${describe(value)}`);
  }
  if (value < min || value > max)
    throw new SpecError(join(path, key), `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(obj: Json, key: string, path: string, allowed: readonly T[], fallback: T): T {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new SpecError(join(path, key), `expected one of ${allowed.join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

function array(obj: Json, key: string, path: string, required: boolean): unknown[] {
  const value = obj[key];
  if (value === undefined) {
    if (required) throw new SpecError(join(path, key), 'is required');
    return [];
  }
  if (!Array.isArray(value)) throw new SpecError(join(path, key), `expected an array, got ${describe(value)}`);
  return value;
}

const VM_FIELDS = ['vmName', 'resourceGroup', 'os', 'instances'] as const;
const INSTANCE_FIELDS = [
  'name',
  'version',
  'edition',
  'pluginIsSysadmin',
  'isFailoverClusterInstance',
  'dataDirectory',
  'logDirectory',
  'databases',
] as const;
const DATABASE_FIELDS = [
  'name',
  'recoveryModel',
  'sizeMiB',
  'files',
  'writesPerMinute',
  'seed',
  'readOnly',
  'state',
  'isSnapshot',
  'isMirror',
  'marker',
  'createdAt',
  'dataDirectory',
  'logDirectory',
  'filePaths',
] as const;
const FILE_FIELDS = ['logicalName', 'type', 'path'] as const;

/**
 * Validates and normalises a VM spec (the parsed JSON of `--spec vm.json`). Throws a `SpecError` whose message
 * starts with the path of the bad field, e.g. `instances[0].databases[0].recoveryModel: expected one of ...`.
 */
export function parseVmSpec(json: unknown): VmSpec {
  const root = object(json, '', VM_FIELDS);
  const vmName = string(root, 'vmName', '');
  const resourceGroup = string(root, 'resourceGroup', '');
  const os = string(root, 'os', '', SPEC_DEFAULTS.os);
  const instancesJson = array(root, 'instances', '', true);
  const seenInstances = new Map<string, number>();
  const instances = instancesJson.map((value, i) => {
    const path = join('instances', i);
    const instance = parseInstance(value, path, vmName, os);
    const key = instance.name.toUpperCase();
    const previous = seenInstances.get(key);
    if (previous !== undefined) {
      throw new SpecError(
        join(path, 'name'),
        `duplicate instance name (same as instances[${previous}]; instance names are case-insensitive)`,
      );
    }
    seenInstances.set(key, i);
    return instance;
  });
  return { vmName, resourceGroup, os, instances };
}

function parseInstance(value: unknown, path: string, vmName: string, os: string): InstanceSpec {
  const obj = object(value, path, INSTANCE_FIELDS);
  const name = string(obj, 'name', path);
  let version: string;
  if (typeof obj.version === 'number') {
    if (!Number.isInteger(obj.version))
      throw new SpecError(join(path, 'version'), `expected a version such as "2019", got ${obj.version}`);
    version = String(obj.version);
  } else {
    version = string(obj, 'version', path, SPEC_DEFAULTS.version);
  }
  const edition = string(obj, 'edition', path, SPEC_DEFAULTS.edition);
  const pluginIsSysadmin = boolean(obj, 'pluginIsSysadmin', path, SPEC_DEFAULTS.pluginIsSysadmin);
  const isFailoverClusterInstance = boolean(obj, 'isFailoverClusterInstance', path, false);
  const dataDirectory = string(obj, 'dataDirectory', path, defaultDataDirectory(os, version, name));
  const logDirectory = string(obj, 'logDirectory', path, dataDirectory);
  const seen = new Map<string, number>();
  const databases = array(obj, 'databases', path, false).map((db, i) => {
    const dbPath = join(join(path, 'databases'), i);
    const parsed = parseDatabase(db, dbPath, { vmName, instanceName: name, dataDirectory, logDirectory });
    // Exact duplicates are impossible in SQL Server; case-only duplicates are allowed (Azure rejects them: discovery's job).
    const previous = seen.get(parsed.name);
    if (previous !== undefined)
      throw new SpecError(join(dbPath, 'name'), `duplicate database name (same as databases[${previous}])`);
    seen.set(parsed.name, i);
    return parsed;
  });
  return {
    name,
    version,
    edition,
    pluginIsSysadmin,
    isFailoverClusterInstance,
    dataDirectory,
    logDirectory,
    databases,
  };
}

function parseDatabase(
  value: unknown,
  path: string,
  ctx: { vmName: string; instanceName: string; dataDirectory: string; logDirectory: string },
): DatabaseSpec {
  const obj = object(value, path, DATABASE_FIELDS);
  const name = string(obj, 'name', path);
  const recoveryModel = oneOf(obj, 'recoveryModel', path, RECOVERY_MODELS, SPEC_DEFAULTS.recoveryModel);
  const sizeMiB = integer(obj, 'sizeMiB', path, SPEC_DEFAULTS.sizeMiB, 1, SPEC_LIMITS.maxSizeMiB);
  const readOnly = boolean(obj, 'readOnly', path, false);
  const writesPerMinute = integer(
    obj,
    'writesPerMinute',
    path,
    readOnly ? 0 : SPEC_DEFAULTS.writesPerMinute,
    0,
    SPEC_LIMITS.maxWritesPerMinute,
  );
  if (readOnly && writesPerMinute > 0) {
    throw new SpecError(
      join(path, 'writesPerMinute'),
      'a read-only database cannot have writes (use 0 or leave it out)',
    );
  }
  const seed = string(obj, 'seed', path, `${ctx.vmName}/${ctx.instanceName}/${name}`);
  const state = oneOf(obj, 'state', path, DATABASE_STATES, SPEC_DEFAULTS.state);
  const isSnapshot = boolean(obj, 'isSnapshot', path, false);
  const isMirror = boolean(obj, 'isMirror', path, false);
  const marker = optionalString(obj, 'marker', path);
  if (marker !== undefined && Buffer.byteLength(marker) > SPEC_LIMITS.maxMarkerBytes) {
    throw new SpecError(join(path, 'marker'), `must be at most ${SPEC_LIMITS.maxMarkerBytes} bytes of UTF-8`);
  }
  let createdAt: Date | undefined;
  if (obj.createdAt !== undefined) {
    const text = string(obj, 'createdAt', path);
    const ms = Date.parse(text);
    if (!/^\d{4}-\d\d-\d\dT/.test(text) || Number.isNaN(ms)) {
      throw new SpecError(
        join(path, 'createdAt'),
        `expected an ISO 8601 date-time such as "2024-01-01T00:00:00Z", got ${describe(text)}`,
      );
    }
    createdAt = new Date(ms);
  }
  const dataDirectory = string(obj, 'dataDirectory', path, ctx.dataDirectory);
  const logDirectory = string(obj, 'logDirectory', path, ctx.logDirectory);

  let files: number;
  let filePaths: DatabaseFile[];
  if (obj.filePaths !== undefined) {
    const list = array(obj, 'filePaths', path, true);
    filePaths = list.map((f, i) => parseFile(f, join(join(path, 'filePaths'), i)));
    if (!filePaths.some((f) => f.type === 'Data'))
      throw new SpecError(join(path, 'filePaths'), 'needs at least one Data file');
    if (!filePaths.some((f) => f.type === 'Log'))
      throw new SpecError(join(path, 'filePaths'), 'needs at least one Log file');
    files = integer(obj, 'files', path, filePaths.length, 2, SPEC_LIMITS.maxFiles);
    if (files !== filePaths.length) {
      throw new SpecError(join(path, 'files'), `is ${files} but filePaths lists ${filePaths.length} files`);
    }
  } else {
    files = integer(obj, 'files', path, SPEC_DEFAULTS.files, 2, SPEC_LIMITS.maxFiles);
    filePaths = defaultFilePaths(name, files, dataDirectory, logDirectory);
  }
  const spec: DatabaseSpec = {
    name,
    recoveryModel,
    sizeMiB,
    files,
    writesPerMinute,
    seed,
    readOnly,
    state,
    isSnapshot,
    isMirror,
    dataDirectory,
    logDirectory,
    filePaths,
  };
  if (marker !== undefined) spec.marker = marker;
  if (createdAt !== undefined) spec.createdAt = createdAt;
  return spec;
}

function missing(path: string): never {
  throw new SpecError(path, 'is required');
}

function parseFile(value: unknown, path: string): DatabaseFile {
  const obj = object(value, path, FILE_FIELDS);
  return {
    logicalName: string(obj, 'logicalName', path),
    type:
      obj.type === undefined ? missing(join(path, 'type')) : oneOf(obj, 'type', path, ['Data', 'Log'] as const, 'Data'),
    path: string(obj, 'path', path),
  };
}
