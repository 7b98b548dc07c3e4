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
 *     "databases": [ { "name": "sales", "recoveryModel": "FULL", "sizeMiB": 64, "files": 2, "writesPerMinute": 600 } ] } ],
 *   "availabilityGroups": [ { "name": "ag1", "backupPreference": "SecondaryOnly", "createdAt": "2026-01-01T00:00:00Z",
 *     "replicas": [ { "vmName": "sqlvm1", "role": "Primary" }, { "vmName": "sqlvm2", "role": "Secondary" } ],
 *     "databases": [ "sales" ] } ] }
 * ```
 */
import { createHash } from 'node:crypto';
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
  /** The availability group the database belongs to (set from the VM's `availabilityGroups`). */
  availabilityGroup?: string;
}

export interface InstanceSpec {
  name: string;
  /** As written in the spec, e.g. "2019", "2008 R2" (a number in the JSON is turned into its string). */
  version: string;
  edition: string;
  pluginIsSysadmin: boolean;
  /** `NT AUTHORITY\\SYSTEM` is a login of the instance (discovery connects as it); default true. */
  systemLogin: boolean;
  /**
   * That login has the sysadmin role (default false): Azure's set-up for SQL Server 2008 and 2008 R2, whose
   * discovery is refused without it.
   */
  systemIsSysadmin: boolean;
  isFailoverClusterInstance: boolean;
  dataDirectory: string;
  logDirectory: string;
  databases: DatabaseSpec[];
}

/** SQL Server's `AUTOMATED_BACKUP_PREFERENCE` of an availability group (SMO's names; `None` is "Any replica"). */
export const BACKUP_PREFERENCES = ['Primary', 'SecondaryOnly', 'Secondary', 'None'] as const;
export type BackupPreference = (typeof BACKUP_PREFERENCES)[number];

export const REPLICA_ROLES = ['Primary', 'Secondary'] as const;
export type ReplicaRole = (typeof REPLICA_ROLES)[number];

export interface ReplicaSpec {
  /** The VM (each VM is an agent of its own) and the SQL instance the replica runs on. */
  vmName: string;
  instance: string;
  role: ReplicaRole;
}

/**
 * An Always On availability group as every replica's SQL Server sees it (`sys.availability_groups`,
 * `sys.availability_replicas`): each VM's spec carries the whole group, and the local replica (this VM's entry)
 * says which instance hosts the group's databases here. A failover rewrites the roles in every replica's spec
 * (`failover`).
 */
export interface AvailabilityGroupSpec {
  name: string;
  /** `sys.availability_groups.group_id`; default: derived from the name (the same on every replica). */
  groupId: string;
  backupPreference: BackupPreference;
  /** A Basic availability group (Standard edition; Azure Backup refuses its databases). */
  basic: boolean;
  replicas: ReplicaSpec[];
  /** The group's databases, by name, in the local replica's instance. */
  databases: string[];
  /**
   * When the group's databases were created. Every replica's copy must have the same history (same seed, rate and
   * start), so their default seed is `ag/<group>/<db>` and their default createdAt this time.
   */
  createdAt: Date;
}

export interface VmSpec {
  vmName: string;
  resourceGroup: string;
  os: string;
  instances: InstanceSpec[];
  availabilityGroups: AvailabilityGroupSpec[];
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

const VM_FIELDS = ['vmName', 'resourceGroup', 'os', 'instances', 'availabilityGroups'] as const;
const AG_FIELDS = ['name', 'groupId', 'backupPreference', 'basic', 'replicas', 'databases', 'createdAt'] as const;
const REPLICA_FIELDS = ['vmName', 'instance', 'role'] as const;
const INSTANCE_FIELDS = [
  'name',
  'version',
  'edition',
  'pluginIsSysadmin',
  'systemLogin',
  'systemIsSysadmin',
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
  const groups = array(root, 'availabilityGroups', '', false).map((value, i) =>
    parseAvailabilityGroup(value, join('availabilityGroups', i), vmName),
  );
  const groupOf = new Map<string, AvailabilityGroupSpec>();
  for (const group of groups) {
    const local = localReplica(group, vmName)!;
    for (const db of group.databases) groupOf.set(`${local.instance.toUpperCase()}/${db}`, group);
  }
  const seenInstances = new Map<string, number>();
  const instances = instancesJson.map((value, i) => {
    const path = join('instances', i);
    const instance = parseInstance(value, path, vmName, os, groupOf);
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
  checkAvailabilityGroups(groups, vmName, instances);
  return { vmName, resourceGroup, os, instances, availabilityGroups: groups };
}

/** This VM's replica of the group (parseVmSpec makes sure there is exactly one). */
export function localReplica(group: AvailabilityGroupSpec, vmName: string): ReplicaSpec | undefined {
  return group.replicas.find((r) => r.vmName.toLowerCase() === vmName.toLowerCase());
}

/** A GUID-shaped id derived from text (the same on every replica that derives it). */
function derivedGroupId(name: string): string {
  const h = createHash('sha256').update(`rv-sim/ag/${name.toLowerCase()}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function parseAvailabilityGroup(value: unknown, path: string, vmName: string): AvailabilityGroupSpec {
  const obj = object(value, path, AG_FIELDS);
  const name = string(obj, 'name', path);
  const groupId = string(obj, 'groupId', path, derivedGroupId(name));
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(groupId))
    throw new SpecError(join(path, 'groupId'), `expected a GUID, got ${describe(groupId)}`);
  const backupPreference = oneOf(obj, 'backupPreference', path, BACKUP_PREFERENCES, 'Secondary');
  const basic = boolean(obj, 'basic', path, false);
  const replicas = array(obj, 'replicas', path, true).map((r, i) => {
    const rPath = join(join(path, 'replicas'), i);
    const replica = object(r, rPath, REPLICA_FIELDS);
    return {
      vmName: string(replica, 'vmName', rPath),
      instance: string(replica, 'instance', rPath, 'MSSQLSERVER'),
      role:
        replica.role === undefined
          ? missing(join(rPath, 'role'))
          : oneOf(replica, 'role', rPath, REPLICA_ROLES, 'Secondary'),
    };
  });
  const vms = new Set(replicas.map((r) => r.vmName.toLowerCase()));
  if (vms.size !== replicas.length) throw new SpecError(join(path, 'replicas'), 'lists a VM twice');
  if (replicas.filter((r) => r.role === 'Primary').length !== 1)
    throw new SpecError(join(path, 'replicas'), 'needs exactly one Primary replica');
  // SQL Server: a Basic availability group has exactly two replicas.
  if (basic && replicas.length !== 2) throw new SpecError(join(path, 'replicas'), 'a Basic group has two replicas');
  if (!vms.has(vmName.toLowerCase()))
    throw new SpecError(join(path, 'replicas'), `does not list this VM ('${vmName}')`);
  const databases = array(obj, 'databases', path, false).map((d, i) => {
    if (typeof d !== 'string' || d.length === 0)
      throw new SpecError(join(join(path, 'databases'), i), `expected a database name, got ${describe(d)}`);
    return d;
  });
  const createdAt = dateTime(obj, 'createdAt', path);
  if (createdAt === undefined) missing(join(path, 'createdAt'));
  return { name, groupId, backupPreference, basic, replicas, databases, createdAt };
}

