import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createFileOnce } from '../src/files.ts';
import { applyMigrations } from '../src/db/migrations.ts';
import { masterKeyCheckValue } from '../src/db/master-key-check.ts';
import { ownDatabase } from './support/databases.ts';
import { TEST_MASTER_KEY } from './support/global-setup.ts';
import { eventually, freePort, spawnManaged, type ManagedProcess } from './support/processes.ts';

/**
 * What an operator sees when the service cannot start (one line on stderr naming the setting, exit code 2), and what
 * a killed service leaves behind (nothing: its embedded Azurite ends with it).
 */
const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'rv-startup-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const baseEnv = () => ({
  ...process.env,
  RV_DATA_DIR: dataDir(),
  RV_HTTPS_PORT: '0',
  RV_HTTP_PORT: '0',
  DATABASE_URL: inject('databaseUrl'),
  RV_MIGRATE_ON_START: 'false',
  RV_BLOB_CONNECTION_STRING: inject('blobConnectionString'),
  RV_MASTER_KEY: TEST_MASTER_KEY,
  RV_QUEUE_PREFIX: `rv-startup-${Math.random().toString(36).slice(2)}`,
  RV_LOG_LEVEL: 'warn',
});

const start = (script: 'server.ts' | 'worker.ts', env: NodeJS.ProcessEnv) =>
  spawnManaged(script, process.execPath, ['--import', 'tsx', join(process.cwd(), 'src', script)], env);

/** Runs the process to its end: exit code and stderr lines (stdout holds the JSON log). */
async function failedStart(script: 'server.ts' | 'worker.ts', env: NodeJS.ProcessEnv) {
  const child = start(script, env);
  const timer = setTimeout(() => void child.kill(), 60_000);
  const code = await child.exited;
  clearTimeout(timer);
  const stderr = child.process.stderr === null ? [] : child.lines.filter((line) => !line.startsWith('{'));
  return { code, stderr: stderr.filter((line) => line.trim() !== '') };
}

describe('a start that cannot succeed says why in one line, exit code 2', () => {
  let holder: Server | undefined;
  afterAll(() => holder?.close());

  it('a port in use names the port and its setting', async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder?.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    const result = await failedStart('server.ts', { ...baseEnv(), RV_HTTPS_PORT: String(port) });
    expect(result.code).toBe(2);
    expect(result.stderr).toEqual([
      expect.stringMatching(new RegExp(`^port ${port} is already in use \\(RV_HTTPS_PORT\\)`)),
    ]);
  });

  it('PostgreSQL not reachable names DATABASE_URL and how to start it', async () => {
    const url = `postgresql://postgres@127.0.0.1:${await freePort()}/nowhere`;
    const result = await failedStart('server.ts', { ...baseEnv(), DATABASE_URL: url });
    expect(result.code).toBe(2);
    expect(result.stderr).toEqual([
      expect.stringMatching(/^cannot reach PostgreSQL at .* \(DATABASE_URL\): .*docker compose up -d postgres redis/),
    ]);
  });

  it('Redis not reachable names REDIS_URL and how to start it (a worker-only process too)', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    for (const script of ['server.ts', 'worker.ts'] as const) {
      const result = await failedStart(script, { ...baseEnv(), REDIS_URL: url });
      expect(result.code).toBe(2);
      expect(result.stderr).toEqual([
        expect.stringMatching(
          /^cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(REDIS_URL\): .*docker compose up -d/,
        ),
      ]);
    }
  });

  it('a master key other than the database was initialised with is refused, and nothing is written', async () => {
    // A database of its own: the run's shared one is written by the files running alongside.
    const own = ownDatabase('startup_key');
    await applyMigrations(own.url);
    const db = new pg.Client({ connectionString: own.url });
    await db.connect();
    const snapshot = async () =>
      (
        await db.query<{ settings: string; operations: string; principals: string }>(
          `SELECT (SELECT string_agg("name" || '=' || "value", ',' ORDER BY "name") FROM "DeploymentSetting") AS settings,
                  (SELECT count(*) FROM "Operation")::text AS operations,
                  (SELECT count(*) FROM "Principal")::text AS principals`,
        )
      ).rows[0];
    try {
      await db.query(`INSERT INTO "DeploymentSetting" ("name", "value") VALUES ('master-key-check', $1)`, [
        masterKeyCheckValue(Buffer.from(TEST_MASTER_KEY, 'base64')),
      ]);
      const before = await snapshot();
      const other = Buffer.alloc(32, 9).toString('base64');
      for (const script of ['server.ts', 'worker.ts'] as const) {
        const result = await failedStart(script, { ...baseEnv(), DATABASE_URL: own.url, RV_MASTER_KEY: other });
        expect(result.code).toBe(2);
        expect(result.stderr).toEqual([expect.stringMatching(/^RV_MASTER_KEY is not the master key this database/)]);
      }
      expect(await snapshot()).toEqual(before);
    } finally {
      await db.end();
      await own.drop();
    }
  });

  it('a scaled-out process without RV_BLOB_CONNECTION_STRING does not start an Azurite of its own', async () => {
    const { RV_BLOB_CONNECTION_STRING: _shared, ...env } = baseEnv();
    const worker = await failedStart('worker.ts', env);
    const api = await failedStart('server.ts', { ...env, RV_WORKERS: 'false' });
    for (const result of [worker, api]) {
      expect(result.code).toBe(2);
      expect(result.stderr).toEqual([
        expect.stringMatching(/^RV_BLOB_CONNECTION_STRING must be set in a scaled-out process/),
      ]);
    }
  });
});

describe('key files', () => {
  it('are created once, atomically: a second creator keeps the first content', () => {
    const file = join(dataDir(), 'nested', 'key');
    expect(createFileOnce(file, 'first')).toBe(true);
    expect(createFileOnce(file, 'second')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('first');
  });

  it('a master key file that is not a 32-byte key is refused, naming the setting', () => {
    const dir = dataDir();
    const key = loadConfig({ RV_DATA_DIR: dir }).masterKey;
    expect(loadConfig({ RV_DATA_DIR: dir }).masterKey.equals(key)).toBe(true);
    writeFileSync(join(dir, 'master.key'), key.toString('base64').slice(0, 20));
    expect(() => loadConfig({ RV_DATA_DIR: dir })).toThrow(ConfigError);
    expect(() => loadConfig({ RV_DATA_DIR: dir })).toThrow(/RV_MASTER_KEY is not set and .*master\.key does not hold/);
  });
});

describe('kill -9 of the service', () => {
  let service: ManagedProcess | undefined;
  afterAll(async () => service?.kill());

  it('leaves no embedded Azurite behind', async () => {
    const { RV_BLOB_CONNECTION_STRING: _shared, ...env } = baseEnv();
    service = start('server.ts', { ...env, RV_AZURITE_PORT: '0', RV_LOG_LEVEL: 'info' });
    await service.waitForLine(/^recovery-vault: https:/, 60_000);
    const pid = service.process.pid as number;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    const azurite = children.find((child) =>
      readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('azurite'),
    ) as number;
    expect(azurite).toBeGreaterThan(0);
    await service.kill();
    await eventually('the embedded Azurite to end', async () => !alive(azurite), 20_000);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
