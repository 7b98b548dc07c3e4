/**
 * The agent protocol (`/agent/v1/...`): what a VM's coordinator/plugin and the vault say to each other.
 * These schemas are the contract — the routes validate with them, the OpenAPI document publishes them, and the
 * reference agent (src/agent) types its client with them.
 *
 * Flow: the agent registers with vault credentials and its VM identity and gets a token scoped to one container
 * (`VMAppContainer;Compute;<rg>;<vm>`); then it heartbeats, long-polls for commands, acknowledges each command it
 * receives, reports a result once it has applied it, and reports its inventory when asked to discover.
 * A command is delivered at least once (redelivered when unacknowledged after its lease) and applied once (the agent
 * remembers command ids; the first result wins).
 */
import { Type, type Static } from 'typebox';
import { Lsn } from './lsn.ts';

/**
 * The vault's answer (409, an emulator code: the agent protocol is ours) to a block or commit of a backup whose job
 * was cancelled; the agent stops on it and reports the backup cancelled.
 */
export const BACKUP_CANCELLED = 'UserErrorBackupCancelled';

const Name = (max: number, description?: string) =>
  Type.String({ minLength: 1, maxLength: max, ...(description ? { description } : {}) });

export const VaultCredentials = Type.Object(
  {
    vaultId: Name(512, 'ARM id of the vault the credentials register to'),
    secret: Name(256),
  },
  { additionalProperties: true, description: 'The vault credentials file (recovery-vault credentials), as downloaded' },
);

export const VmIdentity = Type.Object({
  vmName: Name(64),
  resourceGroup: Name(90),
  os: Name(64, 'e.g. WindowsServer2019; Linux VMs are refused'),
  fqdn: Type.Optional(Name(255)),
});

export const RegisterRequest = Type.Object({
  credentials: VaultCredentials,
  vm: VmIdentity,
  agentVersion: Name(64),
});
export type RegisterRequest = Static<typeof RegisterRequest>;

export const RegisterResponse = Type.Object({
  containerName: Type.String(),
  vmResourceId: Type.String(),
  vault: Type.Object({ id: Type.String(), name: Type.String() }),
  agentToken: Type.String(),
  tokenExpiresAt: Type.String({ format: 'date-time' }),
  heartbeatIntervalSeconds: Type.Integer(),
  commandWaitSeconds: Type.Integer(),
});
export type RegisterResponse = Static<typeof RegisterResponse>;

export const HeartbeatRequest = Type.Object({
  agentVersion: Name(64),
  status: Type.Optional(Type.Union([Type.Literal('Healthy'), Type.Literal('Degraded')])),
});
export const HeartbeatResponse = Type.Object({
  serverTime: Type.String({ format: 'date-time' }),
  heartbeatIntervalSeconds: Type.Integer(),
});

export const DataDirectoryPath = Type.Object({
  type: Type.Union([Type.Literal('Data'), Type.Literal('Log')]),
  // Generous: paths longer than Windows' 260 are reported as "not protectable" by discovery, not refused here.
  path: Type.String({ maxLength: 4096 }),
  logicalName: Type.Optional(Type.String({ maxLength: 256 })),
});

export const InventoryDatabase = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256 }),
  recoveryModel: Type.Union([Type.Literal('FULL'), Type.Literal('SIMPLE'), Type.Literal('BULK_LOGGED')]),
  state: Type.Optional(Type.String({ maxLength: 32, description: 'ONLINE, OFFLINE, RESTORING, …' })),
  isReadOnly: Type.Optional(Type.Boolean()),
  isSnapshot: Type.Optional(Type.Boolean({ description: 'a database snapshot (not protectable)' })),
  isMirror: Type.Optional(
    Type.Boolean({ description: 'the mirror side of database mirroring (not protectable on an FCI)' }),
  ),
  sizeBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  fileCount: Type.Integer({ minimum: 1, maximum: 100_000 }),
  files: Type.Optional(Type.Array(DataDirectoryPath, { maxItems: 2000 })),
});
export type InventoryDatabase = Static<typeof InventoryDatabase>;

export const AvailabilityGroupReplica = Type.Object({
  serverName: Name(64, 'the VM the replica runs on'),
  instanceName: Name(128),
  role: Type.Union([Type.Literal('Primary'), Type.Literal('Secondary')]),
});

