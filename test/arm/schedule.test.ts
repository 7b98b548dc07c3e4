import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { rpoWatch } from '../../src/jobs/rpo-watch.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import type { RecoveryServicesClient } from '@azure/arm-recoveryservices';
import type { TestServer } from '../support/server.ts';
import { clockDeployment, type ClockDeployment } from '../support/own-database.ts';
import { registeredSqlVm, until, type SqlVm } from '../support/vm.ts';
import { dailyFullWithLogs } from '../support/policies.ts';
import { tomorrowFrom } from '../support/processes.ts';
import { takeForeignBackup } from '../../src/agent/simulation/chain.ts';
import { recordBackup } from '../../src/agent/simulation/state.ts';

const poll = { updateIntervalInMs: 50 };

/**
 * Scheduled backups on the emulator clock: advancing it a day runs every due backup in order, streamed by a real
 * agent whose simulated database follows the vault's time. This file has a database of its own: the clock and
 * the scheduler are global to a deployment.
 */
describe('scheduled backups on the emulator clock', () => {
  let server: TestServer;
  let vaults: RecoveryServicesClient;
  let backup: RecoveryServicesBackupClient;
  let token: string;
  let vm: SqlVm;
  const vault = 'schedule-vault';

  let d: ClockDeployment;
  let clock: ClockDeployment['clock'];

  beforeAll(async () => {
    d = await clockDeployment('sched', { RV_BACKUP_BLOCK_SIZE_BYTES: String(1024 * 1024) });
    ({ server, token, vaults, backup, clock } = d);
  });
  afterAll(async () => {
    await vm?.agent.stop();
    await d?.stop();
  });

  it('plays one day: one Full, 95 logs, one unbroken time range, one listed job', async () => {
    const created = await vaults.vaults.createOrUpdate(
      'rg',
      vault,
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'DailyFull', dailyFullWithLogs(15));
    // Start just before the Full's time: 21:59 UTC, a day or so ahead.
    const start = tomorrowFrom(21, 59).start;
    // The service clock keeps running from where it was set, like the wall clock.
    expect(new Date((await clock({ to: start.toISOString() })).now).getTime() - start.getTime()).toBeLessThan(5_000);
    vm = await registeredSqlVm(server, backup, token, created.id ?? '', {
      vmName: 'schedvm',
      resourceGroup: 'sql-rg',
      os: 'WindowsServer2022',
      instances: [
        {
          name: 'MSSQLSERVER',
          version: '2022',
          edition: 'Enterprise',
          pluginIsSysadmin: true,
          databases: [{ name: 'sales', recoveryModel: 'FULL', sizeMiB: 2, files: 2, writesPerMinute: 60 }],
        },
      ],
    });
    await backup.protectedItems.createOrUpdate(
      vault,
      'rg',
      'Azure',
      vm.containerName,
      'SQLDataBase;MSSQLSERVER;sales',
      {
        properties: {
          protectedItemType: 'AzureVmWorkloadSQLDatabase',
          policyId: `${created.id}/backupPolicies/DailyFull`,
        } as never,
      },
    );

    const after = await clock({ advanceSeconds: 86_400 });
    expect(new Date(after.now).getTime() - (start.getTime() + 86_400_000)).toBeLessThan(60_000);
    expect(after.backupsStarted).toBe(96);

    const points = await server.app.db.recoveryPoint.groupBy({ by: ['type'], _count: { _all: true } });
    expect(Object.fromEntries(points.map((p) => [p.type, p._count._all]))).toEqual({ Full: 1, Log: 95 });
    const range = await backup.recoveryPoints.get(
      vault,
      'rg',
      'Azure',
      vm.containerName,
      'SQLDataBase;MSSQLSERVER;sales',
      'DefaultRangeRecoveryPoint',
    );
    const ranges = (range.properties as { timeRanges?: { startTime: Date; endTime: Date }[] }).timeRanges ?? [];
    expect(ranges).toHaveLength(1);
    expect(ranges[0]?.startTime.toISOString()).toBe(new Date(start.getTime() + 60_000).toISOString());
    expect(ranges[0]?.endTime.toISOString()).toBe(new Date(start.getTime() + 86_400_000 - 14 * 60_000).toISOString());

    const jobs = [];
    for await (const job of backup.backupJobs.list(vault, 'rg', { filter: "operation eq 'Backup'" }))
      jobs.push([
        job.properties?.status,
        (job.properties as { extendedInfo?: { propertyBag?: Record<string, string> } }).extendedInfo?.propertyBag?.[
          'Backup Type'
        ],
      ]);
    expect(jobs).toEqual([['Completed', 'Full']]);
    const item = await backup.protectedItems.get(
      vault,
      'rg',
      'Azure',
      vm.containerName,
      'SQLDataBase;MSSQLSERVER;sales',
    );
    expect(item.properties).toMatchObject({
      protectionState: 'Protected',
      lastBackupStatus: 'Healthy',
      protectedItemHealthStatus: 'Healthy',
    });
  });

  it('fails a scheduled log that finds a gap in the chain, and heals with a Full at the next one', async () => {
    const countOf = async () =>
      Object.fromEntries(
        (await server.app.db.recoveryPoint.groupBy({ by: ['type'], _count: { _all: true } })).map((p) => [
          p.type,
          p._count._all,
        ]),
      );
    // Past the day's 22:00 Full first (a due Full takes the place of the log due with it).
    await clock({ advanceSeconds: 5 * 60 });
    expect(await countOf()).toEqual({ Full: 2, Log: 95 });
    // A DBA's own log backup, taken with another tool at the vault's current time: SQL Server's chain moves on.
    const store = vm.agent.simulatedState;
    const record = store?.state.databases.find((d) => d.name === 'sales');
    if (store === undefined || record === undefined) throw new Error('the simulated database is missing');
    const foreign = takeForeignBackup(
      store.database(record),
      { name: 'sales', readOnly: false },
      record.chain,
      'Log',
      server.app.clock.now(),
    );
    await store.update((draft) => recordBackup(draft, 'MSSQLSERVER', 'sales', foreign.metadata, { foreign: true }));

    await clock({ advanceSeconds: 15 * 60 });
    const broken = await server.app.db.protectedItem.findFirstOrThrow({
      where: { itemName: 'SQLDataBase;MSSQLSERVER;sales' },
    });
    expect(broken.chainBroken).toBe(true);
    expect((broken.lastBackupError as { code?: string }).code).toBe('UserErrorSQLLSNValidationFailure');
    expect(await countOf()).toEqual({ Full: 2, Log: 95 });

    await clock({ advanceSeconds: 15 * 60 });
    expect(await countOf()).toEqual({ Full: 3, Log: 95 });
    const healed = await server.app.db.protectedItem.findFirstOrThrow({
      where: { itemName: 'SQLDataBase;MSSQLSERVER;sales' },
    });
    expect(healed.chainBroken).toBe(false);
    // The next log continues from the healing Full, and the log range restarts after the break.
    await clock({ advanceSeconds: 15 * 60 });
    expect(await countOf()).toEqual({ Full: 3, Log: 96 });
    const range = await backup.recoveryPoints.get(
      vault,
      'rg',
      'Azure',
      vm.containerName,
      'SQLDataBase;MSSQLSERVER;sales',
      'DefaultRangeRecoveryPoint',
    );
    expect((range.properties as { timeRanges?: unknown[] }).timeRanges).toHaveLength(2);
  });

  it('turns a database whose log backups stop ActionRequired, with an RPO alert', async () => {
    await vm.agent.stop();
    // 45 minutes without the agent: three 15-minute logs are due and none arrives (15 minutes of grace included).
    await clock({ advanceSeconds: 45 * 60, waitForBackupsSeconds: 0 });
    const item = await backup.protectedItems.get(
      vault,
      'rg',
      'Azure',
      vm.containerName,
      'SQLDataBase;MSSQLSERVER;sales',
    );
    expect(item.properties).toMatchObject({ protectedItemHealthStatus: 'ActionRequired' });
    const alerts = await server.app.db.alert.findMany({ where: { kind: 'RpoBreach', resolvedAt: null } });
    expect(alerts.map((a) => [a.entityName, a.severity])).toEqual([['sales [schedvm]', 'Critical']]);
  });

  it('raises one RPO alert however many watches run at once, and a watch reads only what may have changed', async () => {
    const db = server.app.db;
    // As before the breach: the item healthy, its alert resolved, no watermark (the next watch reads every item).
    await db.alert.updateMany({
      where: { kind: 'RpoBreach', resolvedAt: null },
      data: { resolvedAt: new Date(), openKey: null },
    });
    await db.protectedItem.updateMany({ data: { healthStatus: 'Healthy' } });
    await db.deploymentSetting.deleteMany({ where: { name: 'rpo-watch-at' } });
    const now = server.app.clock.now();
    const runs = await Promise.all(Array.from({ length: 4 }, () => rpoWatch(server.app, now)));
    expect(runs.reduce((sum, run) => sum + run.breached, 0)).toBe(1);
    expect(await db.alert.count({ where: { kind: 'RpoBreach', resolvedAt: null } })).toBe(1);
    // The next watch reads the ActionRequired item (it may have recovered) and raises nothing again.
    const next = await rpoWatch(server.app, new Date(now.getTime() + 60_000));
    expect(next).toEqual({ breached: 0, recovered: 0, examined: 1 });
    expect(await db.alert.count({ where: { kind: 'RpoBreach', resolvedAt: null } })).toBe(1);
  });

  it('waits at a step for the backups another process is dispatching then, not only for its own', async () => {
    // Another process's scheduler tick, caught in the middle of its claim: it holds the item, then moves its
    // schedule and starts the backup in one transaction (as jobs/scheduler.ts does).
    const other = new pg.Client({ connectionString: server.config.databaseUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      const [item] = (
        await other.query<{ id: string; vaultId: string; containerId: string; nextLogAt: Date }>(
          'SELECT "id", "vaultId", "containerId", "nextLogAt" FROM "ProtectedItem" FOR UPDATE',
        )
      ).rows;
      const due = item?.nextLogAt as Date;
      let answered = false;
      // Far longer than the waits below: only a clock that sees the upload end answers within them.
      const advancing = clock({ to: due.toISOString(), waitForBackupsSeconds: 120 }).then(() => (answered = true));
      const waiting = async () =>
        (
          await other.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
        ).rowCount === 1;
      await until('the clock to wait for the claim', waiting);
      const uploadId = randomUUID();
      await other.query('UPDATE "ProtectedItem" SET "nextLogAt" = $1', [new Date(due.getTime() + 15 * 60_000)]);
      await other.query(
        `INSERT INTO "BackupUpload" ("id", "vaultId", "protectedItemId", "containerId", "backupType", "blobName", "createdAt", "updatedAt") VALUES ($1, $2, $3, $4, 'Log', $5, $6, $6)`,
        [uploadId, item?.vaultId, item?.id, item?.containerId, `${item?.id}/${uploadId}.bak`, due],
      );
      await other.query('COMMIT');
      // Its backup is streaming: the clock stays at this step.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(answered).toBe(false);
      await other.query(`UPDATE "BackupUpload" SET "state" = 'Failed' WHERE "id" = $1`, [uploadId]);
      await until('the clock to answer once the upload ended', async () => answered, 10_000);
      await advancing;
    } finally {
      await other.end();
    }
  });
});
