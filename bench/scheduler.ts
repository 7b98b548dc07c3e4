// Scheduler scale benchmark (issue 8, benchmark 4), against the service built in this process (plain HTTP, workers
// off: the bench drives the scheduler itself) on a database of its own:
//   1. a tick: 10 vaults × 100 VMs × 20 databases = 20,000 protected items due at once, dispatched by dispatchDue
//      (claim with SKIP LOCKED, move the schedules, start the backups: jobs, uploads, agent commands) — against a
//      baseline measured in the same run: the same rows written by plain set-based SQL with no rules at all;
//   2. a simulated day of one vault (2,000 items, a daily Full and 15-minute logs: ~192,000 backups) played by the
//      emulator clock, with a stub agent per VM that commits every backup at once (no data) and reports it — what
//      dispatch, commit and the clock's stepping sustain, in backups per second.
//   npm run bench -- scheduler          (BENCH_DAY_HOURS=2 plays a part of the day, 0 none; BENCH_TICKS=3 repeats the tick)
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { dispatchDue } from '../src/jobs/scheduler.ts';
import { startAzurite } from '../src/storage/azurite.ts';
import { seedProtectedItems } from './lib/seed.ts';
import { dailyFull } from '../test/support/policies.ts';
import { armCaller, devToken, freshBenchDatabase } from './lib/arm.ts';
import { azuritePid, postgresCpu, postgresCpuSince, usage } from './lib/proc.ts';

const VAULTS = 10;
const VMS_PER_VAULT = 100;
const DATABASES_PER_VM = 20;
const ITEMS = VAULTS * VMS_PER_VAULT * DATABASES_PER_VM;
const TICKS = Number(process.env.BENCH_TICKS ?? 3);
const DAY_HOURS = Number(process.env.BENCH_DAY_HOURS ?? 24);
const MINUTE = 60_000;

// The day starts at midnight UTC the day after tomorrow (the emulator clock never goes back); the Full runs at 22:00.
const T = new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000 + 86_400_000);

