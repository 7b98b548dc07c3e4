import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { TEST_MASTER_KEY } from './support/global-setup.ts';
import { fetchToken, sdkClients } from './support/sdk.ts';

const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');

describe('configuration', () => {
  it.each([
    ['RV_HTTPS_PORT', 'not-a-port', 'RV_HTTPS_PORT must be an integer from 0 to 65535'],
    ['DATABASE_URL', 'mysql://x', 'DATABASE_URL must use postgresql: or postgres:'],
    ['REDIS_URL', '::::', 'REDIS_URL must be a URL'],
    ['RV_MASTER_KEY', 'c2hvcnQ=', 'RV_MASTER_KEY must be 32 bytes'],
    ['RV_MIGRATE_ON_START', 'maybe', 'RV_MIGRATE_ON_START must be true or false'],
    ['RV_PRINCIPALS', '[{"id":1}]', 'RV_PRINCIPALS must be a JSON array'],
  ])('rejects %s=%s naming the variable', (name, value, message) => {
    expect(() => loadConfig({ RV_DATA_DIR: mkdtempSync(join(tmpdir(), 'rv-config-')), [name]: value })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ RV_DATA_DIR: mkdtempSync(join(tmpdir(), 'rv-config-')), [name]: value })).toThrow(
      message,
    );
  });

  it('fails at start with one clear line and exit code 2', () => {
    const result = spawnSync(tsx, ['src/server.ts'], {
      env: { ...process.env, RV_DATA_DIR: mkdtempSync(join(tmpdir(), 'rv-config-')), RV_HTTP_PORT: '99999' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      "Invalid configuration: RV_HTTP_PORT must be an integer from 0 to 65535 (got '99999')",
    ]);
  });

  it('works with no environment at all: every default targets this machine', () => {
    const config = loadConfig({ RV_DATA_DIR: mkdtempSync(join(tmpdir(), 'rv-config-')) });
    expect(config).toMatchObject({
      httpsPort: 8443,
      databaseUrl: 'postgresql://postgres@127.0.0.1:5432/recovery_vault',
      redisUrl: 'redis://127.0.0.1:6379',
      blobConnectionString: undefined,
      migrateOnStart: true,
    });
    expect(config.masterKey).toHaveLength(32);
  });

  it('takes the regions of the support matrix from RV_SQL_UNSUPPORTED_REGIONS (empty: every region)', () => {
    const config = (regions: string) =>
      loadConfig({ RV_DATA_DIR: mkdtempSync(join(tmpdir(), 'rv-config-')), RV_SQL_UNSUPPORTED_REGIONS: regions });
    expect(config('westeurope, eastus').supportMatrix.unsupportedRegions).toEqual(['westeurope', 'eastus']);
    expect(config('').supportMatrix.unsupportedRegions).toEqual([]);
    expect(config(' , ').supportMatrix.unsupportedRegions).toEqual([]);
    expect(() =>
      loadConfig({ RV_DATA_DIR: mkdtempSync(join(tmpdir(), 'rv-config-')), RV_SQL_SUPPORTED_OS: '' }),
    ).toThrow(ConfigError);
  });
});

describe('the running service', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.stop());

  it('is live and ready when Postgres, Redis and blob storage answer', async () => {
    expect(await (await fetch(`${server.httpUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.httpsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { database: { status: 'ok' }, redis: { status: 'ok' }, blob: { status: 'ok' } },
    });
  });

  it('prints a working token for the development principal with `recovery-vault token`', () => {
    const result = spawnSync(tsx, ['src/cli.ts', 'token'], {
      env: { ...process.env, RV_DATA_DIR: server.config.dataDir },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(0);
    const token = result.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    return sdkClients(server.httpsUrl, token, randomUUID())
      .vaults.vaults.createOrUpdate('rg', 'cli-token-vault', { location: 'westeurope' }, { updateIntervalInMs: 50 })
      .then((vault) => expect(vault.name).toBe('cli-token-vault'));
  });
});

describe('readiness without blob storage', () => {
  it('reports 503 with the failing dependency', async () => {
    const server = await startTestServer({
      RV_BLOB_CONNECTION_STRING:
        'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;',
    });
    try {
      const ready = await fetch(`${server.httpUrl}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { status: string; checks: Record<string, { status: string }> };
      expect(body.status).toBe('unavailable');
      expect(body.checks.blob?.status).toBe('unavailable');
      expect(body.checks.database?.status).toBe('ok');
    } finally {
      await server.stop();
    }
  });
});

describe('process lifecycle', () => {
  it('starts with one command and shuts down gracefully on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rv-process-'));
    const child = spawn(tsx, ['src/server.ts'], {
      env: {
        ...process.env,
        RV_DATA_DIR: dataDir,
        RV_HTTPS_PORT: '0',
        RV_HTTP_PORT: '0',
        DATABASE_URL: inject('databaseUrl'),
        RV_BLOB_CONNECTION_STRING: inject('blobConnectionString'),
        RV_MASTER_KEY: TEST_MASTER_KEY,
        RV_QUEUE_PREFIX: `rv-test-${randomUUID()}`,
        RV_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('NODE_EXTRA_CA_CERTS=')) resolve(out);
        });
        child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
      });
      expect(banner).toContain(`NODE_EXTRA_CA_CERTS=${join(dataDir, 'tls', 'cert.pem')}`);
      const httpUrl = /(http:\/\/\S+) \(HTTP\)/.exec(banner)?.[1];
      expect((await fetch(`${httpUrl}/healthz`)).status).toBe(200);
      // The certificate ends with a newline, so that `cat cert.pem system-bundle.pem` is a valid bundle.
      expect(readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8')).toMatch(/-----END CERTIFICATE-----\n$/);
      // `recovery-vault credentials --server https://…` trusts that certificate by itself (no NODE_EXTRA_CA_CERTS):
      // the vault does not exist, and the answer says so instead of failing the TLS handshake.
      const httpsUrl = /(https:\/\/\S+) \(HTTPS\)/.exec(banner)?.[1] ?? '';
      const { NODE_EXTRA_CA_CERTS: _trusted, ...untrusting } = process.env;
      const credentials = await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli.ts',
          'credentials',
          '--subscription',
          randomUUID(),
          '--resource-group',
          'rg',
        ].concat(['--vault', 'missing', '--out', join(dataDir, 'c.json'), '--server', httpsUrl]),
        { env: { ...untrusting, RV_DATA_DIR: dataDir }, encoding: 'utf8' },
      ).catch((error: { code: number; stderr: string }) => error);
      expect(credentials).toMatchObject({ code: 1, stderr: expect.stringContaining('404 ResourceNotFound') });
      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('emulator controls', () => {
  it('are off unless enabled: the clock is the wall clock and /emulator answers 404', async () => {
    const server = await startTestServer();
    try {
      const token = await fetchToken(server.httpsUrl);
      const response = await fetch(`${server.httpsUrl}/emulator/v1/clock`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(404);
      expect(Math.abs(server.app.clock.now().getTime() - Date.now())).toBeLessThan(1_000);
    } finally {
      await server.stop();
    }
  });
});
