import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';

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
export function spawnManaged(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ManagedProcess {
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
          reject(new Error(`${name} exited (${String(exitCode)}) before printing a line matching ${pattern}; it printed:\n${lines.slice(-40).join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms; it printed:\n${lines.slice(-40).join('\n')}`));
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

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `probe` until it returns something other than undefined/false; a deadline, not a sleep. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${(last as Error).message})`}`);
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
      RV_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
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
export async function spawnApi(deploy: Deployment, options: { httpsPort: number; httpPort?: number; env?: Record<string, string> }): Promise<ServiceProcess> {
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
  const child = spawnManaged('worker', process.execPath, tsx('worker.ts'), { ...process.env, ...deploy.env, RV_LOG_LEVEL: 'info', ...env });
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
    server = spawnManaged('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
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
  const wrap = (bin: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args]);
  if (asRoot) await run('chown', ['postgres', dir]);
  await run(...wrap(postgresBin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync']));
  const ctl = (action: 'start' | 'stop') =>
    run(...wrap(postgresBin('pg_ctl'), ['-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', join(dir, 'log'), '-w', '-m', 'fast', action]));
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