async function main() {
  const DATABASE_URL = await freshBenchDatabase('scheduler');
  const azurite = await startAzurite({ port: 0 });
  const dataDir = mkdtempSync(join(tmpdir(), 'rv-bench-scheduler-'));
  const app = await buildApp(
    loadConfig({
      ...process.env,
      RV_DATA_DIR: dataDir,
      DATABASE_URL,
      RV_BLOB_CONNECTION_STRING: azurite.connectionString,
      RV_WORKERS: 'false',
      RV_EMULATOR_CONTROLS: 'true',
      RV_LOG_LEVEL: 'warn',
      RV_QUEUE_PREFIX: `rv-bench-${randomUUID()}`,
      RV_MIGRATE_ON_START: 'false',
      RV_AGENT_UNHEALTHY_AFTER_SECONDS: '86400',
      RV_RETRY_AFTER_SECONDS: '0',
    }),
  );
  const sql = new pg.Client({ connectionString: DATABASE_URL });
  await sql.connect();
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const token = await devToken(base);
    const arm = armCaller(base, token);

    // Seeding: vaults and policies through the API, the rest by SQL (20,000 items through the SDK would take long).
    const subscription = '00000000-0000-0000-0000-00000000be4c';
    for (let v = 0; v < VAULTS; v++) {
      const vault = `/subscriptions/${subscription}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/bench${v}`;
      await arm('PUT', vault, { location: 'westeurope', sku: { name: 'Standard' } });
      await arm('PUT', `${vault}/backupPolicies/DailyFull15`, { properties: dailyFull(15) });
    }
    await seedProtectedItems(sql, VMS_PER_VAULT, DATABASES_PER_VM, new Date(T.getTime() - 60 * MINUTE));
    console.log(
      `seeded ${VAULTS} vaults × ${VMS_PER_VAULT} VMs × ${DATABASES_PER_VM} databases = ${ITEMS} protected items`,
    );

    // 1. One tick for 20,000 due items: dispatchDue against plain SQL doing the same writes.
    const dispatchMs: number[] = [];
    const baselineMs: number[] = [];
    for (let run = 0; run < TICKS; run++) {
      await resetSchedules(sql);
      let t0 = performance.now();
      const started = await dispatchDue(app, T);
      dispatchMs.push(performance.now() - t0);
      if (started !== ITEMS) throw new Error(`dispatched ${started} of ${ITEMS}`);
      await resetSchedules(sql);
      t0 = performance.now();
      await plainDispatch(sql);
      baselineMs.push(performance.now() - t0);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const tick = median(dispatchMs);
    const plain = median(baselineMs);
    console.log('\n| path | items | runs | median ms | items/s |\n|---|---:|---:|---:|---:|');
    console.log(
      `| dispatchDue (claim, schedules, jobs, uploads, commands) | ${ITEMS} | ${TICKS} | ${tick.toFixed(0)} | ${Math.round(ITEMS / (tick / 1000))} |`,
    );
    console.log(
      `| baseline: the same rows by plain SQL, no rules | ${ITEMS} | ${TICKS} | ${plain.toFixed(0)} | ${Math.round(ITEMS / (plain / 1000))} |`,
    );

    console.log(
      `\ntick: ${ITEMS} items dispatched in ${tick.toFixed(0)} ms (target < 1000 ms); ratio to plain SQL ${(plain / tick).toFixed(2)}`,
    );
    if (DAY_HOURS <= 0) return;

    // 2. A simulated day of one vault with stub agents.
    await resetSchedules(sql);
    await sql.query(
      `UPDATE "ProtectedItem" SET "protectionState" = 'ProtectionStopped' WHERE "vaultId" <> (SELECT "id" FROM "Vault" WHERE "name" = 'bench0')`,
    );
    await sql.query(`UPDATE "ProtectedItem" SET "nextFullAt" = $1 WHERE "protectionState" = 'Protected'`, [
      new Date(T.getTime() + 22 * 60 * MINUTE),
    ]);
    await arm('POST', '/emulator/v1/clock', { to: new Date(T.getTime() - MINUTE).toISOString() });
    const stubs = await startStubAgents(app, base, sql);
    const azurite0 = usage(azuritePid()).cpu;
    const postgres0 = postgresCpu();
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    const progress = setInterval(() => {
      void sql
        .query(`SELECT count(*) FROM "BackupUpload" WHERE "state" = 'Committed'`)
        .then((r) =>
          console.log(
            `  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${r.rows[0]?.count} committed, stub errors ${stubs.errors.length}${stubs.errors.length > 0 ? ` (first: ${stubs.errors[0]?.slice(0, 200)})` : ''}`,
          ),
        );
    }, 10_000);
    // The clock answers once the day is played, which may take longer than fetch waits for headers: node:http.
    const played = await postWithoutTimeout(`${base}/emulator/v1/clock`, token, {
      advanceSeconds: DAY_HOURS * 3600 + 60,
      waitForBackupsSeconds: 600,
    }).finally(() => clearInterval(progress));
    const daySeconds = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    const cpu = {
      self: (self.user + self.system) / 1e6,
      azurite: usage(azuritePid()).cpu - azurite0,
      postgres: postgresCpuSince(postgres0),
    };
    await stubs.stop();
    const committed = Number(
      (
        await sql.query(
          `SELECT count(*) FROM "RecoveryPoint" r JOIN "Vault" v ON v."id" = r."vaultId" WHERE v."name" = 'bench0' AND r."createdAt" > $1`,
          [T],
        )
      ).rows[0]?.count ?? 0,
    );
    const started = Number(played.backupsStarted ?? 0);
    console.log(
      '\n| simulated | items | backups dispatched | committed | seconds | backups/s |\n|---|---:|---:|---:|---:|---:|',
    );
    console.log(
      `| ${DAY_HOURS} h of one vault | 2000 | ${started} | ${committed} | ${daySeconds.toFixed(1)} | ${(committed / daySeconds).toFixed(0)} |`,
    );
    if (stubs.errors.length > 0) console.log(`stub agent errors: ${stubs.errors.length}, first: ${stubs.errors[0]}`);
    // Where the machine's CPU went, per backup: the span is CPU-bound, so these sum to about cores × seconds.
    const perBackup = (seconds: number) => ((seconds * 1000) / Math.max(committed, 1)).toFixed(2);
    console.log(
      '\n| CPU per backup (ms) | service and stub agents (this process) | Azurite | PostgreSQL | all | cores × seconds |\n|---|---:|---:|---:|---:|---:|',
    );
    console.log(
      `| ${DAY_HOURS} h | ${perBackup(cpu.self)} | ${perBackup(cpu.azurite)} | ${perBackup(cpu.postgres)} | ${perBackup(cpu.self + cpu.azurite + cpu.postgres)} | ${perBackup(availableParallelism() * daySeconds)} |`,
    );

    // A day is 96 log steps of 2,000 items (plus a Full each); the played span counts both of its ends as steps, so the
    // projection goes by the measured rate, not by the hours played.
    const dayProjection = (2000 * 96) / (committed / daySeconds);
    console.log(
      `day: ${committed} backups in ${daySeconds.toFixed(1)} s, ${(committed / daySeconds).toFixed(0)} backups/s; a whole day (192,000 backups) ${(dayProjection / 60).toFixed(1)} min at this rate (target < 10 min)`,
    );
  } finally {
    await sql.end();
    await app.close();
    await azurite.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Every item due at T for a Log (its Full tomorrow), nothing started. */
async function resetSchedules(sql: pg.Client) {
  await sql.query('DELETE FROM "AgentCommand"');
  await sql.query('DELETE FROM "BackupUpload"');
  await sql.query('DELETE FROM "Job"');
  await sql.query(
    `UPDATE "ProtectedItem" SET "nextLogAt" = $1, "nextFullAt" = $2, "nextDiffAt" = NULL, "protectionState" = 'Protected'`,
    [T, new Date(T.getTime() + 86_400_000)],
  );
  await sql.query('VACUUM ANALYZE "ProtectedItem", "BackupUpload", "AgentCommand", "Job"');
}

/** The baseline: the writes a tick needs (schedules moved, uploads, commands) as three set-based statements. */
async function plainDispatch(sql: pg.Client) {
  await sql.query('BEGIN');
  await sql.query(
    `
    WITH claimed AS (
      SELECT "id" FROM "ProtectedItem" WHERE "nextLogAt" <= $1 ORDER BY "nextLogAt" FOR UPDATE SKIP LOCKED
    ), moved AS (
      UPDATE "ProtectedItem" i SET "nextLogAt" = i."nextLogAt" + interval '15 minutes' FROM claimed c WHERE i."id" = c."id"
      RETURNING i."id", i."vaultId", i."containerId", i."itemName"
    ), uploads AS (
      INSERT INTO "BackupUpload" ("id", "vaultId", "protectedItemId", "containerId", "backupType", "blobName", "createdAt", "updatedAt")
      SELECT gen_random_uuid()::text, "vaultId", "id", "containerId", 'Log', "id" || '/x.bak', $1, $1 FROM moved
      RETURNING "id", "containerId", "protectedItemId"
    )
    INSERT INTO "AgentCommand" ("id", "containerId", "type", "payload", "issuedAt")
    SELECT gen_random_uuid()::text, "containerId", 'backup', jsonb_build_object('backupId', "id", 'backupType', 'Log'), $1 FROM uploads`,
    [T],
  );
  await sql.query('COMMIT');
}

function postWithoutTimeout(url: string, token: string, body: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () =>
          response.statusCode === 200
            ? resolve(JSON.parse(text) as Record<string, unknown>)
            : reject(new Error(`${response.statusCode} ${text}`)),
        );
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

const ONE_BYTE = Buffer.from('x');
const ONE_BYTE_SHA256 = createHash('sha256').update(ONE_BYTE).digest('hex');

/**
 * One stub agent per VM of vault bench0: long-polls its commands and answers each backup at once — a one-byte block,
 * a commit with LSNs that continue the chain, then the command's result.
 */
async function startStubAgents(app: Awaited<ReturnType<typeof buildApp>>, base: string, sql: pg.Client) {
  const containers = (
    await sql.query<{ id: string; name: string; tokenGeneration: number }>(
      `SELECT c."id", c."name", c."tokenGeneration" FROM "ProtectionContainer" c JOIN "Vault" v ON v."id" = c."vaultId" WHERE v."name" = 'bench0'`,
    )
  ).rows;
  const errors: string[] = [];
  const lsns = new Map<string, bigint>();
  let running = true;
  const loops = containers.map(async (container) => {
    const { token } = await app.tokens.issueAgent(
      { containerId: container.id, generation: container.tokenGeneration },
      86_400,
    );
    const path = `${base}/agent/v1/containers/${encodeURIComponent(container.name)}`;
    const call = async (method: string, url: string, body?: object) => {
      const response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!response.ok && response.status !== 204)
        throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
      return response.status === 204 ? undefined : ((await response.json()) as Record<string, unknown>);
    };
    /** A backup at once: a one-byte block, a commit that continues the chain, the result; retried like an agent would. */
    const answer = async (command: { id: string; type: string; payload: Record<string, string> }) => {
      for (let attempt = 1; ; attempt++) {
        try {
          if (command.type === 'backup') {
            const { backupId, itemName, backupType, at } = command.payload as Record<string, string>;
            const key = `${container.id}/${itemName}`;
            const first = lsns.get(key) ?? 200n;
            const last = first + 100n;
            const block = await fetch(`${path}/uploads/${backupId}/blocks/0`, {
              method: 'PUT',
              headers: {
                authorization: `Bearer ${token}`,
                'content-type': 'application/octet-stream',
                'x-content-sha256': ONE_BYTE_SHA256,
              },
              body: ONE_BYTE,
            });
            if (!block.ok) throw new Error(`block: ${block.status} ${await block.text()}`);
            await call('POST', `${path}/uploads/${backupId}/commit`, {
              metadata: {
                backupType,
                firstLsn: first.toString(),
                lastLsn: (backupType === 'Log' ? last : first + 1n).toString(),
                checkpointLsn: first.toString(),
                databaseBackupLsn: '150',
                startTime: at,
                endTime: at,
                sizeBytes: 1,
                sha256: ONE_BYTE_SHA256,
                blockCount: 1,
              },
            });
            if (backupType === 'Log') lsns.set(key, last);
          }
          await call('POST', `${path}/commands/${command.id}/result`, { status: 'Succeeded' });
          return;
        } catch (error) {
          errors.push((error as Error).message);
          if (attempt >= 5 || !running) return;
          await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
        }
      }
    };
    while (running) {
      try {
        const { commands } = (await call('GET', `${path}/commands?waitSeconds=2`)) as {
          commands: { id: string; type: string; payload: Record<string, string> }[];
        };
        for (const command of commands) await answer(command);
      } catch (error) {
        if (!running) break;
        errors.push((error as Error).message);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  });
  return {
    errors,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

await main();
