import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import { vaultContainerName } from '../../src/storage/containers.ts';
import { fetchVaultCredentials, spawnAgent, type AgentProcess } from './agent-process.ts';
import { ownDatabase } from './databases.ts';
import { TEST_MASTER_KEY } from './global-setup.ts';
import { dailyFullWithLogs } from './policies.ts';
import { fetchToken, sdkClients } from './sdk.ts';
import type { TestServer } from './server.ts';
import { registeredSqlVm, sqlVmSpec } from './vm.ts';
import { protectDatabase } from './protection.ts';

/**
 * Real processes for the fault tests: the service (src/server.ts) and its workers (src/worker.ts) as child processes
 * that can be killed with SIGKILL, and private Redis and PostgreSQL servers that can be stopped and restarted without
 * touching the machine's shared ones. Output handling follows test/support/agent-process.ts.
 */

const root = process.cwd();

export interface ManagedProcess {
  name: string;
  process: ChildProcess;
  /** Every line so far, stdout and stderr interleaved as they arrived. */
  lines: string[];
  /** Resolves with the first line (seen already or to come) matching `pattern`; rejects on timeout or exit. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The exit code once the process has exited (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Whether the process is still running. */
  readonly running: boolean;
  /** SIGTERM (SIGKILL after `timeoutMs`), then the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL, then resolves once the process is gone. */
  kill(): Promise<void>;
}

