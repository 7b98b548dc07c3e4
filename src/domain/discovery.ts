/**
 * Discovery fidelity (issue 3, point 4): turns the inventory an agent reports into what the vault shows after an
 * inquiry — the SQL instances and databases (each protectable or not, with a reason) and the container's
 * `extendedInfo.inquiryInfo` (docs/registration.md states the rules for users).
 *
 * Pure logic: no I/O. The caller maps the result onto `backupProtectableItems`, workload items and the container.
 *
 * Codes: `UserErrorSQLNoSysadminMembership` is Azure's documented code. Azure documents the other rules (support
 * matrix, database naming rules) but not the codes it reports for them, so every other code in `DISCOVERY_CODES` is
 * CHOSEN by this emulator, in Azure's `UserError…` style.
 *
 * Choices where Azure is vague (each repeated at the rule):
 * - One reason per database: the first rule that applies, in the order instance-level (unsupported version,
 *   unsupported edition, FCI), snapshot, mirror, name characters, case-only duplicate, state, file count, file path
 *   length.
 * - Instances whose version or edition is unsupported or that are FCIs are still listed (not protectable), with their
 *   databases (not protectable, same code); inquiry itself succeeds. Only an instance the inquiry cannot read (plugin
 *   not sysadmin, no SYSTEM login, SQL 2008 / 2008 R2 without both sysadmin logins) or an unsupported OS (Linux, a
 *   Windows version outside the matrix) fails the inquiry. The matrix's lists come from the caller (config).
 * - `itemCount` counts every item the inquiry lists (instances + databases, protectable or not);
 *   `protectableItemCount` (`inquiryValidation`; the SDK models it as a dictionary keyed by item type)
 *   counts those with `isProtectable: true`, per type: `{ SQLInstance, SQLDataBase }`.
 */
import {
  isLinuxOs,
  type InventoryAvailabilityGroup,
  type InventoryDatabase,
  type InventoryInstance,
} from '../protocol/agent.ts';
import { agContainerName, agItemName, groupProblem } from './availability-groups.ts';
import { DEFAULT_SUPPORT_MATRIX, isSupportedEdition, isSupportedOs, type SupportMatrix } from './support-matrix.ts';

export type DataDirectoryPath = InventoryInstance['dataDirectoryPaths'][number];

/** Protectable items found, per protectable item type. */
export type ProtectableItemCount = { SQLInstance: number; SQLDataBase: number };

/**
 * Type aliases, not interfaces, for the JSON-shaped details: a type literal is assignable to an index-signature type
 * such as Prisma's `InputJsonObject`, so callers can store these as JSON columns without casts.
 */
export type NotProtectableReason = {
  code: string;
  message: string;
};

export type InquiryErrorDetail = {
  code: string;
  message: string;
  recommendations: string[];
};

export interface DiscoveredDatabase {
  instanceName: string;
  /** The database name, as SQL Server spells it (the protectable item's friendlyName). */
  name: string;
  /** The protectable item name: `SQLDataBase;<instance>;<db>`, keeping both spellings. */
  itemName: string;
  recoveryModel: string;
  isReadOnly: boolean;
  /** `sys.databases.state_desc` as reported; `ONLINE` when the agent did not say. */
  state: string;
  isProtectable: boolean;
  notProtectableReason?: NotProtectableReason;
  fileCount: number;
  sizeBytes?: number;
  files: DataDirectoryPath[];
}

export interface DiscoveredInstance {
  name: string;
  /** The protectable item name: `SQLInstance;<instance>`. */
  itemName: string;
  version: string;
  edition: string;
  isProtectable: boolean;
  notProtectableReason?: NotProtectableReason;
  dataDirectoryPaths: DataDirectoryPath[];
  /** Set when the inquiry could not enumerate this instance's databases (none of them are listed). */
  inquiryError?: InquiryErrorDetail;
}

export type InquiryValidation = {
  status: 'Success' | 'Failed';
  errorDetail?: InquiryErrorDetail;
  additionalDetail?: string;
  protectableItemCount: ProtectableItemCount;
};

export type InquiryInfo = {
  status: 'Success' | 'Failed';
  errorDetail?: InquiryErrorDetail;
  inquiryDetails: [{ type: 'SQL'; itemCount: number; inquiryValidation: InquiryValidation }];
};

