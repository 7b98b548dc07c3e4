import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { createFileOnce } from './files.ts';
import { DEFAULT_SUPPORT_MATRIX, type SupportMatrix } from './domain/support-matrix.ts';

/** A built-in principal seeded at start (see README, "Identity"). */
export interface PrincipalSeed {
  /** Object id: the token's `oid`/`sub`. */
  id: string;
  displayName: string;
  clientId?: string;
  clientSecret?: string;
  roles: { role: 'Contributor' | 'BackupOperator' | 'BackupReader'; subscriptions: string[] }[];
}

export interface Config {
  dataDir: string;
  host: string;
  httpPort: number;
  httpsPort: number;
  /** Origin used in URLs the service hands out (Location, nextLink); default: the request's own origin. */
  publicUrl: string | undefined;
  tls: { certFile: string | undefined; keyFile: string | undefined };
  databaseUrl: string;
  migrateOnStart: boolean;
  redisUrl: string;
  queuePrefix: string;
  /** Undefined: start an embedded Azurite under the data directory. */
  blobConnectionString: string | undefined;
  azuritePort: number;
  blobContainerPrefix: string;
  masterKey: Buffer;
  retryAfterSeconds: number;
  pageSize: number;
  bodyLimitBytes: number;
  workers: boolean;
  /** A worker-only process (src/worker.ts): with `workers` off (an API-only process), the deployment is scaled out. */
  workerOnly: boolean;
  /**
   * How long a worker holds an operation it runs before another may take it over (renewed while it runs), and how
   * long a killed worker's queued job stays locked: a dead worker's operations move to another within about twice this.
   */
  operationLeaseSeconds: number;
  logLevel: string;
  /** The one directory tenant the built-in issuer serves (Entra ID's tenant id); `/{tenant}/…` paths must name it. */
  tenantId: string;
  token: {
    issuer: string;
    audiences: string[];
    lifetimeSeconds: number;
    signingKeyFile: string;
    external: { jwksUrl: string; issuer: string; audience: string } | undefined;
  };
  principals: PrincipalSeed[];
  backup: {
    blockSizeBytes: number;
    /** How many blocks of one backup an agent may send at once (told in the backup command). */
    blocksInFlight: number;
    schedulerTickSeconds: number;
    maxConcurrentPerVm: number;
    abandonedUploadMinutes: number;
    rpoGraceMinutes: number;
    /** The daily retention sweep runs at this hour (0–23), UTC. */
    retentionSweepHour: number;
    /** Ended uploads older than this go at the retention sweep (each item's latest of each type stays). */
    uploadHistoryDays: number;
  };
  /** Emulator controls (/emulator/v1: the clock, later faults); off unless enabled. */
  emulatorControls: boolean;
  /** Answer 500 when a response schema would drop or change part of a view (the test servers turn it on). */
  checkSerialization: boolean;
  protection: {
    limitErrorCode: string;
    discoveryIntervalSeconds: number;
    softDeletePurgeMinutes: number;
  };
  agent: {
    credentialsLifetimeHours: number;
    tokenLifetimeSeconds: number;
    heartbeatSeconds: number;
    unhealthyAfterSeconds: number;
    commandLeaseSeconds: number;
    commandTimeoutSeconds: number;
  };
  portal: {
    /** Interval of the comment lines that keep a portal event stream (SSE) open through proxies. */
    heartbeatSeconds: number;
  };
  /** Azure's support matrix for SQL Server backup: regions, Windows versions and SQL editions (docs/configuration.md). */
  supportMatrix: SupportMatrix;
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

/**
 * The service cannot start in this environment (a port taken, PostgreSQL or Redis not reachable, settings that would
 * split a deployment's state): one line for the operator, naming the setting, and exit code 2 like a ConfigError.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max} (got '${raw}')`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false (got '${raw}')`);
}

/**
 * A comma-separated list; unset keeps the default. Empty is an empty list where `mayBeEmpty` (no exceptions), and
 * refused elsewhere (nothing would be supported).
 */
function list(env: Env, name: string, fallback: readonly string[], mayBeEmpty = false): string[] {
  const raw = env[name];
  if (raw === undefined) return [...fallback];
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0 && !mayBeEmpty) throw new ConfigError(name, 'must list at least one value, comma-separated');
  return items;
}

function url(env: Env, name: string, fallback: string | undefined, protocols: string[]): string | undefined {
  const raw = optional(env, name) ?? fallback;
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL (got '${raw}')`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')} (got '${parsed.protocol}')`);
  }
  return raw;
}

/**
 * The master key wraps every vault's data key: from RV_MASTER_KEY, else created once in the data directory. The file
 * appears whole or not at all (written aside, then linked into place: the first of several processes starting on a
 * fresh volume wins, the others read its key), and what is read back must be a 32-byte key.
 */
