import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { applyMigrations } from '../../src/db/migrations.ts';
import { startAzurite } from '../../src/storage/azurite.ts';
import { loadConfig } from '../../src/config.ts';
import { loadOrCreateCertificate } from '../../src/tls.ts';
import { modelCheckSummary } from './azure-model/summary.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    blobConnectionString: string;
    tlsCertFile: string;
    tlsKeyFile: string;
    modelCheckDir: string;
  }
}

export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/recovery_vault_test';

/**
 * Once per run: migrate the test database, start one Azurite (blob, in memory) and make one TLS certificate that
 * the test processes trust the way users do, through NODE_EXTRA_CA_CERTS (set before vitest forks them).
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'recovery-vault-test-'));
  await applyMigrations(TEST_DATABASE_URL);
  const azurite = await startAzurite({ port: 0 });
  const tls = await loadOrCreateCertificate(
    loadConfig({ RV_DATA_DIR: dir, RV_MASTER_KEY: Buffer.alloc(32, 1).toString('base64') }),
  );
  process.env.NODE_EXTRA_CA_CERTS = tls.certFile;
  project.provide('databaseUrl', TEST_DATABASE_URL);
  project.provide('blobConnectionString', azurite.connectionString);
  project.provide('tlsCertFile', tls.certFile);
  project.provide('tlsKeyFile', join(dir, 'tls', 'key.pem'));
  const modelCheckDir = join(dir, 'azure-model-check');
  mkdirSync(modelCheckDir);
  project.provide('modelCheckDir', modelCheckDir);
  return async () => {
    await azurite.stop();
    // Each test file fails on its own drift; this is the run's total over every SDK-driven file.
    const summary = modelCheckSummary(modelCheckDir);
    process.stdout.write(`\n${summary.text}\n`);
    rmSync(dir, { recursive: true, force: true });
    if (summary.problems > 0) throw new Error(`${summary.problems} SDK responses drift from Azure's model (above)`);
  };
}