export interface InquiryResult {
  /** Sorted by name, case-insensitively. */
  instances: DiscoveredInstance[];
  /** Sorted by instance name, then database name, case-insensitively (ties: ordinal, so `Sales` before `sales`). */
  databases: DiscoveredDatabase[];
  inquiryInfo: InquiryInfo;
}

/** The codes discovery reports. Only `noSysadmin` is Azure's documented code; the others are chosen here. */
export const DISCOVERY_CODES = {
  /** Azure's documented code. */
  noSysadmin: 'UserErrorSQLNoSysadminMembership',
  /**
   * Azure's code for "cannot connect to the SQL instance" (login failures among its causes): discovery connects as
   * NT AUTHORITY\SYSTEM, so an instance without that login fails inquiry with it (the choice: Azure names no code
   * of its own for the missing login).
   */
  noSystemLogin: 'UserErrorOpeningSQLConnection',
  /** Chosen. */
  linuxNotSupported: 'UserErrorWorkloadNotSupportedOnLinux',
  /** Chosen: a Windows Server version outside the support matrix (the code agent registration gives Linux VMs). */
  osNotSupported: 'UserErrorUnsupportedOperatingSystem',
  /** Chosen: a SQL Server edition outside the support matrix (Express LocalDB, Evaluation, …). */
  editionNotSupported: 'UserErrorSQLEditionNotSupported',
  /** Chosen. */
  versionNotSupported: 'UserErrorSQLVersionNotSupported',
  /** Chosen. */
  fciNotSupported: 'UserErrorFCINotSupported',
  /** Chosen. */
  snapshotNotSupported: 'UserErrorSQLDatabaseSnapshotNotSupported',
  /** Chosen. */
  mirrorNotSupported: 'UserErrorSQLMirrorDatabaseNotSupported',
  /** Chosen. */
  invalidName: 'UserErrorSQLInvalidDatabaseName',
  /** Chosen. */
  caseOnlyDuplicateName: 'UserErrorSQLDatabaseNameCaseOnlyDuplicate',
  /** Chosen. */
  notOnline: 'UserErrorSQLDatabaseNotOnline',
  /** Chosen. */
  tooManyFiles: 'UserErrorSQLDatabaseTooManyFiles',
  /** Chosen. */
  filePathTooLong: 'UserErrorSQLDatabaseFilePathTooLong',
} as const;

/** The plugin's SQL login in Azure, which needs the sysadmin role. */
export const PLUGIN_ACCOUNT = 'NT SERVICE\\AzureWLBackupPluginSvc';

/** Azure's documented limit of files per database: more than this is not protectable. */
export const MAX_DATABASE_FILES = 1000;

/**
 * Longest file path accepted. Azure only says "file paths too long"; CHOSEN: Windows' MAX_PATH, 260 — a path of
 * 260 characters is accepted, 261 is not.
 */
export const MAX_FILE_PATH_LENGTH = 260;

/**
 * SQL Server releases Azure Backup supports (support matrix), as release years. 2008 and 2008 R2 only once both
 * `NT SERVICE\\AzureWLBackupPluginSvc` and `NT AUTHORITY\\SYSTEM` are sysadmin logins (see `LEGACY_SQL_VERSIONS`).
 */
export const SUPPORTED_SQL_VERSIONS = ['2008', '2008 R2', '2012', '2014', '2016', '2017', '2019', '2022'] as const;

/**
 * Releases the matrix supports but whose discovery needs Azure's documented set-up first ("Give SQL sysadmin
 * permissions for SQL 2008 and SQL 2008 R2"): logins for the plugin and for SYSTEM, both with the sysadmin role.
 */
const LEGACY_SQL_VERSIONS: readonly string[] = ['2008', '2008 R2'];

/** SQL Server product version (`major` or `major.minor`) → release, for versions reported as `15.0`, `10.50.6000.34`, …. */
const PRODUCT_TO_RELEASE: Record<string, string> = {
  '10.0': '2008',
  '10.50': '2008 R2',
  11: '2012',
  12: '2014',
  13: '2016',
  14: '2017',
  15: '2019',
  16: '2022',
};

