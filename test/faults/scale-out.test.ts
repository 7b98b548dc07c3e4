import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownDatabase } from '../support/databases.ts';
import { dailyFullWithLogs } from '../support/policies.ts';
import {
  deployment,
  eventually,
  freePort,
  spawnApi,
  spawnWorker,
  tomorrowFrom,
  type Deployment,
  type ManagedProcess,
  type ServiceProcess,
} from '../support/processes.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';
import { registeredSqlVm, windowsSqlVm, type SqlVm } from '../support/vm.ts';
import type { TestServer } from '../support/server.ts';
import { restoreAsNewDatabase } from '../support/restores.ts';
import { protectDatabase } from '../support/protection.ts';

const poll = { updateIntervalInMs: 50 };
const ITEM = 'SQLDataBase;MSSQLSERVER;sales';
const LEASE_SECONDS = 3;

/**
 * The scaled-out topology for real: two API processes (RV_WORKERS=false) and two worker processes (src/worker.ts) on
 * one PostgreSQL database of their own, one Redis prefix and one Azurite, driven through the official SDK alternately.
 * What must hold: a list pages across both APIs; a backup streamed into one API restores through the other; a day
 * of schedules, with one worker killed (kill -9) in the middle of an operation, runs every scheduled backup exactly
 * once; the killed worker's operation finishes on the other; and an operation whose queued job Redis loses while it
 * runs is not run a second time alongside (the operation lease).
 */