/** An Always On availability group the instance hosts a replica of, as its SQL Server sees the whole group. */
export const InventoryAvailabilityGroup = Type.Object({
  name: Name(128),
  groupId: Type.String({ format: 'uuid', description: 'sys.availability_groups.group_id' }),
  backupPreference: Type.Union(
    [Type.Literal('Primary'), Type.Literal('SecondaryOnly'), Type.Literal('Secondary'), Type.Literal('None')],
    { description: 'AUTOMATED_BACKUP_PREFERENCE (None = any replica)' },
  ),
  isBasic: Type.Boolean(),
  replicas: Type.Array(AvailabilityGroupReplica, { minItems: 1, maxItems: 9 }),
  /** The group's databases (listed among the instance's databases too). */
  databases: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 5000 }),
});
export type InventoryAvailabilityGroup = Static<typeof InventoryAvailabilityGroup>;

export const InventoryInstance = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  version: Type.String({ minLength: 1, maxLength: 32, description: 'SQL Server version: 2008, 2008R2, 2012, …, 2022' }),
  edition: Type.String({ maxLength: 64 }),
  isSysadmin: Type.Boolean({
    description: 'whether the plugin account (NT SERVICE\\AzureWLBackupPluginSvc) is sysadmin',
  }),
  hasSystemLogin: Type.Optional(
    Type.Boolean({
      description: 'whether NT AUTHORITY\\SYSTEM (the account discovery connects as) is a login; absent = yes',
    }),
  ),
  systemIsSysadmin: Type.Optional(
    Type.Boolean({
      description:
        'whether NT AUTHORITY\\SYSTEM has the sysadmin role (SQL Server 2008 and 2008 R2 need it); absent = no',
    }),
  ),
  isFailoverClusterInstance: Type.Optional(Type.Boolean()),
  dataDirectoryPaths: Type.Array(DataDirectoryPath, { maxItems: 16 }),
  databases: Type.Array(InventoryDatabase, { maxItems: 5000, description: 'empty when the plugin lacks sysadmin' }),
  availabilityGroups: Type.Optional(Type.Array(InventoryAvailabilityGroup, { maxItems: 100 })),
});
export type InventoryInstance = Static<typeof InventoryInstance>;

export const InventoryReport = Type.Object({
  commandId: Type.Optional(Type.String({ format: 'uuid', description: 'the discover command this answers' })),
  instances: Type.Array(InventoryInstance, { maxItems: 50 }),
});
export type InventoryReport = Static<typeof InventoryReport>;

export const CommandTypes = [
  'registerExtension',
  'discover',
  'unregister',
  'configure',
  'backup',
  'restore',
  'failover',
] as const;
export type CommandType = (typeof CommandTypes)[number];

export const Command = Type.Object({
  id: Type.String({ format: 'uuid' }),
  type: Type.String({ description: `one of ${CommandTypes.join(', ')}` }),
  payload: Type.Object({}, { additionalProperties: true }),
  issuedAt: Type.String({ format: 'date-time' }),
  attempt: Type.Integer({ description: '1 on first delivery, higher on redelivery' }),
});
export type Command = Static<typeof Command>;

export const CommandPollQuery = Type.Object({
  waitSeconds: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 60, description: 'long-poll up to this long for a command' }),
  ),
});
export const CommandList = Type.Object({ commands: Type.Array(Command) });

export const CommandResult = Type.Object({
  status: Type.Union([Type.Literal('Succeeded'), Type.Literal('Failed')]),
  error: Type.Optional(Type.Object({ code: Name(128), message: Type.String({ maxLength: 4096 }) })),
  result: Type.Optional(Type.Object({}, { additionalProperties: true })),
});
export type CommandResult = Static<typeof CommandResult>;

/**
 * The payload of a `failover` command (emulator only: the failover control): the VM's simulated SQL Server sees the
 * availability group fail over to the replica on `primary`. The vault learns the new roles from the next inventory.
 */
export const FailoverCommandPayload = Type.Object({
  availabilityGroup: Name(128),
  primary: Name(256, 'the VM of the new primary replica'),
});
export type FailoverCommandPayload = Static<typeof FailoverCommandPayload>;

export const ContainerParams = Type.Object({ containerName: Name(256) });
export const CommandParams = Type.Object({ containerName: Name(256), commandId: Type.String({ format: 'uuid' }) });