/**
 * Whether Azure Backup supports this SQL Server version. Accepted spellings (CHOSEN, kept simple):
 * - a release year with optional `R2` and an optional `Microsoft`/`SQL Server`/`SQL` prefix: `2019`, `SQL Server 2019`,
 *   `Microsoft SQL Server 2019`, `2008R2`, `2008 R2` — supported when it names one of `SUPPORTED_SQL_VERSIONS` (the
 *   only R2 release is 2008 R2);
 * - a product version `major.minor[.build[.revision]]`: 10.0 (2008), 10.50 (2008 R2) and majors 11–16 (2012–2022)
 *   are supported, others (17 = 2025, …) are not.
 * Anything else is not supported.
 */
export function isSupportedSqlVersion(version: string): boolean {
  return releaseOf(version) !== undefined;
}

/** The supported release a version string names (`2019`, `2008 R2`), or undefined when unsupported or unrecognised. */
function releaseOf(version: string): string | undefined {
  const v = version
    .trim()
    .replace(/^(microsoft\s+)?sql(\s+server)?\s*/i, '')
    .trim();
  const year = /^(\d{4})(\s*R2)?$/i.exec(v);
  if (year) {
    const release = year[2] === undefined ? year[1]! : `${year[1]} R2`;
    return (SUPPORTED_SQL_VERSIONS as readonly string[]).includes(release) ? release : undefined;
  }
  const product = /^(\d{1,2})\.(\d+)(\.\d+){0,2}$/.exec(v);
  if (product) {
    // Majors 11 and up name one release whatever the minor; 10's minor tells 2008 from 2008 R2.
    const major = Number(product[1]);
    return PRODUCT_TO_RELEASE[major >= 11 ? String(major) : `${major}.${Number(product[2])}`];
  }
  return undefined;
}

/**
 * Why Azure rejects a database name (documented rules), or undefined when the name is acceptable. The first rule that
 * applies, in this order: leading whitespace, trailing whitespace, trailing `!`, `]`, `;`, `/`, `%`, `'`, `"`.
 * (Azure lists "quotes" without detail; CHOSEN: both the single and the double quote.)
 */
export function databaseNameProblem(name: string): string | undefined {
  const quoted = `The database name '${name}'`;
  const fix = 'Azure Backup cannot protect such a database; rename it and run "Rediscover DBs".';
  if (/^\s/.test(name)) return `${quoted} begins with a space. ${fix}`;
  if (/\s$/.test(name)) return `${quoted} ends with a space. ${fix}`;
  if (name.endsWith('!')) return `${quoted} ends with an exclamation mark (!). ${fix}`;
  const forbidden: [string, string][] = [
    [']', 'a closing square bracket (])'],
    [';', 'a semicolon (;)'],
    ['/', 'a forward slash (/)'],
    ['%', 'a percent sign (%)'],
    ["'", "a single quote (')"],
    ['"', 'a double quote (")'],
  ];
  for (const [char, what] of forbidden) {
    if (name.includes(char)) return `${quoted} contains ${what}. ${fix}`;
  }
  return undefined;
}

/** The protectable item name of an instance. */
export function instanceItemName(instance: string): string {
  return `SQLInstance;${instance}`;
}

/** The protectable item name of a database. */
export function databaseItemName(instance: string, database: string): string {
  return `SQLDataBase;${instance};${database}`;
}

