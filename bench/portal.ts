// Portal read-model benchmark (issue 8): a vault with 2,000 protected items on 20 VMs, 100,000 recovery points (and
// as many uploads), 20,000 jobs over 10 days and 5,000 alerts over a month, seeded by SQL. Measures each portal query
// (p50/p99) twice, against a baseline measured in the same run through the same stack:
//   - HTTP: the route, through the service (token check, RBAC, vault lookup, query, JSON), against the management
//     API's GET vault (the same token check, RBAC and vault lookup, no read model);
//   - database: the read model's queries alone, through the service's Prisma pool, against `select 1` on that pool.
//   npm run bench -- portal            (BENCH_REQUESTS=… per query, default 300; BENCH_DATABASE_URL=…)
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { startServer } from '../src/server.ts';
import { loadConfig } from '../src/config.ts';
import { startAzurite } from '../src/storage/azurite.ts';
import { alertRows, backupItemRows, vaultSummary } from '../src/services/portal-read-models.ts';
import { devToken, freshBenchDatabase } from './lib/arm.ts';
import { dailyFull } from '../test/support/policies.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const WARMUP = 20;
const TARGET_P99_MS = 50;
const ITEMS = 2000;
const VMS = 20;
const POINTS_PER_ITEM = 50;
const JOBS_PER_ITEM = 10;
const ALERTS = 5000;
const API = 'api-version=2023-06-01';