// ---------------------------------------------------------------------------------------------------------------------
// Backups: the `backup` command tells the agent to stream one backup of one database to the vault.
//
//   1. POST uploads {backupId, itemName, backupType, sizeBytes} → the upload (idempotent: the same backupId, the same
//      upload) with the backup's blockSizeBytes (larger than the command's when the backup would not fit otherwise)
//   2. PUT  uploads/{id}/blocks/{index}  (raw bytes, `x-content-sha256: <hex>` of those bytes), index 0, 1, 2, …
//      every block but the last is exactly the upload's blockSizeBytes long; a retried block is idempotent
//   3. GET  uploads/{id}                                    → which blocks the vault has (resume after a lost connection)
//   4. POST uploads/{id}/commit {metadata}                  → validates the LSN chain, then commits atomically
//   5. the command's result: Succeeded (with the recovery point id) or Failed with the SQL error code
// ---------------------------------------------------------------------------------------------------------------------

export const BackupTypes = ['Full', 'Differential', 'Log', 'CopyOnlyFull'] as const;
export type BackupType = (typeof BackupTypes)[number];
export const isBackupType = (value: string): value is BackupType => (BackupTypes as readonly string[]).includes(value);
export const BackupTypeSchema = Type.Union([
  Type.Literal('Full'),
  Type.Literal('Differential'),
  Type.Literal('Log'),
  Type.Literal('CopyOnlyFull'),
]);

/** The payload of a `backup` command. */
export const BackupCommandPayload = Type.Object({
  backupId: Type.String({ format: 'uuid' }),
  itemName: Name(600),
  backupType: BackupTypeSchema,
  blockSizeBytes: Type.Integer({ minimum: 1 }),
  /** How many blocks the agent may have on their way at once (each is idempotent, so any order is fine). */
  blocksInFlight: Type.Integer({ minimum: 1 }),
  /** When the backup is taken, in the vault's time (which the emulator clock may have moved ahead of the wall clock). */
  at: Type.String({ format: 'date-time' }),
  /**
   * An availability group database's backup chain as the vault has it (the database's own, replicated to every
   * replica): the differential base and where the next log backup starts, whichever node took the previous backup.
   */
  chain: Type.Optional(
    Type.Object({
      lastFull: Type.Optional(Type.Object({ checkpointLsn: Lsn, endTime: Type.String({ format: 'date-time' }) })),
      logChain: Type.Optional(Type.Object({ lastLsn: Lsn, endTime: Type.String({ format: 'date-time' }) })),
    }),
  ),
});
export type BackupCommandPayload = Static<typeof BackupCommandPayload>;