function masterKey(env: Env, dataDir: string): Buffer {
  const raw = optional(env, 'RV_MASTER_KEY');
  if (raw !== undefined) return checkedMasterKey(raw, 'RV_MASTER_KEY', 'must be 32 bytes, base64-encoded');
  const file = join(dataDir, 'master.key');
  if (!existsSync(file)) createFileOnce(file, randomBytes(32).toString('base64'));
  return checkedMasterKey(
    readFileSync(file, 'utf8').trim(),
    'RV_MASTER_KEY',
    `is not set and ${file} does not hold a 32-byte base64 key (restore the deployment's key file or set RV_MASTER_KEY)`,
  );
}

function checkedMasterKey(base64: string, variable: string, problem: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new ConfigError(variable, problem);
  return key;
}

export const DEV_PRINCIPAL: PrincipalSeed = {
  id: '7f1c2a3e-0d5b-4c1e-9a6f-000000000001',
  displayName: 'recovery-vault development principal',
  clientId: 'recovery-vault-dev',
  clientSecret: 'recovery-vault-dev-secret',
  roles: [{ role: 'Contributor', subscriptions: ['*'] }],
};

function principals(env: Env): PrincipalSeed[] {
  const raw = optional(env, 'RV_PRINCIPALS');
  const seeds: PrincipalSeed[] = bool(env, 'RV_DEV_PRINCIPAL', true) ? [DEV_PRINCIPAL] : [];
  if (raw === undefined) return seeds;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('RV_PRINCIPALS', 'must be a JSON array of principals (see README, "Identity")');
  }
  if (!Array.isArray(parsed) || !parsed.every(isPrincipalSeed)) {
    throw new ConfigError(
      'RV_PRINCIPALS',
      'must be a JSON array of {id, displayName, clientId?, clientSecret?, roles:[{role, subscriptions:[...]}]}',
    );
  }
  return [...seeds, ...parsed];
}

function isPrincipalSeed(value: unknown): value is PrincipalSeed {
  const p = value as PrincipalSeed;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.id === 'string' &&
    typeof p.displayName === 'string' &&
    Array.isArray(p.roles) &&
    p.roles.every(
      (r) =>
        ['Contributor', 'BackupOperator', 'BackupReader'].includes(r.role) &&
        Array.isArray(r.subscriptions) &&
        r.subscriptions.every((s) => typeof s === 'string'),
    )
  );
}