/** The seed, in SQL: $1 vault id, $2 subscription id, $3 policy id (as literals). Times are relative to now(). */
const SEED = [
  `INSERT INTO "ProtectionContainer" ("id", "vaultId", "name", "nameKey", "friendlyName", "vmResourceId", "vmResourceIdKey", "os", "agentVersion",
     "registrationStatus", "discovered", "lastHeartbeatAt", "registeredAt", "createdAt", "updatedAt")
   SELECT gen_random_uuid()::text, $1, 'VMAppContainer;Compute;rg;benchvm' || v, 'vmappcontainer;compute;rg;benchvm' || v, 'benchvm' || v,
     '/subscriptions/' || $2 || '/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/benchvm' || v,
     lower('/subscriptions/' || $2 || '/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/benchvm' || v),
     'WindowsServer2022', '1.0.0', 'Registered', true, now() - (v % 2) * interval '1 hour', now(), now(), now()
   FROM generate_series(1, ${VMS}) v`,
  `INSERT INTO "ProtectedItem" ("id", "vaultId", "containerId", "itemName", "itemNameKey", "friendlyName", "instanceName", "recoveryModel",
     "policyId", "protectionState", "healthStatus", "lastBackupStatus", "lastBackupTime", "createdAt", "updatedAt")
   SELECT gen_random_uuid()::text, $1, c.id, 'SQLDataBase;MSSQLSERVER;db' || lpad(n::text, 4, '0'), 'sqldatabase;mssqlserver;db' || lpad(n::text, 4, '0'),
     'db' || lpad(n::text, 4, '0'), 'MSSQLSERVER', 'FULL', $3,
     (CASE WHEN n % 50 = 0 THEN 'IRPending' ELSE 'Protected' END)::"ProtectionState",
     CASE WHEN n % 37 = 0 THEN 'ActionRequired' ELSE 'Healthy' END, 'Healthy', now() - interval '1 hour', now(), now()
   FROM generate_series(0, ${ITEMS - 1}) n
   JOIN (SELECT "id", row_number() OVER (ORDER BY "name") - 1 AS k FROM "ProtectionContainer" WHERE "vaultId" = $1) c ON c.k = n % ${VMS}`,
  // Per item, 50 points three hours apart: a Full a day, a Differential, Logs in between (CASE on the step number).
  `INSERT INTO "RecoveryPoint" ("id", "vaultId", "protectedItemId", "type", "blobName", "blocks", "firstLsn", "lastLsn", "checkpointLsn",
     "databaseBackupLsn", "startTime", "endTime", "sizeBytes", "storedBytes", "sha256", "createdAt")
   SELECT i.id || '-' || s, $1, i.id, t.type, i.id || '/' || s || '.bak', '[]', s * 1000, s * 1000 + 999, s * 1000, 0,
     now() - (${POINTS_PER_ITEM} - s) * interval '3 hours' - interval '5 minutes', now() - (${POINTS_PER_ITEM} - s) * interval '3 hours',
     t.size, t.size * 7 / 10, 'seed', now()
   FROM "ProtectedItem" i, generate_series(0, ${POINTS_PER_ITEM - 1}) s,
     LATERAL (SELECT CASE WHEN s % 8 = 0 THEN 'Full' WHEN s % 8 = 4 THEN 'Differential' ELSE 'Log' END AS type,
                     CASE WHEN s % 8 = 0 THEN 1073741824 WHEN s % 8 = 4 THEN 104857600 ELSE 8388608 END::bigint AS size) t
   WHERE i."vaultId" = $1`,
  `INSERT INTO "BackupUpload" ("id", "vaultId", "protectedItemId", "containerId", "backupType", "blobName", "state", "recoveryPointId", "createdAt", "updatedAt")
   SELECT gen_random_uuid()::text, $1, r."protectedItemId", i."containerId", r.type, r."blobName", 'Committed', r.id, r."startTime", r."endTime"
   FROM "RecoveryPoint" r JOIN "ProtectedItem" i ON i.id = r."protectedItemId" WHERE r."vaultId" = $1`,
  `INSERT INTO "BackupUpload" ("id", "vaultId", "protectedItemId", "containerId", "backupType", "blobName", "state", "createdAt", "updatedAt")
   SELECT gen_random_uuid()::text, $1, i.id, i."containerId", 'Log', i.id || '/failed.bak', (CASE WHEN n % 2 = 0 THEN 'Failed' ELSE 'Open' END)::"UploadState", now(), now()
   FROM (SELECT *, row_number() OVER (ORDER BY id) AS n FROM "ProtectedItem" WHERE "vaultId" = $1) i WHERE n % 13 = 0`,
  `INSERT INTO "Job" ("id", "vaultId", "operation", "status", "entityFriendlyName", "startTime", "endTime", "protectedItemId")
   SELECT gen_random_uuid()::text, $1, CASE WHEN d % 5 = 4 THEN 'ConfigureBackup' ELSE 'Backup' END,
     (CASE WHEN (d + length(i.id)) % 17 = 0 THEN 'Failed' ELSE 'Completed' END)::"JobStatus", i."friendlyName" || ' [benchvm]',
     now() - d * interval '1 day' - (random() * interval '20 hours'), now() - d * interval '1 day', i.id
   FROM "ProtectedItem" i, generate_series(0, ${JOBS_PER_ITEM - 1}) d WHERE i."vaultId" = $1`,
  `INSERT INTO "Alert" ("id", "vaultId", "kind", "severity", "protectedItemId", "entityName", "code", "message", "raisedAt", "resolvedAt", "acknowledgedAt")
   SELECT gen_random_uuid()::text, $1, (ARRAY['RpoBreach', 'BackupFailure', 'RestoreFailure', 'DiscoveryFailure'])[1 + n % 4],
     CASE WHEN n % 4 = 3 THEN 'Warning' ELSE 'Critical' END, NULL, 'db' || lpad((n % ${ITEMS})::text, 4, '0') || ' [benchvm]', 'UserErrorSeeded', 'seeded',
     now() - n * interval '8 minutes', CASE WHEN n % 9 = 0 THEN NULL ELSE now() - n * interval '8 minutes' + interval '1 hour' END,
     CASE WHEN n % 3 = 0 THEN now() - n * interval '8 minutes' + interval '5 minutes' END
   FROM generate_series(1, ${ALERTS}) n`,
  `UPDATE "Vault" SET "protectedItemCount" = ${ITEMS} WHERE "id" = $1`,
];

