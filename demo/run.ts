/**
 * `npm run demo [-- --exit]`: the whole flow in under a minute — the service with an embedded Azurite, two simulated
 * SQL Server VMs, a vault and a policy, discovery, protection, two simulated days of backups, and a point-in-time
 * restore proven against the source; then an availability group across both VMs, failed over between two log
 * backups, and a restore across the failover proven the same way. Then it keeps the service running to explore (Ctrl-C stops it), or exits.
 *
 * It runs on a database of its own (`recovery_vault_demo`, or RV_DEMO_DATABASE; recreated each run: the emulator clock
 * it moves is global to a database) and keeps its files in `.data/demo`. RV_* variables still apply (e.g. RV_HTTPS_PORT).
 * It listens on free ports of its own (printed), so it runs beside `npm start` on the same machine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import pg from 'pg';
import { DEV_PRINCIPAL, loadConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import { loadOrCreateCertificate } from '../src/tls.ts';
import { RESOURCE_GROUP, SUBSCRIPTION, VAULT } from './scenario.ts';
import { playDemo } from './play.ts';
import { report } from './report.ts';

const options = new Command('demo')
  .option('--exit', 'exit when the demo is done instead of leaving the service running')
  .parse(process.argv)
  .opts<{ exit?: boolean }>();

const dataDir = resolve(process.env.RV_DATA_DIR ?? join('.data', 'demo'));
const adminUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const database = process.env.RV_DEMO_DATABASE ?? 'recovery_vault_demo';
const databaseUrl = adminUrl.replace(/\/[^/]*$/, `/${database}`);
const config = loadConfig({
  RV_HTTPS_PORT: '0',
  RV_HTTP_PORT: '0',
  RV_AZURITE_PORT: '0',
  RV_QUEUE_PREFIX: 'recovery-vault-demo',
  RV_LOG_LEVEL: 'warn',
  ...process.env,
  RV_DATA_DIR: dataDir,
  DATABASE_URL: databaseUrl,
  RV_EMULATOR_CONTROLS: 'true',
  RV_RETRY_AFTER_SECONDS: '0',
});

// The SDK trusts the service's self-signed certificate the way users do, through NODE_EXTRA_CA_CERTS, which Node
// reads at start: so the demo makes the certificate, then runs itself again with the variable set.
const { certFile } = await loadOrCreateCertificate(config);
if (process.env.NODE_EXTRA_CA_CERTS !== certFile) {
  const again = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: certFile },
  });
  process.exit(again.status ?? 1);
}

const say = (line: string) => process.stdout.write(`${line}\n`);
say('recovery-vault demo: SQL Server in Azure VM backup, emulated');
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS "${database.replace(/"/g, '')}" WITH (FORCE)`);
await admin.end();
rmSync(join(dataDir, 'azurite'), { recursive: true, force: true });
rmSync(join(dataDir, 'vms'), { recursive: true, force: true });

const t0 = performance.now();
const server = await startServer(config);
say(
  `  ✓ service started at ${server.httpsUrl} with an embedded Azurite (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
);
const result = await playDemo(server, readFileSync(certFile, 'utf8'), join(dataDir, 'vms'), say);
say('');
say(report(result));
say(`Total: ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const stop = async () => {
  await Promise.all(result.agents.map((agent) => agent.stop()));
  await server.close();
};
if (options.exit === true) {
  await stop();
  process.exit(result.restore.proven && result.availabilityGroup.restore.proven ? 0 : 1);
}
say(`
The service keeps running with the demo's vault — explore it (Ctrl-C stops everything):
  export NODE_EXTRA_CA_CERTS=${certFile}
  TOKEN=$(RV_DATA_DIR=${dataDir} npx recovery-vault token)
  curl -s -H "authorization: Bearer $TOKEN" "${server.httpsUrl}/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.RecoveryServices/vaults/${VAULT}/backupJobs?api-version=2023-06-01"
  Swagger UI: ${server.httpsUrl}/docs   ·   the emulator clock: POST ${server.httpsUrl}/emulator/v1/clock {"advanceSeconds": 3600}

The Backup center console: ${server.httpUrl}/console/
  sign in with client id ${DEV_PRINCIPAL.clientId}, client secret ${DEV_PRINCIPAL.clientSecret},
  subscription ${SUBSCRIPTION}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stop().then(() => process.exit(0));
  });
}