/** Case-insensitive, then ordinal: locale-independent, so the order is the same everywhere. */
function compareNames(a: string, b: string): number {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function noSysadminError(instance: string): InquiryErrorDetail {
  return {
    code: DISCOVERY_CODES.noSysadmin,
    message:
      `Azure Backup could not discover the databases of SQL instance '${instance}': the login '${PLUGIN_ACCOUNT}' ` +
      'is not a member of the sysadmin server role on that instance.',
    recommendations: [
      `Add the login '${PLUGIN_ACCOUNT}' to the sysadmin server role on SQL instance '${instance}'.`,
      'Then run "Rediscover DBs" (inquire the container again) to list the instance\'s databases.',
    ],
  };
}

/** The account discovery connects as (reference §6.1: it must be a login, public role, on every instance). */
export const DISCOVERY_ACCOUNT = 'NT AUTHORITY\\SYSTEM';

function noSystemLoginError(instance: string): InquiryErrorDetail {
  return {
    code: DISCOVERY_CODES.noSystemLogin,
    message:
      `Azure Backup could not connect to SQL instance '${instance}' to discover its databases: '${DISCOVERY_ACCOUNT}', ` +
      'the account discovery runs as, is not a login of the instance.',
    recommendations: [
      `Create a login for '${DISCOVERY_ACCOUNT}' (public server role) on SQL instance '${instance}'.`,
      'Then run "Rediscover DBs" (inquire the container again) to list the instance\'s databases.',
    ],
  };
}

/**
 * SQL 2008 / 2008 R2 without Azure's set-up: Azure documents `UserErrorSQLNoSysadminMembership` for these, fixed by
 * giving both the plugin's login and SYSTEM's the sysadmin role, then "Rediscover DBs".
 */
function legacyLoginsError(instance: InventoryInstance): InquiryErrorDetail {
  const missing = [
    ...(instance.isSysadmin ? [] : [PLUGIN_ACCOUNT]),
    ...(instance.systemIsSysadmin === true && instance.hasSystemLogin !== false ? [] : [DISCOVERY_ACCOUNT]),
  ];
  return {
    code: DISCOVERY_CODES.noSysadmin,
    message:
      `Azure Backup could not discover the databases of SQL instance '${instance.name}' (SQL Server ${instance.version}): ` +
      `on SQL Server 2008 and 2008 R2 both '${DISCOVERY_ACCOUNT}' and '${PLUGIN_ACCOUNT}' must be logins with the ` +
      `sysadmin server role; ${missing.map((m) => `'${m}'`).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not.`,
    recommendations: [
      `Add the logins '${DISCOVERY_ACCOUNT}' and '${PLUGIN_ACCOUNT}' to SQL instance '${instance.name}' with the public ` +
        'and sysadmin server roles, the permission to connect to the database engine granted and the login enabled.',
      'Then run "Rediscover DBs" (inquire the container again) to list the instance\'s databases.',
    ],
  };
}

/** Why the inquiry cannot enumerate this instance's databases, or undefined when it can. */
function instanceInquiryError(instance: InventoryInstance): InquiryErrorDetail | undefined {
  if (isLegacySqlVersion(instance.version)) {
    const ready = instance.isSysadmin && instance.hasSystemLogin !== false && instance.systemIsSysadmin === true;
    return ready ? undefined : legacyLoginsError(instance);
  }
  if (instance.hasSystemLogin === false) return noSystemLoginError(instance.name);
  return instance.isSysadmin ? undefined : noSysadminError(instance.name);
}

/** SQL Server 2008 or 2008 R2, in any spelling `isSupportedSqlVersion` accepts. */
function isLegacySqlVersion(version: string): boolean {
  return LEGACY_SQL_VERSIONS.includes(releaseOf(version) ?? '');
}

function osError(os: string): InquiryErrorDetail {
  return {
    code: DISCOVERY_CODES.osNotSupported,
    message: `Azure Backup for SQL Server in Azure VM does not support this VM's operating system, '${os}'.`,
    recommendations: [
      'Run SQL Server on a Windows Server version the support matrix lists (https://learn.microsoft.com/azure/backup/sql-support-matrix), then run "Rediscover DBs".',
    ],
  };
}

function linuxError(os: string): InquiryErrorDetail {
  return {
    code: DISCOVERY_CODES.linuxNotSupported,
    message: `Azure Backup for SQL Server in Azure VM supports Windows VMs only; this VM runs '${os}'.`,
    recommendations: [
      'Protect SQL Server on Linux VMs with Azure VM backup (the whole VM) or with native SQL Server backups.',
    ],
  };
}

/**
 * The instance-level reason (shared by all its databases), or undefined. Unsupported version first, then edition,
 * then FCI.
 */
function instanceProblem(instance: InventoryInstance, matrix: SupportMatrix): NotProtectableReason | undefined {
  if (!isSupportedSqlVersion(instance.version)) {
    return {
      code: DISCOVERY_CODES.versionNotSupported,
      message:
        `SQL instance '${instance.name}' runs SQL Server version '${instance.version}', which Azure Backup does not support. ` +
        `Supported versions: SQL Server ${SUPPORTED_SQL_VERSIONS.join(', ')}.`,
    };
  }
  if (!isSupportedEdition(instance.edition, matrix)) {
    return {
      code: DISCOVERY_CODES.editionNotSupported,
      message:
        `SQL instance '${instance.name}' runs SQL Server edition '${instance.edition}', which Azure Backup does not support. ` +
        `Supported editions: ${matrix.sqlEditions.join(', ')}.`,
    };
  }
  if (instance.isFailoverClusterInstance === true) {
    return {
      code: DISCOVERY_CODES.fciNotSupported,
      message: `SQL instance '${instance.name}' is a Failover Cluster Instance (FCI); Azure Backup does not support FCIs.`,
    };
  }
  return undefined;
}

interface DatabaseContext {
  instance: InventoryInstance;
  instanceReason: NotProtectableReason | undefined;
  /** Lower-cased names that more than one database of the instance has, with every spelling. */
  caseDuplicates: Map<string, string[]>;
}

function databaseProblem(db: InventoryDatabase, ctx: DatabaseContext): NotProtectableReason | undefined {
  const where = `database '${db.name}' on SQL instance '${ctx.instance.name}'`;
  if (ctx.instanceReason) {
    return {
      code: ctx.instanceReason.code,
      message: `The ${where} cannot be protected because its instance cannot: ${ctx.instanceReason.message}`,
    };
  }
  if (db.isSnapshot === true) {
    return {
      code: DISCOVERY_CODES.snapshotNotSupported,
      message: `The ${where} is a database snapshot; Azure Backup does not protect database snapshots.`,
    };
  }
  // Azure's matrix names "FCI mirror databases"; an FCI's databases already fail above, and a mirror database is a
  // RESTORING copy that cannot be backed up anyway, so CHOSEN: every mirror database is not protectable.
  if (db.isMirror === true) {
    return {
      code: DISCOVERY_CODES.mirrorNotSupported,
      message: `The ${where} is the mirror side of database mirroring; Azure Backup does not protect mirror databases.`,
    };
  }
  const nameProblem = databaseNameProblem(db.name);
  if (nameProblem !== undefined) {
    return { code: DISCOVERY_CODES.invalidName, message: `${nameProblem} (SQL instance '${ctx.instance.name}')` };
  }
  const spellings = ctx.caseDuplicates.get(db.name.toLowerCase());
  if (spellings !== undefined) {
    const others = spellings.filter((s) => s !== db.name).map((s) => `'${s}'`);
    return {
      code: DISCOVERY_CODES.caseOnlyDuplicateName,
      message:
        `The database name '${db.name}' differs only in letter case from ${others.join(', ')} on SQL instance ` +
        `'${ctx.instance.name}'; Azure Backup cannot protect databases whose names differ only in case. Rename one of them and run "Rediscover DBs".`,
    };
  }
  const state = db.state ?? 'ONLINE';
  if (state.toUpperCase() !== 'ONLINE') {
    return {
      code: DISCOVERY_CODES.notOnline,
      message: `The ${where} is ${state}; only ONLINE databases can be protected. Bring it online and run "Rediscover DBs".`,
    };
  }
  const fileCount = Math.max(db.fileCount, db.files?.length ?? 0);
  if (fileCount > MAX_DATABASE_FILES) {
    return {
      code: DISCOVERY_CODES.tooManyFiles,
      message: `The ${where} has ${fileCount} files; Azure Backup protects databases with at most ${MAX_DATABASE_FILES} files.`,
    };
  }
  const longPath = db.files?.find((f) => f.path.length > MAX_FILE_PATH_LENGTH);
  if (longPath !== undefined) {
    return {
      code: DISCOVERY_CODES.filePathTooLong,
      message:
        `The ${where} has a file path of ${longPath.path.length} characters ('${longPath.path.slice(0, 80)}…'); ` +
        `Azure Backup protects databases whose file paths are at most ${MAX_FILE_PATH_LENGTH} characters long.`,
    };
  }
  return undefined;
}

function discoverDatabases(
  instance: InventoryInstance,
  instanceReason: NotProtectableReason | undefined,
): DiscoveredDatabase[] {
  // tempdb is recreated at every start and never backed up: never listed. CHOSEN: matched case-insensitively.
  // Exact duplicates cannot exist in SQL Server; a repeated entry is a reporting glitch, and the first one wins.
  const seen = new Set<string>();
  const reported = instance.databases.filter((db) => {
    if (db.name.toLowerCase() === 'tempdb' || seen.has(db.name)) return false;
    seen.add(db.name);
    return true;
  });
  const byLower = new Map<string, string[]>();
  for (const db of reported) {
    const key = db.name.toLowerCase();
    byLower.set(key, [...(byLower.get(key) ?? []), db.name]);
  }
  const caseDuplicates = new Map([...byLower].filter(([, names]) => names.length > 1));
  const ctx: DatabaseContext = { instance, instanceReason, caseDuplicates };
  return reported.map((db) => {
    const reason = databaseProblem(db, ctx);
    return {
      instanceName: instance.name,
      name: db.name,
      itemName: databaseItemName(instance.name, db.name),
      recoveryModel: db.recoveryModel,
      isReadOnly: db.isReadOnly ?? false,
      state: db.state ?? 'ONLINE',
      isProtectable: reason === undefined,
      ...(reason ? { notProtectableReason: reason } : {}),
      fileCount: db.fileCount,
      ...(db.sizeBytes !== undefined ? { sizeBytes: db.sizeBytes } : {}),
      files: db.files ?? [],
    };
  });
}

function inquiryInfo(
  items: number,
  protectable: ProtectableItemCount,
  error: InquiryErrorDetail | undefined,
  additionalDetail?: string,
): InquiryInfo {
  const status = error ? 'Failed' : 'Success';
  return {
    status,
    ...(error ? { errorDetail: error } : {}),
    inquiryDetails: [
      {
        type: 'SQL',
        itemCount: items,
        inquiryValidation: {
          status,
          ...(error ? { errorDetail: error } : {}),
          ...(additionalDetail !== undefined ? { additionalDetail } : {}),
          protectableItemCount: protectable,
        },
      },
    ],
  };
}

/**
 * What the vault shows after an inquiry of a VM that reported `instances`.
 *
 * - Linux VM, or a Windows version outside `matrix`: nothing is listed and the inquiry fails
 *   (`UserErrorWorkloadNotSupportedOnLinux`, `UserErrorUnsupportedOperatingSystem`, both chosen).
 * - An instance the inquiry cannot read (plugin login not sysadmin, no SYSTEM login, SQL 2008 / 2008 R2 without both
 *   sysadmin logins) is listed, not protectable, with `inquiryError`; its databases are not listed (even if
 *   reported); the inquiry fails with that error — with several such instances, the first one's (by name) with the
 *   count of the others appended. Other instances' databases are listed normally.
 * - Otherwise instances and databases are listed, each protectable or not with a reason (see the module comment).
 */
export function evaluateInventory(
  vm: { os: string },
  instances: InventoryInstance[],
  matrix: SupportMatrix = DEFAULT_SUPPORT_MATRIX,
): InquiryResult {
  if (isLinuxOs(vm.os) || !isSupportedOs(vm.os, matrix)) {
    const linux = isLinuxOs(vm.os);
    return {
      instances: [],
      databases: [],
      inquiryInfo: inquiryInfo(
        0,
        { SQLInstance: 0, SQLDataBase: 0 },
        linux ? linuxError(vm.os) : osError(vm.os),
        linux
          ? 'SQL Server workload backup is not supported on Linux VMs.'
          : `Supported operating systems: ${matrix.operatingSystems.join(', ')}.`,
      ),
    };
  }

  // Instance names are case-insensitive on Windows: a repeated (case-insensitively) instance is a reporting glitch;
  // the first one wins.
  const seen = new Set<string>();
  const unique = instances.filter((i) => {
    const key = i.name.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const sorted = [...unique].sort((a, b) => compareNames(a.name, b.name));

  const discoveredInstances: DiscoveredInstance[] = [];
  const databases: DiscoveredDatabase[] = [];
  const failures: DiscoveredInstance[] = [];
  for (const instance of sorted) {
    const instanceReason = instanceProblem(instance, matrix);
    const inquiryError = instanceInquiryError(instance);
    // CHOSEN: an unsupported version or edition, or an FCI, is the more fundamental reason; logins come after.
    const reason =
      instanceReason ?? (inquiryError ? { code: inquiryError.code, message: inquiryError.message } : undefined);
    const discovered: DiscoveredInstance = {
      name: instance.name,
      itemName: instanceItemName(instance.name),
      version: instance.version,
      edition: instance.edition,
      isProtectable: reason === undefined,
      ...(reason ? { notProtectableReason: reason } : {}),
      dataDirectoryPaths: instance.dataDirectoryPaths,
      ...(inquiryError ? { inquiryError } : {}),
    };
    discoveredInstances.push(discovered);
    if (inquiryError) {
      failures.push(discovered);
      continue;
    }
    // An availability group's databases are listed once, under the group (evaluateAvailabilityGroups), not per node.
    const own = { ...instance, databases: instance.databases.filter((db) => !inGroup(instance, db.name)) };
    databases.push(...discoverDatabases(own, instanceReason).sort((a, b) => compareNames(a.name, b.name)));
  }

  const items = discoveredInstances.length + databases.length;
  const protectable = {
    SQLInstance: discoveredInstances.filter((i) => i.isProtectable).length,
    SQLDataBase: databases.filter((d) => d.isProtectable).length,
  };
  let error: InquiryErrorDetail | undefined;
  let additionalDetail: string | undefined;
  const first = failures[0]?.inquiryError;
  if (first) {
    const names = failures.map((f) => `'${f.name}'`).join(', ');
    additionalDetail = `Inquiry failed for ${failures.length} of ${discoveredInstances.length} SQL instances: ${names}.`;
    error =
      failures.length === 1
        ? first
        : {
            code: first.code,
            message: `${first.message} ${failures.length - 1} more SQL instance(s) have the same problem: ${failures
              .slice(1)
              .map((f) => `'${f.name}'`)
              .join(', ')}.`,
            recommendations: [
              `Add the login '${PLUGIN_ACCOUNT}' to the sysadmin server role on SQL instances ${names}.`,
              ...first.recommendations.slice(1),
            ],
          };
  }
  return {
    instances: discoveredInstances,
    databases,
    inquiryInfo: inquiryInfo(items, protectable, error, additionalDetail),
  };
}

function inGroup(instance: InventoryInstance, database: string): boolean {
  return (instance.availabilityGroups ?? []).some((g) => g.databases.includes(database));
}

export interface DiscoveredAvailabilityGroup {
  group: InventoryAvailabilityGroup;
  /** `SQLAGWorkLoadContainer;<group id>`. */
  containerName: string;
  /** The group's protectable item (`SQLAvailabilityGroupContainer`), stored like an instance of the AG container. */
  item: DiscoveredInstance;
  /** Its databases, named `SQLDataBase;<AG>;<db>` (Azure's unique name of an AG database is AG\\database). */
  databases: DiscoveredDatabase[];
}

/**
 * The availability groups a node reports, each with its databases judged by the same rules as a standalone
 * instance's (the hosting instance's version/FCI problems first, then a Basic group's, then the database's own).
 * A node whose inquiry cannot read the instance (plugin not sysadmin, no SYSTEM login, SQL 2008 without its set-up)
 * reports no groups; Linux VMs and unsupported operating systems report nothing.
 */
export function evaluateAvailabilityGroups(
  vm: { os: string },
  instances: InventoryInstance[],
  matrix: SupportMatrix = DEFAULT_SUPPORT_MATRIX,
): DiscoveredAvailabilityGroup[] {
  if (isLinuxOs(vm.os) || !isSupportedOs(vm.os, matrix)) return [];
  const out: DiscoveredAvailabilityGroup[] = [];
  for (const instance of instances) {
    if (instanceInquiryError(instance) !== undefined) continue;
    for (const group of instance.availabilityGroups ?? []) {
      const reason = instanceProblem(instance, matrix) ?? groupProblem(group);
      const members = {
        ...instance,
        name: group.name,
        databases: instance.databases.filter((db) => group.databases.includes(db.name)),
      };
      out.push({
        group,
        containerName: agContainerName(group.groupId),
        item: {
          name: group.name,
          itemName: agItemName(group.name),
          version: instance.version,
          edition: instance.edition,
          isProtectable: reason === undefined,
          ...(reason ? { notProtectableReason: reason } : {}),
          dataDirectoryPaths: instance.dataDirectoryPaths,
        },
        databases: discoverDatabases(members, reason).sort((a, b) => compareNames(a.name, b.name)),
      });
    }
  }
  return out;
}