/** Each group's databases exist in its local instance; a database belongs to one group; group names are unique. */
function checkAvailabilityGroups(groups: AvailabilityGroupSpec[], vmName: string, instances: InstanceSpec[]): void {
  const names = new Set<string>();
  groups.forEach((group, i) => {
    const path = join('availabilityGroups', i);
    if (names.has(group.name.toLowerCase())) throw new SpecError(join(path, 'name'), 'duplicate group name');
    names.add(group.name.toLowerCase());
    const local = localReplica(group, vmName)!;
    const instance = instances.find((x) => x.name.toUpperCase() === local.instance.toUpperCase());
    if (!instance) throw new SpecError(join(path, 'replicas'), `this VM has no instance '${local.instance}'`);
    group.databases.forEach((db, k) => {
      const spec = instance.databases.find((d) => d.name === db);
      if (!spec)
        throw new SpecError(join(join(path, 'databases'), k), `instance '${instance.name}' has no database '${db}'`);
      if (spec.availabilityGroup !== group.name)
        throw new SpecError(join(join(path, 'databases'), k), `'${db}' belongs to another group`);
    });
  });
}

/**
 * A failover of `group` to the replica on `newPrimaryVm`, as one VM's spec sees it afterwards: the roles change,
 * nothing else. Apply it to every replica's spec (the agents re-read their spec at each discovery and backup).
 */
export function failover(spec: VmSpec, group: string, newPrimaryVm: string): VmSpec {
  const target = spec.availabilityGroups.find((g) => g.name.toLowerCase() === group.toLowerCase());
  if (!target) throw new SpecError('availabilityGroups', `no group '${group}'`);
  if (!target.replicas.some((r) => r.vmName.toLowerCase() === newPrimaryVm.toLowerCase()))
    throw new SpecError('availabilityGroups', `group '${group}' has no replica on '${newPrimaryVm}'`);
  return {
    ...spec,
    availabilityGroups: spec.availabilityGroups.map((g) =>
      g !== target
        ? g
        : {
            ...g,
            replicas: g.replicas.map((r) => ({
              ...r,
              role: r.vmName.toLowerCase() === newPrimaryVm.toLowerCase() ? 'Primary' : 'Secondary',
            })),
          },
    ),
  };
}