export const OpenUploadRequest = Type.Object({
  backupId: Type.String({ format: 'uuid' }),
  itemName: Name(600),
  backupType: BackupTypeSchema,
  /**
   * The backup stream's size in bytes, when the agent knows it before the first block: at the first open the vault
   * then fixes a block size (in UploadState) that fits the backup in one blob's 50,000 blocks. Without it, the
   * command's blockSizeBytes.
   */
  sizeBytes: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type OpenUploadRequest = Static<typeof OpenUploadRequest>;

export const UploadState = Type.Object({
  uploadId: Type.String({ format: 'uuid' }),
  state: Type.Union([Type.Literal('Open'), Type.Literal('Committed'), Type.Literal('Failed')]),
  blockSizeBytes: Type.Integer(),
  /** Indexes of the blocks the vault holds, ascending. */
  receivedBlocks: Type.Array(Type.Integer({ minimum: 0 })),
  recoveryPointId: Type.Optional(Type.String()),
});
export type UploadState = Static<typeof UploadState>;

export const UploadParams = Type.Object({ containerName: Name(256), uploadId: Type.String({ format: 'uuid' }) });
export const BlockParams = Type.Object({
  containerName: Name(256),
  uploadId: Type.String({ format: 'uuid' }),
  index: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
});
export const BlockReceipt = Type.Object({ index: Type.Integer(), sha256: Type.String(), sizeBytes: Type.Integer() });

/** What SQL Server records of a backup (msdb.dbo.backupset), sent with the commit. */
export const BackupMetadata = Type.Object({
  backupType: BackupTypeSchema,
  firstLsn: Lsn,
  lastLsn: Lsn,
  checkpointLsn: Lsn,
  databaseBackupLsn: Lsn,
  differentialBaseLsn: Type.Optional(Lsn),
  /** For a log backup, the span of the transactions it holds; for a full or differential, when it ran. */
  startTime: Type.String({ format: 'date-time' }),
  endTime: Type.String({ format: 'date-time' }),
  /** A backup always holds data (SQL Server writes a header at least): one block, one byte, at the least. */
  sizeBytes: Type.Integer({ minimum: 1 }),
  /** SHA-256 (hex) of the whole backup stream, as the blocks concatenated. */
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  blockCount: Type.Integer({ minimum: 1 }),
  databaseGuid: Type.Optional(Type.String({ maxLength: 64 })),
  familyGuid: Type.Optional(Type.String({ maxLength: 64 })),
  /**
   * The database's files the backup holds (msdb.dbo.backupfile), which a restore elsewhere moves; absent, the vault
   * takes those the last inventory reported.
   */
  files: Type.Optional(Type.Array(DataDirectoryPath, { maxItems: 2000 })),
});
export type BackupMetadata = Static<typeof BackupMetadata>;

export const CommitRequest = Type.Object({ metadata: BackupMetadata });
export const CommitResponse = Type.Object({ recoveryPointId: Type.String() });

// ---------------------------------------------------------------------------------------------------------------------
// Restores: the `restore` command tells the target VM's agent to apply a chain of recovery points.
//
//   1. the command's payload lists the parts in restore order (Full or CopyOnlyFull, optional Differential, Logs)
//   2. GET restores/{id}/parts/{index}   → the part's original backup stream, decrypted and verified block by block
//      (GCM tag, block SHA-256) by the vault; `x-content-sha256` is the whole stream's SHA-256, which the agent checks
//      too. A block that fails verification ends the stream early (the connection is cut) and fails the restore:
//      GET restores/{id} then says why.
//   3. the agent applies the parts (up to `pointInTime`) or writes them as files, and reports the command's result:
//      Succeeded, or Failed with SQL Server's / the vault's code. A failed restore leaves the target untouched.
// ---------------------------------------------------------------------------------------------------------------------

export const RestorePart = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  recoveryPointId: Type.String(),
  backupType: BackupTypeSchema,
  sizeBytes: Type.Integer({ minimum: 0 }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  startTime: Type.String({ format: 'date-time' }),
  endTime: Type.String({ format: 'date-time' }),
});
export type RestorePart = Static<typeof RestorePart>;

/** The payload of a `restore` command. */
export const RestoreCommandPayload = Type.Object({
  restoreId: Type.String({ format: 'uuid' }),
  /** `Database`: restore into a database; `Files`: write the backup files and a manifest into `target.directory`. */
  mode: Type.Union([Type.Literal('Database'), Type.Literal('Files')]),
  source: Type.Object({ itemName: Name(600), instanceName: Name(128), databaseName: Name(256) }),
  target: Type.Object({
    instanceName: Type.Optional(Name(128)),
    databaseName: Type.Optional(Name(256)),
    overwrite: Type.Union([Type.Literal('Overwrite'), Type.Literal('FailOnConflict')]),
    /** Restore as files: the directory on the VM (a Windows path such as `F:\\restore`). */
    directory: Type.Optional(Type.String({ maxLength: 1024 })),
    directoryPaths: Type.Optional(
      Type.Array(
        Type.Object({
          mappingType: Type.String(),
          sourceLogicalName: Type.Optional(Type.String()),
          sourcePath: Type.Optional(Type.String()),
          targetPath: Type.String(),
        }),
      ),
    ),
  }),
  /** Point-in-time restore: apply log records up to this second (UTC). */
  pointInTime: Type.Optional(Type.String({ format: 'date-time' })),
  parts: Type.Array(RestorePart, { minItems: 1 }),
});
export type RestoreCommandPayload = Static<typeof RestoreCommandPayload>;

export const RestoreParams = Type.Object({ containerName: Name(256), restoreId: Type.String({ format: 'uuid' }) });
export const RestorePartParams = Type.Object({
  containerName: Name(256),
  restoreId: Type.String({ format: 'uuid' }),
  index: Type.Integer({ minimum: 0, maximum: 100_000 }),
});

export const RestoreState = Type.Object({
  restoreId: Type.String({ format: 'uuid' }),
  state: Type.Union([Type.Literal('InProgress'), Type.Literal('Succeeded'), Type.Literal('Failed')]),
  partCount: Type.Integer(),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});
export type RestoreState = Static<typeof RestoreState>;

/** Whether an inventory's `os` names Linux: the service refuses such VMs and the reference agent lays out Linux paths. */
export function isLinuxOs(os: string): boolean {
  return /linux|ubuntu|rhel|red ?hat|sles|suse|centos|debian|oracle/i.test(os);
}
