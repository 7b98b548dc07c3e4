import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { loadConfig, type Config, type PrincipalSeed } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { TEST_MASTER_KEY } from './global-setup.ts';

export interface TestServer extends RunningServer {
  config: Config;
  stop(): Promise<void>;
}

/**
 * A real service on ephemeral HTTPS and HTTP ports, against the run's Postgres database, Redis (own queue prefix)
 * and Azurite. Extra environment overrides the defaults, exactly as a user's environment would.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  principals: PrincipalSeed[] = [],
): Promise<TestServer> {
  const { config, dataDir } = testConfig(env, principals);
  const server = await startServer(config);
  return {
    ...server,
    config,
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The configuration of a test service, with a data directory of its own (the caller removes it). */
export function testConfig(
  env: Record<string, string> = {},
  principals: PrincipalSeed[] = [],
): { config: Config; dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'recovery-vault-server-'));
  const config = loadConfig({
    RV_DATA_DIR: dataDir,
    RV_HTTPS_PORT: '0',
    RV_HTTP_PORT: '0',
    RV_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    DATABASE_URL: inject('databaseUrl'),
    RV_MIGRATE_ON_START: 'false',
    RV_BLOB_CONNECTION_STRING: inject('blobConnectionString'),
    RV_TLS_CERT: inject('tlsCertFile'),
    RV_TLS_KEY: inject('tlsKeyFile'),
    RV_QUEUE_PREFIX: `rv-test-${randomUUID()}`,
    RV_MASTER_KEY: TEST_MASTER_KEY,
    RV_RETRY_AFTER_SECONDS: '0',
    // A response schema that drops or changes part of a view answers 500 (src/plugins/serialization-check.ts).
    RV_CHECK_SERIALIZATION: 'true',
    // The suite shares one database: no server dispatches scheduled backups on its own (tests drive the emulator
    // clock on a database of their own instead).
    RV_SCHEDULER_TICK_SECONDS: '3600',
    RV_PRINCIPALS: JSON.stringify(principals),
    ...env,
  });
  return { config, dataDir };
}

/** A principal with one role on the given subscriptions, with a random id and secret. */
export function principalWith(
  role: PrincipalSeed['roles'][number]['role'],
  subscriptions: string[],
): PrincipalSeed & { clientId: string; clientSecret: string } {
  const id = randomUUID();
  return {
    id,
    displayName: `${role} test principal`,
    clientId: `client-${id}`,
    clientSecret: randomUUID(),
    roles: [{ role, subscriptions }],
  };
}