/**
 * A failover the agent was told of (the emulator's failover control, a `failover` command): the group's new primary,
 * and the primary the spec named then. It holds while the spec still names that primary; once the spec's roles
 * change (an edited spec file is a later event), the spec wins again.
 */
export interface FailoverRecord {
  group: string;
  primary: string;
  specPrimary: string;
}

/** The group's primary VM as a spec says it. */
export function primaryOf(spec: VmSpec, group: string): string | undefined {
  return spec.availabilityGroups
    .find((g) => g.name.toLowerCase() === group.toLowerCase())
    ?.replicas.find((r) => r.role === 'Primary')?.vmName;
}

/** The spec as the VM's SQL Server sees it after the failovers it was told of (those the spec has not overtaken). */
export function withFailovers(spec: VmSpec, failovers: readonly FailoverRecord[]): VmSpec {
  return failovers.reduce((current, f) => {
    const stated = primaryOf(spec, f.group);
    if (stated === undefined || stated.toLowerCase() !== f.specPrimary.toLowerCase()) return current;
    try {
      return failover(current, f.group, f.primary);
    } catch {
      return current; // the replica left the group in the spec since: the spec wins
    }
  }, spec);
}

function parseInstance(
  value: unknown,
  path: string,
  vmName: string,
  os: string,
  groupOf: Map<string, AvailabilityGroupSpec>,
): InstanceSpec {
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
  const systemLogin = boolean(obj, 'systemLogin', path, true);
  const systemIsSysadmin = boolean(obj, 'systemIsSysadmin', path, false);
  if (systemIsSysadmin && !systemLogin)
    throw new SpecError(join(path, 'systemIsSysadmin'), 'needs the login: systemLogin is false');
  const isFailoverClusterInstance = boolean(obj, 'isFailoverClusterInstance', path, false);
  const dataDirectory = string(obj, 'dataDirectory', path, defaultDataDirectory(os, version, name));
  const logDirectory = string(obj, 'logDirectory', path, dataDirectory);
  const seen = new Map<string, number>();
  const databases = array(obj, 'databases', path, false).map((db, i) => {
    const dbPath = join(join(path, 'databases'), i);
    const group =
      typeof db === 'object' && db !== null ? groupOf.get(`${name.toUpperCase()}/${(db as Json).name}`) : undefined;
    const parsed = parseDatabase(db, dbPath, { vmName, instanceName: name, dataDirectory, logDirectory, group });
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
    systemLogin,
    systemIsSysadmin,
    isFailoverClusterInstance,
    dataDirectory,
    logDirectory,
    databases,
  };
}

function parseDatabase(
  value: unknown,
  path: string,
  ctx: {
    vmName: string;
    instanceName: string;
    dataDirectory: string;
    logDirectory: string;
    group: AvailabilityGroupSpec | undefined;
  },
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
  const seed = string(
    obj,
    'seed',
    path,
    ctx.group ? `ag/${ctx.group.name}/${name}` : `${ctx.vmName}/${ctx.instanceName}/${name}`,
  );
  const state = oneOf(obj, 'state', path, DATABASE_STATES, SPEC_DEFAULTS.state);
  const isSnapshot = boolean(obj, 'isSnapshot', path, false);
  const isMirror = boolean(obj, 'isMirror', path, false);
  const marker = optionalString(obj, 'marker', path);
  if (marker !== undefined && Buffer.byteLength(marker) > SPEC_LIMITS.maxMarkerBytes) {
    throw new SpecError(join(path, 'marker'), `must be at most ${SPEC_LIMITS.maxMarkerBytes} bytes of UTF-8`);
  }
  const createdAt = dateTime(obj, 'createdAt', path) ?? ctx.group?.createdAt;
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
  if (ctx.group) spec.availabilityGroup = ctx.group.name;
  return spec;
}

function dateTime(obj: Json, key: string, path: string): Date | undefined {
  if (obj[key] === undefined) return undefined;
  const text = string(obj, key, path);
  const ms = Date.parse(text);
  if (!/^\d{4}-\d\d-\d\dT/.test(text) || Number.isNaN(ms)) {
    throw new SpecError(
      join(path, key),
      `expected an ISO 8601 date-time such as "2024-01-01T00:00:00Z", got ${describe(text)}`,
    );
  }
  return new Date(ms);
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