/** Starts `command` with its output collected line by line. */
export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): ManagedProcess {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      if (parts.length > 0) notify();
    });
    stream.on('end', () => {
      if (partial !== '') lines.push(partial);
      partial = '';
      notify();
    });
  }
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      exitCode = code;
      resolve(code);
      notify();
    });
  });
  const waitForLine = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      let seen = 0;
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      const check = () => {
        for (; seen < lines.length; seen++) {
          if (pattern.test(lines[seen] as string)) {
            done();
            resolve(lines[seen] as string);
            return;
          }
        }
        if (exitCode !== undefined) {
          done();
          reject(
            new Error(
              `${name} exited (${String(exitCode)}) before printing a line matching ${pattern}; it printed:\n${lines.slice(-40).join('\n')}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `${name}: no line matching ${pattern} within ${timeoutMs} ms; it printed:\n${lines.slice(-40).join('\n')}`,
          ),
        );
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  return {
    name,
    process: child,
    lines,
    waitForLine,
    exited,
    get running() {
      return exitCode === undefined;
    },
    async stop(timeoutMs = 20_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async kill() {
      if (exitCode === undefined) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A rig's start time, tomorrow at hh:mm UTC (a day of schedules ahead, none of them past), and times of that day. */
export function tomorrowFrom(hh: number, mm: number): { start: Date; at(hh: number, mm: number): Date } {
  const start = new Date(Date.now() + 86_400_000);
  start.setUTCHours(hh, mm, 0, 0);
  return {
    start,
    at: (h, m) => new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate(), h, m)),
  };
}

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `probe` until it returns something other than undefined/false; a deadline, not a sleep. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${(last as Error).message})`}`,
      );
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The service as processes

export interface ServiceProcess extends ManagedProcess {
  /** https://localhost:PORT (the API only). */
  httpsUrl: string;
  httpUrl: string;
}

/**
 * The environment of a service process, as startTestServer builds it for an in-process server: the run's database,
 * Azurite and certificate, its own queue prefix. `shared` is what every process of one deployment must agree on
 * (data dir for the signing key, master key, prefix); pass the same object to every process of that deployment.
 */
export interface Deployment {
  env: Record<string, string>;
  dataDir: string;
  remove(): void;
}

export function deployment(env: Record<string, string> = {}): Deployment {
  const dataDir = mkdtempSync(join(tmpdir(), 'rv-fault-deploy-'));
  return {
    dataDir,
    env: {
      RV_DATA_DIR: dataDir,
      RV_LOG_LEVEL: 'info',
      DATABASE_URL: inject('databaseUrl'),
      RV_MIGRATE_ON_START: 'false',
      RV_BLOB_CONNECTION_STRING: inject('blobConnectionString'),
      RV_TLS_CERT: inject('tlsCertFile'),
      RV_TLS_KEY: inject('tlsKeyFile'),
      RV_MASTER_KEY: TEST_MASTER_KEY,
      RV_QUEUE_PREFIX: `rv-fault-${randomUUID()}`,
      RV_RETRY_AFTER_SECONDS: '0',
      RV_SCHEDULER_TICK_SECONDS: '3600',
      RV_PRINCIPALS: '[]',
      ...env,
    },
    remove: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

const tsx = (script: string) => ['--import', 'tsx', join(root, 'src', script)];

/**
 * The API (src/server.ts) as its own process, on the given ports (fixed ports let a restarted API come back where
 * the agents look for it). Resolves once it listens.
 */
export async function spawnApi(
  deploy: Deployment,
  options: { httpsPort: number; httpPort?: number; env?: Record<string, string> },
): Promise<ServiceProcess> {
  const child = spawnManaged('api', process.execPath, tsx('server.ts'), {
    ...process.env,
    ...deploy.env,
    RV_HTTPS_PORT: String(options.httpsPort),
    RV_HTTP_PORT: String(options.httpPort ?? 0),
    ...options.env,
  });
  const line = await child.waitForLine(/^recovery-vault: https:\/\/\S+ \(HTTPS\), http:\/\/\S+ \(HTTP\)$/, 60_000);
  const [, httpsUrl = '', httpUrl = ''] = /^recovery-vault: (\S+) \(HTTPS\), (\S+) \(HTTP\)$/.exec(line) ?? [];
  return Object.assign(child, { httpsUrl, httpUrl });
}

/** The workers alone (src/worker.ts) as their own process. Resolves once they run. */
export async function spawnWorker(deploy: Deployment, env: Record<string, string> = {}): Promise<ManagedProcess> {
  const child = spawnManaged('worker', process.execPath, tsx('worker.ts'), {
    ...process.env,
    ...deploy.env,
    RV_LOG_LEVEL: 'info',
    ...env,
  });
  await child.waitForLine(/recovery-vault workers started/, 60_000);
  return child;
}

// ---------------------------------------------------------------------------------------------------------------
// Private Redis and PostgreSQL (never the machine's shared ones)

export interface PrivateRedis {
  port: number;
  url: string;
  /** Stops the server (SIGKILL when `crash`, else SIGTERM); its data is gone (no persistence). */
  stop(crash?: boolean): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let server: ManagedProcess | undefined;
  const start = async () => {
    server = spawnManaged('redis', 'redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    await server.waitForLine(/Ready to accept connections/, 20_000);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    async stop(crash = false) {
      if (server === undefined) return;
      if (crash) await server.kill();
      else await server.stop();
      server = undefined;
    },
  };
}

export interface PrivatePostgres {
  port: number;
  /** A URL for `database` on this cluster. */
  url(database: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the cluster and removes its files. */
  destroy(): Promise<void>;
}

function postgresBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions[0] === undefined) throw new Error('no PostgreSQL under /usr/lib/postgresql');
  return join('/usr/lib/postgresql', versions[0], 'bin', name);
}

async function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const child = spawnManaged(command, command, args, env);
  const code = await child.exited;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${String(code)}:\n${child.lines.join('\n')}`);
}

/** A PostgreSQL cluster of its own (initdb in a temporary directory, trust auth), on a free port. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'rv-fault-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  // initdb refuses to run as root: run the cluster as the postgres user when we are root.
  const asRoot = process.getuid?.() === 0;
  const wrap = (bin: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  if (asRoot) await run('chown', ['postgres', dir]);
  await run(...wrap(postgresBin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync']));
  const ctl = (action: 'start' | 'stop') =>
    run(
      ...wrap(postgresBin('pg_ctl'), [
        '-D',
        data,
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
        '-l',
        join(dir, 'log'),
        '-w',
        '-m',
        'fast',
        action,
      ]),
    );
  await ctl('start');
  let running = true;
  return {
    port,
    url: (database) => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      if (!running) await ctl('start');
      running = true;
    },
    async stop() {
      if (running) await ctl('stop');
      running = false;
    },
    async destroy() {
      if (running) await ctl('stop').catch(() => undefined);
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// A deployment that backs up: API and worker processes on a database of their own (the emulator clock and the
// scheduler are global to a database), a VM registered to a vault, its agent as a real process.

export interface BackupRig {
  deploy: Deployment;
  api: ServiceProcess;
  worker: ManagedProcess | undefined;
  /** The VM's agent (a new process after restartAgent). */
  agent: AgentProcess;
  /** The test's own connection to the rig's database, for what the API does not show (uploads, blocks, locks). */
  sql: pg.Client;
  token: string;
  backup: RecoveryServicesBackupClient;
  vault: string;
  vaultId: string;
  containerName: string;
  itemName: string;
  /** Starts the API again on the same port (after a kill). */
  restartApi(): Promise<void>;
  /** Starts the agent again on the same state directory (after a kill or stop). */
  restartAgent(): Promise<void>;
  startWorker(): Promise<void>;
  /** POST /emulator/v1/clock. */
  clock(body: object): Promise<{ now: string; backupsStarted?: number }>;
  /** Moves the service clock to `seconds` before `at`, so that the worker's scheduler tick dispatches what is due then. */
  approach(at: Date, seconds?: number): Promise<void>;
  /** Committed blobs in the vault's blob container, and the blobs its recovery points name. */
  blobs(): Promise<{ committed: string[]; recoveryPoints: string[] }>;
  /** Uploads by state. */
  uploads(): Promise<{ id: string; state: string; backupType: string; jobId: string | null }[]>;
  stop(): Promise<void>;
}