interface Figure {
  name: string;
  layer: 'HTTP' | 'database';
  run: () => Promise<unknown>;
  baseline?: boolean;
  samples: number[];
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/**
 * Round-robin: each round runs every query once, so that a burst of load from other processes on this shared machine
 * hits the baselines and the queries alike instead of whichever happened to be measured at that moment.
 */
async function measure(figures: Figure[]): Promise<void> {
  for (let round = 0; round < WARMUP + REQUESTS; round++) {
    for (const figure of figures) {
      const start = performance.now();
      await figure.run();
      if (round >= WARMUP) figure.samples.push(performance.now() - start);
    }
  }
  for (const figure of figures) figure.samples.sort((a, b) => a - b);
}

async function main() {
  // A database of its own, dropped first: it records the master key of the run that created it.
  const DATABASE_URL = await freshBenchDatabase('portal');
  const azurite = await startAzurite({ port: 0 });
  const dataDir = mkdtempSync(join(tmpdir(), 'rv-bench-portal-'));
  const server = await startServer(
    loadConfig({
      ...process.env,
      RV_DATA_DIR: dataDir,
      RV_HTTPS_PORT: '0',
      RV_HTTP_PORT: '0',
      DATABASE_URL,
      RV_BLOB_CONNECTION_STRING: azurite.connectionString,
      RV_LOG_LEVEL: 'warn',
      RV_QUEUE_PREFIX: `rv-bench-${randomUUID()}`,
      RV_SCHEDULER_TICK_SECONDS: '3600',
    }),
  );
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const base = server.httpUrl;
  const subscriptionId = randomUUID();
  const vaultPath = `/subscriptions/${subscriptionId}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/bench`;
  let vaultRowId: string | undefined;
  try {
    const token = await devToken(base);
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(path.startsWith('http') ? path : `${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return text === '' ? undefined : (JSON.parse(text) as { value?: unknown[]; nextLink?: string });
    };

    // The vault and its policy through the API; the bulk by SQL.
    await call('PUT', `${vaultPath}?${API}`, { location: 'westeurope' });
    await call('PUT', `${vaultPath}/backupPolicies/daily?${API}`, { properties: dailyFull() });
    const vault = await server.app.db.vault.findFirstOrThrow({
      where: { subscriptionId: subscriptionId.toLowerCase(), nameKey: 'bench' },
    });
    vaultRowId = vault.id;
    const policy = await server.app.db.policy.findFirstOrThrow({ where: { vaultId: vault.id } });
    const seedStart = performance.now();
    await admin.query('BEGIN');
    try {
      for (const statement of SEED) {
        const values = [vault.id, subscriptionId, policy.id];
        await admin.query(
          statement.replace(/\$(\d)/g, (_, n: string) => admin.escapeLiteral(values[Number(n) - 1] ?? '')),
        );
      }
      await admin.query('COMMIT');
    } catch (error) {
      await admin.query('ROLLBACK');
      throw error;
    }
    // What autovacuum does to a table that stops changing: statistics, and the visibility map for index-only scans.
    for (const table of ['ProtectionContainer', 'ProtectedItem', 'RecoveryPoint', 'BackupUpload', 'Job', 'Alert'])
      await admin.query(`VACUUM ANALYZE "${table}"`);
    const counts = (
      await admin.query(
        `SELECT (SELECT count(*) FROM "ProtectedItem" WHERE "vaultId" = $1) items, (SELECT count(*) FROM "RecoveryPoint" WHERE "vaultId" = $1) points,
              (SELECT count(*) FROM "BackupUpload" WHERE "vaultId" = $1) uploads, (SELECT count(*) FROM "Job" WHERE "vaultId" = $1) jobs,
              (SELECT count(*) FROM "Alert" WHERE "vaultId" = $1) alerts`,
        [vault.id],
      )
    ).rows[0] as Record<string, string>;
    console.log(
      `seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s: ${counts.items} protected items on ${VMS} VMs, ${counts.points} recovery points, ${counts.uploads} uploads, ${counts.jobs} jobs, ${counts.alerts} alerts`,
    );

    const portal = `${base}/portal/v1${vaultPath}`;
    // A page in the middle of each list, reached through nextLinks as a client would.
    const middle = async (first: string, pages: number) => {
      let url = first;
      for (let i = 0; i < pages; i++) url = (await call('GET', url))?.nextLink ?? url;
      return url;
    };
    const itemsMiddle = await middle(`${portal}/backupItems?$top=50`, ITEMS / 50 / 2);
    const alertsMiddle = await middle(`${portal}/alerts?$top=50`, ALERTS / 50 / 2);
    const summary = await call('GET', `${portal}/summary`);
    console.log(`summary: ${JSON.stringify(summary)}`);
    const oneItem = (await call('GET', `${portal}/backupItems?$top=1`))?.value?.[0];
    console.log(`backup item: ${JSON.stringify(oneItem)}`);

    const items = await server.app.db.$queryRaw<
      { itemNameKey: string; id: string }[]
    >`SELECT "itemNameKey", id FROM "ProtectedItem" WHERE "vaultId" = ${vault.id} ORDER BY "itemNameKey", id OFFSET ${ITEMS / 2} LIMIT 1`;
    const itemCursor: [string, string] = [items[0]?.itemNameKey ?? '', items[0]?.id ?? ''];
    const figure = (layer: Figure['layer'], name: string, run: () => Promise<unknown>, baseline = false): Figure => ({
      layer,
      name,
      run,
      baseline,
      samples: [],
    });
    const figures: Figure[] = [
      figure('HTTP', 'baseline: GET vault (management API)', () => call('GET', `${vaultPath}?${API}`), true),
      figure('HTTP', 'GET summary', () => call('GET', `${portal}/summary`)),
      figure('HTTP', 'GET backupItems, first page of 50', () => call('GET', `${portal}/backupItems?$top=50`)),
      figure('HTTP', 'GET backupItems, page of 50 in the middle', () => call('GET', itemsMiddle)),
      figure('HTTP', 'GET backupItems, full page (200)', () => call('GET', `${portal}/backupItems`)),
      figure('HTTP', 'GET alerts, first page of 50', () => call('GET', `${portal}/alerts?$top=50`)),
      figure('HTTP', 'GET alerts, page of 50 in the middle', () => call('GET', alertsMiddle)),
      figure('HTTP', 'GET alerts, $filter open BackupFailure', () =>
        call(
          'GET',
          `${portal}/alerts?$top=50&$filter=${encodeURIComponent("alertType eq 'BackupFailure' and monitorCondition eq 'Fired'")}`,
        ),
      ),
      figure('database', 'baseline: select 1 (Prisma pool)', () => server.app.db.$queryRaw`select 1`, true),
      figure('database', 'vault summary', () => vaultSummary(server.app, vault)),
      figure('database', 'backup items, 50 rows in the middle', () =>
        backupItemRows(server.app, vault.id, itemCursor, 51),
      ),
      figure('database', 'alerts, first 50 rows', () => alertRows(server.app, { vaultId: vault.id }, undefined, 51)),
    ];
    await measure(figures);

    const baselineOf = (layer: Figure['layer']) => figures.find((f) => f.layer === layer && f.baseline);
    console.log(
      `\n${REQUESTS} rounds of one request per query, in turn, after ${WARMUP} warm-up rounds; times in ms; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    console.log('| layer | query | p50 | p99 | max | p50 / baseline p50 | p99 − baseline p99 |');
    console.log('|---|---|---:|---:|---:|---:|---:|');
    for (const f of figures) {
      const b = baselineOf(f.layer);
      const [p50, p99, max] = [quantile(f.samples, 0.5), quantile(f.samples, 0.99), f.samples.at(-1) ?? NaN];
      const ratio = b === undefined ? '' : `${(p50 / quantile(b.samples, 0.5)).toFixed(1)}×`;
      const extra = b === undefined ? '' : (p99 - quantile(b.samples, 0.99)).toFixed(2);
      console.log(
        `| ${f.layer} | ${f.name} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${max.toFixed(2)} | ${ratio} | ${extra} |`,
      );
    }
    console.log('');
    for (const f of figures.filter((figure) => !figure.baseline)) {
      const p99 = quantile(f.samples, 0.99);
      const b = baselineOf(f.layer);
      console.log(
        `${f.layer} ${f.name}: p99 ${p99.toFixed(2)} ms (target < ${TARGET_P99_MS} ms: ${p99 < TARGET_P99_MS ? 'met' : 'MISSED'}), p50 ${(quantile(f.samples, 0.5) / quantile(b?.samples ?? [], 0.5)).toFixed(1)}× the baseline's`,
      );
    }
  } finally {
    if (vaultRowId !== undefined) {
      // The seed's rows go with the vault (items first: they hold their containers).
      await admin.query('DELETE FROM "ProtectedItem" WHERE "vaultId" = $1', [vaultRowId]);
      await admin.query('DELETE FROM "Vault" WHERE "id" = $1', [vaultRowId]);
    }
    await admin.end();
    await server.close();
    await azurite.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