describe('scaled out: two API processes, two worker processes', () => {
  const database = ownDatabase('rv_fault_scaleout');
  let deploy: Deployment;
  let apis: ServiceProcess[] = [];
  let workers: ManagedProcess[] = [];
  let sql: pg.Client;
  let redis: Redis;
  let token: string;
  let source: SqlVm | undefined;
  let target: SqlVm | undefined;
  let vaultArmId = '';
  const subscriptionId = randomUUID();
  const vault = 'scaleout-vault';
  const { start, at } = tomorrowFrom(21, 50);
  const sdk = (i: number) => sdkClients((apis[i % 2] as ServiceProcess).httpsUrl, token, subscriptionId);
  const clock = async (i: number, body: object) => {
    const response = await fetch(`${apis[i % 2]?.httpsUrl}/emulator/v1/clock`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { now: string; backupsStarted: number };
  };

  beforeAll(async () => {
    deploy = deployment({
      DATABASE_URL: database.url,
      RV_MIGRATE_ON_START: 'true',
      RV_EMULATOR_CONTROLS: 'true',
      RV_SCHEDULER_TICK_SECONDS: '1',
      RV_OPERATION_LEASE_SECONDS: String(LEASE_SECONDS),
      RV_PAGE_SIZE: '2',
      RV_BACKUP_BLOCK_SIZE_BYTES: String(64 * 1024),
      RV_LOG_LEVEL: 'warn',
    });
    // The first process migrates the new database; the others start on it as an upgrade does (docs/scale-out.md).
    const first = await spawnApi(deploy, { httpsPort: await freePort(), env: { RV_WORKERS: 'false' } });
    const migrated = { RV_MIGRATE_ON_START: 'false' };
    const [second, w1, w2] = await Promise.all([
      spawnApi(deploy, { httpsPort: await freePort(), env: { RV_WORKERS: 'false', ...migrated } }),
      spawnWorker(deploy, { RV_LOG_LEVEL: 'info', ...migrated }),
      spawnWorker(deploy, { RV_LOG_LEVEL: 'info', ...migrated }),
    ]);
    apis = [first, second];
    workers = [w1, w2];
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    redis = new Redis(deploy.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    token = await fetchToken(first.httpsUrl);
    await clock(0, { to: start.toISOString() });
  }, 180_000);

  afterAll(async () => {
    await source?.agent.stop();
    await target?.agent.stop();
    await Promise.all([...apis, ...workers].map((p) => p.stop()));
    await sql?.end();
    redis?.disconnect();
    await database.drop();
    deploy?.remove();
  });

  it('pages a list across both APIs (one master key, one $skipToken)', async () => {
    vaultArmId =
      (
        await sdk(0).vaults.vaults.createOrUpdate(
          'rg',
          vault,
          { location: 'westeurope', sku: { name: 'Standard' } },
          poll,
        )
      ).id ?? '';
    const names = ['HourlyLogs', 'Second', 'Third'];
    for (const [i, name] of names.entries())
      await sdk(i).backup.protectionPolicies.createOrUpdate(vault, 'rg', name, dailyFullWithLogs(60));
    const firstPage = await fetch(
      `${apis[0]?.httpsUrl}${vaultArmId}/backupPolicies?api-version=2023-06-01&$filter=backupManagementType eq 'AzureWorkload'`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    const one = (await firstPage.json()) as { value: { name: string }[]; nextLink: string };
    expect(one.value).toHaveLength(2);
    const nextOnOther = one.nextLink.replace(new URL(one.nextLink).origin, apis[1]?.httpsUrl ?? '');
    const secondPage = await fetch(nextOnOther, { headers: { authorization: `Bearer ${token}` } });
    expect(secondPage.status).toBe(200);
    const two = (await secondPage.json()) as { value: { name: string }[]; nextLink?: string };
    // With the SQL default policy every vault is created with (HourlyLogBackup): four, two to a page.
    expect([...one.value, ...two.value].map((p) => p.name).sort()).toEqual([...names, 'HourlyLogBackup'].sort());
  });

  it('registers a VM through each API, protects its database', async () => {
    const db = { name: 'sales', recoveryModel: 'FULL', sizeMiB: 2, files: 2, writesPerMinute: 60 };
    source = await registeredSqlVm(
      { httpsUrl: apis[0]?.httpsUrl } as TestServer,
      sdk(0).backup,
      token,
      vaultArmId,
      windowsSqlVm('srcvm', [db]),
    );
    target = await registeredSqlVm(
      { httpsUrl: apis[1]?.httpsUrl } as TestServer,
      sdk(1).backup,
      token,
      vaultArmId,
      windowsSqlVm('dstvm', []),
    );
    await protectDatabase(sdk(1).backup, vaultArmId, source.containerName, ITEM, 'HourlyLogs');
  });

  /** Backup now through API `i`, with the VM's container row held so that the operation's work blocks in a worker. */
  async function blockedOnDemandBackup(i: number) {
    const lock = new pg.Client({ connectionString: database.url });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('SELECT 1 FROM "ProtectionContainer" WHERE "name" = $1 FOR UPDATE', [source?.containerName]);
    await sdk(i).backup.backups.trigger(vault, 'rg', 'Azure', source?.containerName ?? '', ITEM, {
      properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Full' } as never,
    });
    const operation = await eventually(
      'a worker to take the operation',
      async () =>
        (
          await sql.query<{ id: string; leaseOwner: string | null }>(
            `SELECT "id", "leaseOwner" FROM "Operation" WHERE "kind" = 'item.backup' AND "status" = 'InProgress' AND "leaseOwner" IS NOT NULL`,
          )
        ).rows[0],
      30_000,
    );
    return {
      id: operation.id,
      /** The worker process holding it. */
      holder: workers.findIndex((w) => operation.leaseOwner?.split(':')[1] === String(w.process.pid)),
      release: async () => {
        await lock.query('COMMIT');
        await lock.end();
      },
    };
  }
  const operationEnds = (id: string) =>
    eventually(
      `operation ${id} to end`,
      async () =>
        (
          await sql.query<{ status: string }>(
            'SELECT "status" FROM "Operation" WHERE "id" = $1 AND "status" <> \'InProgress\'',
            [id],
          )
        ).rows[0]?.status,
      60_000,
    );
  /** Until no backup is under way (an on-demand one would make the scheduled ones of its item conflict). */
  const uploadsEnded = () =>
    eventually(
      'every upload to end',
      async () =>
        Number((await sql.query(`SELECT count(*) FROM "BackupUpload" WHERE "state" = 'Open'`)).rows[0]?.count) === 0,
      60_000,
    );
  const onDemandJobs = async () =>
    Number((await sql.query(`SELECT count(*) FROM "BackupUpload" WHERE "isOnDemand"`)).rows[0]?.count);
  /** Backup jobs: a second run of one operation starts a second job, even one that fails at once for the first. */
  const backupJobs = async () =>
    Number((await sql.query(`SELECT count(*) FROM "Job" WHERE "operation" = 'Backup'`)).rows[0]?.count);

  /** Until a maintenance job scheduler has run twice more: its next run moves on twice (every `seconds`). */
  async function twoRunsOf(scheduler: string, seconds: number) {
    const maintenance = new Queue('maintenance', { connection: redis, prefix: deploy.env.RV_QUEUE_PREFIX });
    const next = async () => (await maintenance.getJobScheduler(scheduler))?.next ?? 0;
    const first = await eventually(`a run of ${scheduler}`, async () => next(), 10_000);
    await eventually(`two runs of ${scheduler}`, async () => (await next()) >= first + 2 * seconds * 1000, 30_000, 200);
    await maintenance.close();
  }

  it('dispatches a due backup once while the clock and both workers reach for it (the scheduler claim)', async () => {
    // New backups cannot be written while this lock is held: whoever dispatches the 22:00 Full first stops there,
    // holding the item it claimed; the others, ticking every second meanwhile, must find nothing left to claim.
    const lock = new pg.Client({ connectionString: database.url });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE "BackupUpload" IN EXCLUSIVE MODE');
    const advanced = clock(0, { advanceSeconds: 10 * 60 });
    await eventually(
      'a dispatch to wait for the lock',
      async () =>
        Number(
          (
            await sql.query(
              `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
            )
          ).rows[0]?.count,
        ) > 0,
      30_000,
    );
    await twoRunsOf('schedule-tick', 1);
    await lock.query('COMMIT');
    await lock.end();
    expect((await advanced).backupsStarted).toBeLessThanOrEqual(1);
    await uploadsEnded();
    const scheduled = await sql.query(`SELECT "backupType", "state" FROM "BackupUpload" WHERE NOT "isOnDemand"`);
    expect(scheduled.rows).toEqual([{ backupType: 'Full', state: 'Committed' }]);
    // A second dispatch would have started a second job (failing at once for the backup under way).
    expect(await backupJobs()).toBe(1);
  });

  it('runs an operation once when Redis loses its job while a worker runs it (the lease keeps recovery off it)', async () => {
    const before = await onDemandJobs();
    const jobsBefore = await backupJobs();
    const blocked = await blockedOnDemandBackup(0);
    expect(blocked.holder).toBeGreaterThanOrEqual(0);
    // Redis loses the running job (as a restart without persistence would): recovery finds the operation without one.
    const prefix = `${deploy.env.RV_QUEUE_PREFIX}:operations`;
    await redis.del(`${prefix}:${blocked.id}`, `${prefix}:${blocked.id}:lock`);
    await redis.lrem(`${prefix}:active`, 0, blocked.id);
    // Two recovery sweeps pass while the work is still blocked.
    await twoRunsOf('operation-recovery', LEASE_SECONDS);
    await blocked.release();
    expect(await operationEnds(blocked.id)).toBe('Succeeded');
    await uploadsEnded();
    expect(await onDemandJobs()).toBe(before + 1);
    expect(await backupJobs()).toBe(jobsBefore + 1);
  });

  it('plays a day of schedules with a worker killed mid-operation: each backup once, the operation finished by the other', async () => {
    const before = await onDemandJobs();
    // Half a day through the first API (the workers' ticks race the clock's own dispatch for every step).
    expect((await clock(0, { advanceSeconds: 12 * 3600 })).backupsStarted).toBeGreaterThan(0);
    const blocked = await blockedOnDemandBackup(1);
    const killed = workers[blocked.holder] as ManagedProcess;
    await killed.kill();
    await blocked.release();
    expect(await operationEnds(blocked.id)).toBe('Succeeded');
    expect(await onDemandJobs()).toBe(before + 1);
    await uploadsEnded();
    // The rest of the day through the other API, one worker left.
    const now = await clock(1, { advanceSeconds: 12 * 3600 });
    await uploadsEnded();
    // Every whole hour from 22:00 to the clock's end is a scheduled slot (22:00: a Full, the others Logs): each has
    // started exactly one backup (the command's `at`: when the vault took it), and every backup has committed.
    const slots = await sql.query<{ at: string; n: number }>(
      `SELECT date_trunc('minute', (c."payload"->>'at')::timestamptz)::text AS at, count(*)::int AS n
       FROM "AgentCommand" c JOIN "BackupUpload" u ON u."id" = c."payload"->>'backupId'
       WHERE c."type" = 'backup' AND NOT u."isOnDemand" GROUP BY 1 ORDER BY 1`,
    );
    const jobs = await sql.query(
      `SELECT "status", "startTime", "errorDetails" FROM "Job" WHERE "operation" = 'Backup' ORDER BY "startTime"`,
    );
    const end = new Date(now.now);
    const expected: string[] = [];
    for (let t = at(22, 0).getTime(); t <= end.getTime(); t += 3_600_000) expected.push(new Date(t).toISOString());
    expect(
      slots.rows.map((r) => new Date(r.at).toISOString()),
      JSON.stringify(jobs.rows),
    ).toEqual(expected);
    expect(slots.rows.every((r) => r.n === 1)).toBe(true);
    const states = await sql.query<{ state: string; n: number }>(
      `SELECT "state", count(*)::int AS n FROM "BackupUpload" GROUP BY 1`,
    );
    expect(states.rows).toEqual([{ state: 'Committed', n: expected.length + (await onDemandJobs()) }]);
  });

  it('restores through the second API what was streamed into the first, byte-exact', async () => {
    const range = await sdk(1).backup.recoveryPoints.get(
      vault,
      'rg',
      'Azure',
      source?.containerName ?? '',
      ITEM,
      'DefaultRangeRecoveryPoint',
    );
    const ranges = (range.properties as { timeRanges?: { startTime: Date; endTime: Date }[] }).timeRanges ?? [];
    const last = ranges[ranges.length - 1] as { startTime: Date; endTime: Date };
    const t = new Date(Math.floor((last.startTime.getTime() + last.endTime.getTime()) / 2000) * 1000);
    await restoreAsNewDatabase(
      sdk(1).backup,
      vault,
      { containerName: source?.containerName ?? '', itemName: ITEM },
      { pointInTime: t },
      {
        containerId: `${vaultArmId}/backupFabrics/Azure/protectionContainers/${target?.containerName}`,
        databaseName: 'MSSQLSERVER/sales_copy',
      },
    );
    const store = source?.agent.simulatedState;
    const expected = store?.database(store.state.databases.find((d) => d.name === 'sales')!).contentHashAt(t);
    const restored = target?.agent.simulatedState?.state.databases.find((d) => d.name === 'sales_copy');
    expect(restored?.restoredFrom?.sha256).toBe(expected);
  });
});