/**
 * The rig: a database `name` created for it (dropped at stop), API (RV_WORKERS=false) and worker processes with a
 * 1-second scheduler tick and emulator controls, a vault with a daily-Full + 15-minute-Log policy, a VM with one
 * database of `sizeMiB` registered by an agent process, the database protected (its first scheduled backup heals
 * into a Full). The service clock starts at `start`.
 */
export async function backupRig(options: {
  name: string;
  sizeMiB: number;
  start: Date;
  blockSizeBytes?: number;
  redisUrl?: string;
  withWorker?: boolean;
  /** More settings for every service process of the rig. */
  env?: Record<string, string>;
}): Promise<BackupRig> {
  const database = ownDatabase(`rv_fault_${options.name}`);
  const databaseUrl = database.url;
  const deploy = deployment({
    DATABASE_URL: databaseUrl,
    RV_MIGRATE_ON_START: 'true',
    RV_EMULATOR_CONTROLS: 'true',
    RV_SCHEDULER_TICK_SECONDS: '1',
    RV_BACKUP_BLOCK_SIZE_BYTES: String(options.blockSizeBytes ?? 256 * 1024),
    RV_AGENT_HEARTBEAT_SECONDS: '5',
    ...(options.redisUrl === undefined ? {} : { REDIS_URL: options.redisUrl }),
    ...options.env,
  });
  const httpsPort = await freePort();
  const apiEnv = { RV_WORKERS: String(options.withWorker === false) };
  let api = await spawnApi(deploy, { httpsPort, env: apiEnv });
  let worker: ManagedProcess | undefined = options.withWorker === false ? undefined : await spawnWorker(deploy);
  const sql = new pg.Client({ connectionString: databaseUrl });
  await sql.connect();
  const token = await fetchToken(api.httpsUrl);
  const subscriptionId = randomUUID();
  const { vaults, backup } = sdkClients(api.httpsUrl, token, subscriptionId);
  const vault = `fault-${options.name}`;
  const clock = async (body: object) => {
    const response = await fetch(`${api.httpsUrl}/emulator/v1/clock`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 200) throw new Error(`clock: ${response.status} ${await response.text()}`);
    return (await response.json()) as { now: string; backupsStarted?: number };
  };
  await clock({ to: options.start.toISOString() });
  const created = await vaults.vaults.createOrUpdate(
    'rg',
    vault,
    { location: 'westeurope', sku: { name: 'Standard' } },
    { updateIntervalInMs: 50 },
  );
  const vaultId = (await sql.query<{ id: string }>('SELECT "id" FROM "Vault" LIMIT 1')).rows[0]?.id ?? '';
  await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'DailyFull', dailyFullWithLogs(15));
  const spec = sqlVmSpec(`${options.name}vm`, ['big']);
  Object.assign(spec.instances[0]!.databases[0]!, { sizeMiB: options.sizeMiB, writesPerMinute: 60 });
  const registered = await registeredSqlVm(
    { httpsUrl: api.httpsUrl } as TestServer,
    backup,
    token,
    created.id ?? '',
    spec,
  );
  const stateDir = registered.agent.simulatedState?.stateDir ?? '';
  await registered.agent.stop();
  const files = mkdtempSync(join(tmpdir(), 'rv-fault-agent-'));
  const credentialsFile = join(files, 'vault.credentials.json');
  const specFile = join(files, 'vm.json');
  writeFileSync(credentialsFile, JSON.stringify(await fetchVaultCredentials(api.httpsUrl, token, created.id ?? '')));
  writeFileSync(specFile, JSON.stringify(spec));
  const startAgent = async () => {
    const started = spawnAgent({ serverUrl: api.httpsUrl, credentialsFile, specFile, stateDir });
    await started.waitForLine(/^(resumed|registered) /, 30_000);
    return started;
  };
  let agent = await startAgent();
  const itemName = 'SQLDataBase;MSSQLSERVER;big';
  await protectDatabase(backup, created.id ?? '', registered.containerName, itemName, 'DailyFull');
  await eventually(
    'the protection to be configured',
    async () =>
      (await sql.query('SELECT 1 FROM "ProtectedItem" WHERE "nextLogAt" IS NOT NULL OR "nextFullAt" IS NOT NULL'))
        .rowCount === 1,
    30_000,
  );
  const container = BlobServiceClient.fromConnectionString(inject('blobConnectionString')).getContainerClient(
    vaultContainerName('rv', vaultId),
  );

  return {
    deploy,
    get api() {
      return api;
    },
    get worker() {
      return worker;
    },
    get agent() {
      return agent;
    },
    sql,
    token,
    backup,
    vault,
    vaultId,
    containerName: registered.containerName,
    itemName,
    async restartApi() {
      api = await spawnApi(deploy, { httpsPort, env: apiEnv });
    },
    async restartAgent() {
      agent = await startAgent();
    },
    async startWorker() {
      worker = await spawnWorker(deploy);
    },
    clock,
    async approach(at, seconds = 2) {
      await clock({ to: new Date(at.getTime() - seconds * 1000).toISOString() });
    },
    async blobs() {
      const committed: string[] = [];
      if (await container.exists()) for await (const blob of container.listBlobsFlat()) committed.push(blob.name);
      const points = await sql.query<{ blobName: string }>(
        'SELECT "blobName" FROM "RecoveryPoint" ORDER BY "blobName"',
      );
      return { committed: committed.sort(), recoveryPoints: points.rows.map((r) => r.blobName) };
    },
    async uploads() {
      return (
        await sql.query<{ id: string; state: string; backupType: string; jobId: string | null }>(
          'SELECT "id", "state", "backupType", "jobId" FROM "BackupUpload" ORDER BY "createdAt"',
        )
      ).rows;
    },
    async stop() {
      await agent.stop();
      await Promise.all([api.stop(), worker?.stop()]);
      await sql.end();
      await database.drop();
      rmSync(files, { recursive: true, force: true });
      deploy.remove();
    },
  };
}
