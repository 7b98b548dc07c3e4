/**
 * What the simulated SQL Server plugin finds on the VM: the spec's instances and databases as the protocol's
 * inventory (src/protocol/agent.ts). The agent reports it as is — deciding what Azure can protect is the
 * vault's job (src/domain/discovery.ts).
 *
 * - An instance whose plugin account lacks sysadmin, or that has no `NT AUTHORITY\SYSTEM` login (discovery connects
 *   as SYSTEM), lists no databases (the plugin cannot enumerate them).
 * - Every instance also has SQL Server's system databases `master`, `model` and `msdb` (tempdb is never backed up
 *   and not listed), with SQL Server's default recovery models (master SIMPLE, model FULL, msdb SIMPLE) and file
 *   names, in the instance's data/log directories. A spec database of the same name (case-insensitive) replaces
 *   the default one.
 * - A database with more files than the protocol carries (2000) is reported with its `fileCount` only.
 * - The availability groups whose local replica is on an instance are reported with it (the whole group: replicas,
 *   roles, backup preference, databases), as `sys.availability_groups` / `sys.availability_replicas` show them.
 */
import type { InventoryAvailabilityGroup, InventoryDatabase, InventoryInstance } from '../protocol/agent.ts';
import {
  localReplica,
  type DatabaseSpec,
  type InstanceSpec,
  type RecoveryModel,
  type VmSpec,
} from './simulation/spec.ts';

const MIB = 1024 * 1024;
/** The protocol's `files` maxItems. */
export const MAX_REPORTED_FILES = 2000;

interface SystemDatabase {
  name: string;
  recoveryModel: RecoveryModel;
  sizeMiB: number;
  data: { logicalName: string; file: string };
  log: { logicalName: string; file: string };
}

/** SQL Server's system databases as a fresh installation has them. */
export const SYSTEM_DATABASES: readonly SystemDatabase[] = [
  {
    name: 'master',
    recoveryModel: 'SIMPLE',
    sizeMiB: 6,
    data: { logicalName: 'master', file: 'master.mdf' },
    log: { logicalName: 'mastlog', file: 'mastlog.ldf' },
  },
  {
    name: 'model',
    recoveryModel: 'FULL',
    sizeMiB: 16,
    data: { logicalName: 'modeldev', file: 'model.mdf' },
    log: { logicalName: 'modellog', file: 'modellog.ldf' },
  },
  {
    name: 'msdb',
    recoveryModel: 'SIMPLE',
    sizeMiB: 20,
    data: { logicalName: 'MSDBData', file: 'MSDBData.mdf' },
    log: { logicalName: 'MSDBLog', file: 'MSDBLog.ldf' },
  },
];

function joinPath(dir: string, file: string): string {
  const sep = dir.includes('/') && !dir.includes('\\') ? '/' : '\\';
  return dir.endsWith(sep) ? `${dir}${file}` : `${dir}${sep}${file}`;
}

function systemDatabase(instance: InstanceSpec, db: SystemDatabase): InventoryDatabase {
  return {
    name: db.name,
    recoveryModel: db.recoveryModel,
    state: 'ONLINE',
    isReadOnly: false,
    isSnapshot: false,
    isMirror: false,
    sizeBytes: db.sizeMiB * MIB,
    fileCount: 2,
    files: [
      { type: 'Data', logicalName: db.data.logicalName, path: joinPath(instance.dataDirectory, db.data.file) },
      { type: 'Log', logicalName: db.log.logicalName, path: joinPath(instance.logDirectory, db.log.file) },
    ],
  };
}

function userDatabase(db: DatabaseSpec): InventoryDatabase {
  const reported: InventoryDatabase = {
    name: db.name,
    recoveryModel: db.recoveryModel,
    state: db.state,
    isReadOnly: db.readOnly,
    isSnapshot: db.isSnapshot,
    isMirror: db.isMirror,
    sizeBytes: db.sizeMiB * MIB,
    fileCount: db.files,
  };
  const files = reportedFiles(db);
  if (files !== undefined) reported.files = files;
  return reported;
}

/** A database's files as the protocol carries them (inventory, backups): none past the protocol's limit. */
export function reportedFiles(db: DatabaseSpec): InventoryDatabase['files'] {
  if (db.filePaths.length > MAX_REPORTED_FILES) return undefined;
  return db.filePaths.map((f) => ({ type: f.type, logicalName: f.logicalName, path: f.path }));
}

/** The availability groups whose local replica is on this instance, as the instance's SQL Server reports them. */
function groupsOf(spec: VmSpec, instance: InstanceSpec): InventoryAvailabilityGroup[] {
  return spec.availabilityGroups
    .filter((g) => localReplica(g, spec.vmName)?.instance.toUpperCase() === instance.name.toUpperCase())
    .map((g) => ({
      name: g.name,
      groupId: g.groupId,
      backupPreference: g.backupPreference,
      isBasic: g.basic,
      replicas: g.replicas.map((r) => ({ serverName: r.vmName, instanceName: r.instance, role: r.role })),
      databases: g.databases,
    }));
}

export function instanceInventory(
  instance: InstanceSpec,
  groups: InventoryAvailabilityGroup[] = [],
): InventoryInstance {
  const own = new Set(instance.databases.map((d) => d.name.toLowerCase()));
  const readable = instance.pluginIsSysadmin && instance.systemLogin;
  const databases = readable
    ? [
        ...SYSTEM_DATABASES.filter((s) => !own.has(s.name)).map((s) => systemDatabase(instance, s)),
        ...instance.databases.map(userDatabase),
      ]
    : [];
  return {
    name: instance.name,
    version: instance.version,
    edition: instance.edition,
    isSysadmin: instance.pluginIsSysadmin,
    ...(instance.systemLogin ? {} : { hasSystemLogin: false }),
    ...(instance.systemIsSysadmin ? { systemIsSysadmin: true } : {}),
    isFailoverClusterInstance: instance.isFailoverClusterInstance,
    dataDirectoryPaths: [
      { type: 'Data', path: instance.dataDirectory },
      { type: 'Log', path: instance.logDirectory },
    ],
    databases,
    ...(groups.length > 0 && readable ? { availabilityGroups: groups } : {}),
  };
}

/** The inventory of the whole VM. */
export function vmInventory(spec: VmSpec): InventoryInstance[] {
  return spec.instances.map((instance) => instanceInventory(instance, groupsOf(spec, instance)));
}