/** A tenant id is a GUID, as Entra ID's are (lower-cased: paths compare case-insensitively). */
function tenant(env: Env): string {
  const value = str(env, 'RV_TENANT_ID', '00000000-0000-0000-0000-000000000000');
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value))
    throw new ConfigError('RV_TENANT_ID', `must be a GUID (got '${value}')`);
  return value.toLowerCase();
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = resolve(str(env, 'RV_DATA_DIR', '.data'));
  const httpsPort = int(env, 'RV_HTTPS_PORT', 8443, 0, 65535);
  const externalJwks = url(env, 'RV_EXTERNAL_JWKS_URL', undefined, ['https:', 'http:']);
  const externalIssuer = optional(env, 'RV_EXTERNAL_ISSUER');
  const externalAudience = optional(env, 'RV_EXTERNAL_AUDIENCE');
  if (externalJwks !== undefined && (externalIssuer === undefined || externalAudience === undefined)) {
    throw new ConfigError('RV_EXTERNAL_ISSUER', 'and RV_EXTERNAL_AUDIENCE are required with RV_EXTERNAL_JWKS_URL');
  }
  const tlsCert = optional(env, 'RV_TLS_CERT');
  const tlsKey = optional(env, 'RV_TLS_KEY');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError(tlsCert === undefined ? 'RV_TLS_CERT' : 'RV_TLS_KEY', 'must be set together with its pair');
  }
  return {
    dataDir,
    host: str(env, 'RV_HOST', '127.0.0.1'),
    httpPort: int(env, 'RV_HTTP_PORT', 8080, 0, 65535),
    httpsPort,
    publicUrl: url(env, 'RV_PUBLIC_URL', undefined, ['https:', 'http:'])?.replace(/\/+$/, ''),
    tls: { certFile: tlsCert, keyFile: tlsKey },
    databaseUrl: url(env, 'DATABASE_URL', 'postgresql://postgres@127.0.0.1:5432/recovery_vault', [
      'postgresql:',
      'postgres:',
    ]) as string,
    migrateOnStart: bool(env, 'RV_MIGRATE_ON_START', true),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']) as string,
    queuePrefix: str(env, 'RV_QUEUE_PREFIX', 'recovery-vault'),
    blobConnectionString: optional(env, 'RV_BLOB_CONNECTION_STRING'),
    azuritePort: int(env, 'RV_AZURITE_PORT', 10000, 0, 65535),
    blobContainerPrefix: str(env, 'RV_BLOB_CONTAINER_PREFIX', 'rv'),
    masterKey: masterKey(env, dataDir),
    retryAfterSeconds: int(env, 'RV_RETRY_AFTER_SECONDS', 1, 0, 3600),
    pageSize: int(env, 'RV_PAGE_SIZE', 200, 1, 5000),
    bodyLimitBytes: int(env, 'RV_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    workers: bool(env, 'RV_WORKERS', true),
    workerOnly: false,
    operationLeaseSeconds: int(env, 'RV_OPERATION_LEASE_SECONDS', 30, 2, 3600),
    logLevel: str(env, 'RV_LOG_LEVEL', 'info'),
    tenantId: tenant(env),
    token: {
      // Independent of ports, so a token from `recovery-vault token` fits whatever port the server listens on.
      issuer: str(env, 'RV_TOKEN_ISSUER', 'https://localhost/recovery-vault/'),
      audiences: str(env, 'RV_TOKEN_AUDIENCES', 'https://management.azure.com/,https://management.core.windows.net/')
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
      lifetimeSeconds: int(env, 'RV_TOKEN_LIFETIME_SECONDS', 3600, 60, 86400),
      signingKeyFile: resolve(str(env, 'RV_TOKEN_SIGNING_KEY_FILE', join(dataDir, 'token-signing-key.json'))),
      external:
        externalJwks !== undefined && externalIssuer !== undefined && externalAudience !== undefined
          ? { jwksUrl: externalJwks, issuer: externalIssuer, audience: externalAudience }
          : undefined,
    },
    principals: principals(env),
    backup: {
      blockSizeBytes: int(env, 'RV_BACKUP_BLOCK_SIZE_BYTES', 4 * 1024 * 1024, 512, 100 * 1024 * 1024),
      blocksInFlight: int(env, 'RV_BACKUP_BLOCKS_IN_FLIGHT', 4, 1, 16),
      schedulerTickSeconds: int(env, 'RV_SCHEDULER_TICK_SECONDS', 30, 1, 3600),
      maxConcurrentPerVm: int(env, 'RV_MAX_CONCURRENT_BACKUPS_PER_VM', 20, 1, 1000),
      abandonedUploadMinutes: int(env, 'RV_ABANDONED_UPLOAD_MINUTES', 360, 1, 7 * 24 * 60),
      rpoGraceMinutes: int(env, 'RV_RPO_GRACE_MINUTES', 15, 0, 24 * 60),
      retentionSweepHour: int(env, 'RV_RETENTION_SWEEP_HOUR', 0, 0, 23),
      uploadHistoryDays: int(env, 'RV_UPLOAD_HISTORY_DAYS', 7, 1, 3650),
    },
    emulatorControls: bool(env, 'RV_EMULATOR_CONTROLS', false),
    checkSerialization: bool(env, 'RV_CHECK_SERIALIZATION', false),
    protection: {
      limitErrorCode: str(env, 'RV_MAX_ITEMS_ERROR_CODE', 'UserErrorMaxProtectedItemsReached'),
      discoveryIntervalSeconds: int(env, 'RV_DISCOVERY_INTERVAL_SECONDS', 8 * 3600, 1, 30 * 86400),
      softDeletePurgeMinutes: int(env, 'RV_SOFT_DELETE_PURGE_MINUTES', 60, 1, 24 * 60),
    },
    agent: {
      credentialsLifetimeHours: int(env, 'RV_CREDENTIALS_LIFETIME_HOURS', 48, 1, 24 * 365),
      tokenLifetimeSeconds: int(env, 'RV_AGENT_TOKEN_LIFETIME_SECONDS', 7 * 86400, 60, 365 * 86400),
      heartbeatSeconds: int(env, 'RV_AGENT_HEARTBEAT_SECONDS', 30, 1, 3600),
      unhealthyAfterSeconds: int(env, 'RV_AGENT_UNHEALTHY_AFTER_SECONDS', 180, 1, 86400),
      commandLeaseSeconds: int(env, 'RV_AGENT_COMMAND_LEASE_SECONDS', 60, 1, 3600),
      commandTimeoutSeconds: int(env, 'RV_AGENT_COMMAND_TIMEOUT_SECONDS', 900, 1, 86400),
    },
    portal: {
      heartbeatSeconds: int(env, 'RV_PORTAL_HEARTBEAT_SECONDS', 15, 1, 3600),
    },
    supportMatrix: {
      unsupportedRegions: list(env, 'RV_SQL_UNSUPPORTED_REGIONS', DEFAULT_SUPPORT_MATRIX.unsupportedRegions, true),
      operatingSystems: list(env, 'RV_SQL_SUPPORTED_OS', DEFAULT_SUPPORT_MATRIX.operatingSystems),
      sqlEditions: list(env, 'RV_SQL_SUPPORTED_EDITIONS', DEFAULT_SUPPORT_MATRIX.sqlEditions),
    },
  };
}
