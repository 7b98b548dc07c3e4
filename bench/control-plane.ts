// Control-plane benchmark (issues 8 and 20): the service in its own process with `npm start`'s node flags
// (bench/lib/control-plane-service.ts: the app as buildApp makes it, plus bare routes on the same Prisma pool — the
// baselines), 2,000 protected items and 1,000 jobs in a vault, and autocannon in this process:
//   - list protected items the way the SDK pages them (backupProtectedItems with the CLI's $filter, then each
//     nextLink), 10 connections, against its baseline: the same pages' rows by one SQL query, JSON.stringify'd;
//   - get a job (jobDetails.get), 50 connections, against a bare route running `select 1`.
// Each baseline runs first and last. Prints requests/s and p99 of each with the ratio to its baseline.
//   npm run bench -- control-plane          (BENCH_SECONDS=10 per path)
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { startAzurite } from '../src/storage/azurite.ts';
import { seedProtectedItems } from './lib/seed.ts';
import { dailyFull } from '../test/support/policies.ts';
import { armCaller, devToken, freshBenchDatabase } from './lib/arm.ts';
import { startCommand } from './lib/service.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 50;
const LIST_CONNECTIONS = 10;
const API = 'api-version=2023-06-01';
const VAULT =
  '/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/control';

async function main() {
  const DATABASE_URL = await freshBenchDatabase('control');
  const azurite = await startAzurite({ port: 0 });
  const dataDir = mkdtempSync(join(tmpdir(), 'rv-bench-control-'));
  // BENCH_SERVICE_NODE_ARGS: extra node flags for the service (e.g. `--cpu-prof`), for investigations only.
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(/\s+/).filter((arg) => arg.length > 0);
  // With `npm start`'s settings and node flags (its script aside: this one adds the baseline route).
  const start = startCommand();
  const service = spawn(
    process.execPath,
    [
      ...start.args.slice(0, -1),
      ...nodeArgs,
      '--import',
      'tsx',
      join(import.meta.dirname, 'lib', 'control-plane-service.ts'),
    ],
    {
      env: {
        ...process.env,
        ...start.env,
        RV_DATA_DIR: dataDir,
        DATABASE_URL,
        RV_BLOB_CONNECTION_STRING: azurite.connectionString,
        RV_LOG_LEVEL: 'warn',
        RV_QUEUE_PREFIX: `rv-bench-${randomUUID()}`,
        RV_MIGRATE_ON_START: 'false',
        RV_WORKERS: 'false',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const sql = new pg.Client({ connectionString: DATABASE_URL });
  await sql.connect();
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      service.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening (http:\/\/\S+)/.exec(out);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      service.once('exit', (code) => reject(new Error(`service exited (${code}): ${out}`)));
    });
    const token = await devToken(base);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const arm = armCaller(base, token);
    await arm('PUT', VAULT, { location: 'westeurope', sku: { name: 'Standard' } });
    await arm('PUT', `${VAULT}/backupPolicies/DailyFull15`, { properties: dailyFull(15) });
    await seedProtectedItems(sql, 100, 20, new Date());
    await sql.query(`
      INSERT INTO "Job" ("id", "vaultId", "operation", "entityFriendlyName", "status", "startTime", "endTime")
      SELECT gen_random_uuid()::text, v."id", 'Backup', 'db' || n || ' [vm' || n || ']', 'Completed', now() - n * interval '1 minute', now() - n * interval '1 minute' + interval '5 seconds'
      FROM "Vault" v CROSS JOIN generate_series(1, 1000) n`);
    const jobId =
      (await sql.query<{ id: string }>('SELECT "id" FROM "Job" ORDER BY "startTime" DESC LIMIT 1')).rows[0]?.id ?? '';

    // The pages the SDK walks: the first URL, then every nextLink.
    const filter = encodeURIComponent("backupManagementType eq 'AzureWorkload' and itemType eq 'SQLDataBase'");
    const pages: string[] = [];
    let items = 0;
    for (
      let next: string | undefined = `${base}${VAULT}/backupProtectedItems?${API}&$filter=${filter}`;
      next !== undefined;
    ) {
      pages.push(next.slice(base.length));
      const page = (await (await fetch(next, { headers })).json()) as { value: unknown[]; nextLink?: string };
      items += page.value.length;
      next = page.nextLink;
    }
    console.log(`${items} protected items in ${pages.length} pages; 1000 jobs`);
    // The baseline's pages: the cursor (name key, id) of the last item of each page of the list's order.
    const vaultRow = (await sql.query<{ id: string }>('SELECT "id" FROM "Vault"')).rows[0]!;
    const cursors = await sql.query<{ itemNameKey: string; id: string }>(
      `SELECT "itemNameKey", "id" FROM (SELECT "itemNameKey", "id", row_number() OVER (ORDER BY "itemNameKey", "id") n
       FROM "ProtectedItem" WHERE "vaultId" = $1) ranked WHERE n % $2 = 0 ORDER BY n`,
      [vaultRow.id, items / pages.length],
    );
    const basePages = [
      `/bench/items/${vaultRow.id}`,
      ...cursors.rows
        .slice(0, pages.length - 1)
        .map(
          (c) =>
            `/bench/items/${vaultRow.id}?after=${encodeURIComponent(c.itemNameKey)}&id=${encodeURIComponent(c.id)}`,
        ),
    ];

    const run = (title: string, paths: string[], connections = CONNECTIONS) =>
      autocannon({
        url: base,
        connections,
        duration: SECONDS,
        headers,
        requests: paths.map((path) => ({ method: 'GET', path })),
      }).then((result) => {
        if (result.non2xx > 0 || result.errors > 0)
          throw new Error(`${title}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
        return { title, rps: result.requests.average, p99: result.latency.p99, p50: result.latency.p50 };
      });
    // Each baseline first and last, so that a drift in the machine's load shows.
    const listTitle = `list protected items (SDK paging, ${pages.length} pages of up to 200)`;
    const listRuns = [
      await run('baseline: the same rows by one SQL query, JSON.stringify', basePages, LIST_CONNECTIONS),
      await run(listTitle, pages, LIST_CONNECTIONS),
      await run('baseline again', basePages, LIST_CONNECTIONS),
    ];
    const jobRuns = [
      await run('baseline: bare route, select 1', ['/bench/select-1']),
      await run('get job', [`${VAULT}/backupJobs/${jobId}?${API}`]),
      await run('baseline again', ['/bench/select-1']),
    ];
    const table = (results: typeof listRuns, connections: number) => {
      const baseline = (results[0]!.rps + results[2]!.rps) / 2;
      console.log(
        `\n${connections} connections, ${SECONDS} s each\n\n| request | req/s | p50 ms | p99 ms | ratio to baseline |\n|---|---:|---:|---:|---:|`,
      );
      for (const r of results)
        console.log(`| ${r.title} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${(r.rps / baseline).toFixed(2)} |`);
      return { measured: results[1]!, ratio: results[1]!.rps / baseline };
    };
    const list = table(listRuns, LIST_CONNECTIONS);
    const job = table(jobRuns, CONNECTIONS);
    console.log(
      `\nlist protected items: ${list.measured.rps.toFixed(0)} pages/s, ratio ${list.ratio.toFixed(2)} to the same rows' SQL (target ≥ 0.5), p99 ${list.measured.p99} ms at ${LIST_CONNECTIONS} connections (target < 100 ms)`,
    );
    console.log(
      `get job: ${job.measured.rps.toFixed(0)} req/s, ratio ${job.ratio.toFixed(2)} (target ≥ 0.5), p99 ${job.measured.p99} ms (target < 50 ms)`,
    );
  } finally {
    service.kill('SIGTERM');
    await new Promise((resolve) => service.once('exit', resolve));
    await sql.end();
    await azurite.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
