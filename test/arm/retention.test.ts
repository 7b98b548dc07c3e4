import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import type { RecoveryServicesClient } from '@azure/arm-recoveryservices';
import type { TestServer } from '../support/server.ts';
import { clockDeployment, type ClockDeployment } from '../support/own-database.ts';
import { asSdkPolicy } from '../support/policies.ts';
import { registeredSqlVm, until, type SqlVm } from '../support/vm.ts';
import { vaultContainerName } from '../../src/storage/containers.ts';
import { openDecrypted, type StoredBlock } from '../../src/storage/backup-blobs.ts';
import { asCommittedPoint, dataKeyOf } from '../../src/services/backups.ts';
import { restoreChainForPoint, restoreChainForPointInTime } from '../../src/domain/restore-chain.ts';

const poll = { updateIntervalInMs: 50 };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Both policies run their Full at 08:00 in Tokyo (UTC+9, no DST): 23:00 UTC the day before, so the policy's
 * calendar and UTC's disagree on every backup's date — the sweep must read dates in the policy's time zone. */
const RUN_TIME = '2099-01-01T08:00:00.000Z';
const ZONE = 'Tokyo Standard Time';
/** The sweep runs daily at 23:00 UTC here (RV_RETENTION_SWEEP_HOUR), the instant of the day's Full. */
const SWEEP_HOUR = 23;
/** 22:00 UTC on 31 May 2099 = 07:00 on Monday 1 June 2099 in Tokyo, an hour before the first Full. */
const START = new Date('2099-05-31T22:00:00.000Z');
/** 400 days and an hour later: the last sweep instant, 08:00 on Tuesday 6 July 2100 in Tokyo. */
const END = new Date(START.getTime() + 400 * DAY + HOUR);

const tokyoDate = (d: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo' }).format(d);
const tokyoTime = (d: Date) =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Tokyo',
    dateStyle: 'short',
    timeStyle: 'short',
    hourCycle: 'h23',
  }).format(d);

/**
 * "LongTerm": a Sunday Full kept 6 weeks; the First and Last Sunday of a month 4 months; the First and Last Sunday of
 * January 2 years. (Daily retention needs a daily Full: 400 of them would cost the suite minutes; the daily rule is
 * covered by the domain's 400-day table test, test/domain/retention.test.ts.)
 */
const longTerm = {
  backupManagementType: 'AzureWorkload',
  workLoadType: 'SQLDataBase',
  settings: { timeZone: ZONE, issqlcompression: false },
  subProtectionPolicy: [
    {
      policyType: 'Full',
      schedulePolicy: {
        schedulePolicyType: 'SimpleSchedulePolicy',
        scheduleRunFrequency: 'Weekly',
        scheduleRunDays: ['Sunday'],
        scheduleRunTimes: [RUN_TIME],
      },
      retentionPolicy: {
        retentionPolicyType: 'LongTermRetentionPolicy',
        weeklySchedule: {
          daysOfTheWeek: ['Sunday'],
          retentionTimes: [RUN_TIME],
          retentionDuration: { count: 6, durationType: 'Weeks' },
        },
        monthlySchedule: {
          retentionScheduleFormatType: 'Weekly',
          retentionScheduleWeekly: { daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['First', 'Last'] },
          retentionTimes: [RUN_TIME],
          retentionDuration: { count: 4, durationType: 'Months' },
        },
        yearlySchedule: {
          retentionScheduleFormatType: 'Weekly',
          monthsOfYear: ['January'],
          retentionScheduleWeekly: { daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['First', 'Last'] },
          retentionTimes: [RUN_TIME],
          retentionDuration: { count: 2, durationType: 'Years' },
        },
      },
    },
  ],
};

/** "WeeklyWithLogs": a Sunday Full kept 2 weeks, a log every 24 hours (at local midnight) kept 14 days. */
const weeklyWithLogs = {
  backupManagementType: 'AzureWorkload',
  workLoadType: 'SQLDataBase',
  settings: { timeZone: ZONE, issqlcompression: false },
  subProtectionPolicy: [
    {
      policyType: 'Full',
      schedulePolicy: {
        schedulePolicyType: 'SimpleSchedulePolicy',
        scheduleRunFrequency: 'Weekly',
        scheduleRunDays: ['Sunday'],
        scheduleRunTimes: [RUN_TIME],
      },
      retentionPolicy: {
        retentionPolicyType: 'LongTermRetentionPolicy',
        weeklySchedule: {
          daysOfTheWeek: ['Sunday'],
          retentionTimes: [RUN_TIME],
          retentionDuration: { count: 2, durationType: 'Weeks' },
        },
      },
    },
    {
      policyType: 'Log',
      schedulePolicy: { schedulePolicyType: 'LogSchedulePolicy', scheduleFrequencyInMins: 1440 },
      retentionPolicy: {
        retentionPolicyType: 'SimpleRetentionPolicy',
        retentionDuration: { count: 14, durationType: 'Days' },
      },
    },
  ],
};

/**
 * What LongTerm keeps at the last sweep (08:00 Tuesday 6 July 2100, Tokyo), worked out by hand from the calendar:
 * - weekly, 6 weeks: Sundays after 08:00 25 May → 30 May, 6, 13, 20, 27 June, 4 July;
 * - monthly, 4 months: First/Last Sundays after 08:00 6 March → 7 and 28 March, 4 and 25 April, 2 and 30 May,
 *   6 and 27 June, 4 July (25 July is yet to come);
 * - yearly, 2 years: the First and Last Sundays of January 2100, 3 and 31 January (the policy starts in June 2099).
 * Everything else of the 57 Sunday Fulls (7 June 2099 to 4 July 2100) is gone.
 */
const LONG_TERM_KEPT = [
  '2100-01-03',
  '2100-01-31',
  '2100-03-07',
  '2100-03-28',
  '2100-04-04',
  '2100-04-25',
  '2100-05-02',
  '2100-05-30',
  '2100-06-06',
  '2100-06-13',
  '2100-06-20',
  '2100-06-27',
  '2100-07-04',
];
/**
 * What WeeklyWithLogs keeps then: the Sundays 27 June and 4 July (2 weeks); logs ending after 08:00 22 June (14 days)
 * — and, since logs expire per chain segment, the whole segment of the oldest of them: the logs from the one that
 * covers the Full of Sunday 20 June (midnight 21 June) on, and that Full, although its own 2 weeks are over.
 */
const WEEKLY_FULLS_KEPT = ['2100-06-20', '2100-06-27', '2100-07-04'];
const WEEKLY_LOGS_KEPT = Array.from(
  { length: 16 },
  (_, i) => `${tokyoDate(new Date(Date.UTC(2100, 5, 21 + i)))}, 00:00`,
);

/**
 * Retention on the emulator clock: 400 simulated days of scheduled backups, streamed by a real agent, with the daily
 * sweep at every day's sweep instant; then exactly the points the policies name remain, each restorable, and the
 * blobs of all others are gone. A database of its own: the clock and the scheduler are global to a deployment.
 */
describe('retention on the emulator clock', () => {
  let server: TestServer;
  let vaults: RecoveryServicesClient;
  let backup: RecoveryServicesBackupClient;
  let token: string;
  let vm: SqlVm;
  let blobs: ContainerClient;
  let vaultId: string;
  const vault = 'retention-vault';
  const LTR = 'SQLDataBase;MSSQLSERVER;ltr';
  const WEEKLY = 'SQLDataBase;MSSQLSERVER;weekly';

  let d: ClockDeployment;
  let clock: ClockDeployment['clock'];

  beforeAll(async () => {
    d = await clockDeployment('ret', {
      RV_RETENTION_SWEEP_HOUR: String(SWEEP_HOUR),
      RV_BACKUP_BLOCK_SIZE_BYTES: String(1024 * 1024),
      RV_UPLOAD_HISTORY_DAYS: '2',
    });
    ({ server, token, vaults, backup, clock } = d);
  });
  afterAll(async () => {
    await vm?.agent.stop();
    await d?.stop();
  });
  const itemRow = (itemName: string) => server.app.db.protectedItem.findFirstOrThrow({ where: { itemName } });
  const pointsOf = async (itemName: string) =>
    server.app.db.recoveryPoint.findMany({
      where: { protectedItemId: (await itemRow(itemName)).id },
      orderBy: [{ endTime: 'asc' }, { lastLsn: 'asc' }],
    });
  const listed = async (itemName: string) => {
    const points = [];
    for await (const p of backup.recoveryPoints.list(vault, 'rg', 'Azure', vm.containerName, itemName)) points.push(p);
    return points;
  };
  const blobNames = async (prefix?: string) => {
    const names: string[] = [];
    for await (const b of blobs.listBlobsFlat(prefix === undefined ? {} : { prefix })) names.push(b.name);
    return names.sort();
  };
  /** PUT or DELETE on an item, followed to the end through its Azure-AsyncOperation. */
  const follow = async (
    send: (onResponse: (raw: { headers: { get(name: string): string | undefined } }) => void) => Promise<unknown>,
  ) => {
    let statusUrl = '';
    await send((raw) => {
      statusUrl = raw.headers.get('azure-asyncoperation') ?? '';
    });
    const operationId = new URL(statusUrl).pathname.split('/').pop() ?? '';
    const status = await until('the operation to end', async () => {
      const s = await backup.backupOperationStatuses.get(vault, 'rg', operationId);
      return s.status === 'InProgress' ? undefined : s;
    });
    expect(status.status).toBe('Succeeded');
    return status;
  };

  it(
    'plays 400 days of long-term policies: exactly the points they name remain, each restorable, no other blob',
    { timeout: 120_000 },
    async () => {
      const created = await vaults.vaults.createOrUpdate(
        'rg',
        vault,
        { location: 'westeurope', sku: { name: 'Standard' } },
        poll,
      );
      await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'LongTerm', asSdkPolicy(longTerm));
      await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'WeeklyWithLogs', asSdkPolicy(weeklyWithLogs));
      await clock({ to: START.toISOString() });
      vm = await registeredSqlVm(server, backup, token, created.id ?? '', {
        vmName: 'retvm',
        resourceGroup: 'sql-rg',
        os: 'WindowsServer2022',
        instances: [
          {
            name: 'MSSQLSERVER',
            version: '2022',
            edition: 'Enterprise',
            pluginIsSysadmin: true,
            databases: [
              { name: 'ltr', recoveryModel: 'FULL', sizeMiB: 1, files: 2, writesPerMinute: 1 },
              { name: 'weekly', recoveryModel: 'FULL', sizeMiB: 1, files: 2, writesPerMinute: 1 },
            ],
          },
        ],
      });
      const protect = (item: string, policy: string) =>
        follow((onResponse) =>
          backup.protectedItems.createOrUpdate(
            vault,
            'rg',
            'Azure',
            vm.containerName,
            item,
            {
              properties: {
                protectedItemType: 'AzureVmWorkloadSQLDatabase',
                policyId: `${created.id}/backupPolicies/${policy}`,
              } as never,
            },
            { onResponse },
          ),
        );
      await protect(LTR, 'LongTerm');
      vaultId = (await itemRow(LTR)).vaultId;
      blobs = BlobServiceClient.fromConnectionString(inject('blobConnectionString')).getContainerClient(
        vaultContainerName(server.config.blobContainerPrefix, vaultId),
      );

      // A year in steps of ~100 days (no request runs for minutes); WeeklyWithLogs joins for the last 35 days (what it
      // keeps depends on its last three weeks only), then on to the end.
      let sweeps = 0;
      let started = 0;
      const advanceTo = async (t: number) => {
        const after = await clock({ to: new Date(t).toISOString() });
        sweeps += after.retentionSweeps ?? 0;
        started += after.backupsStarted ?? 0;
      };
      for (const days of [100, 200, 300, 365]) await advanceTo(START.getTime() + days * DAY);
      await protect(WEEKLY, 'WeeklyWithLogs');
      await advanceTo(END.getTime());
      // A sweep at 23:00 UTC on every day from 31 May 2099 to 5 July 2100; 57 Sunday Fulls of LongTerm; for
      // WeeklyWithLogs (from 07:00 1 June 2100, Tokyo) 35 daily logs at local midnight, 2 June to 6 July, the first healed
      // into a Full (there is none yet), and 5 Sunday Fulls.
      expect(sweeps).toBe(401);
      expect(started).toBe(57 + 35 + 5);

      // LongTerm: the discrete points the SDK lists are exactly the table.
      const ltrListed = await listed(LTR);
      expect(ltrListed.map((p) => (p.properties as { type?: string }).type)).toEqual(LONG_TERM_KEPT.map(() => 'Full'));
      expect(
        ltrListed.map((p) =>
          tokyoDate((p.properties as { recoveryPointTimeInUTC?: Date }).recoveryPointTimeInUTC as Date),
        ),
      ).toEqual(LONG_TERM_KEPT);
      // WeeklyWithLogs: three Fulls and one log range from the oldest kept Full to the last log.
      const weeklyListed = await listed(WEEKLY);
      const discrete = weeklyListed.filter((p) => p.name !== 'DefaultRangeRecoveryPoint');
      expect(
        discrete.map((p) =>
          tokyoDate((p.properties as { recoveryPointTimeInUTC?: Date }).recoveryPointTimeInUTC as Date),
        ),
      ).toEqual(WEEKLY_FULLS_KEPT);
      const range = weeklyListed.find((p) => p.name === 'DefaultRangeRecoveryPoint');
      const timeRanges = (range?.properties as { timeRanges?: { startTime: Date; endTime: Date }[] }).timeRanges ?? [];
      expect(timeRanges.map((r) => [tokyoTime(r.startTime), tokyoTime(r.endTime)])).toEqual([
        ['2100-06-20, 08:00', '2100-07-06, 00:00'],
      ]);
      const weeklyPoints = await pointsOf(WEEKLY);
      expect(weeklyPoints.filter((p) => p.type === 'Log').map((p) => tokyoTime(p.endTime))).toEqual(WEEKLY_LOGS_KEPT);

      // Every retained point is restorable from retained points only, and its blob exists and decrypts to its SHA-256.
      const key = await dataKeyOf(server.app, vaultId);
      const retainedBlobs: string[] = [];
      for (const itemName of [LTR, WEEKLY]) {
        const rows = await pointsOf(itemName);
        const points = rows.map(asCommittedPoint);
        for (const p of points) {
          const plan =
            p.type === 'Log' ? restoreChainForPointInTime(points, p.endTime) : restoreChainForPoint(points, p.id);
          expect(plan.parts[0]?.type, `restore of ${p.type} ${p.endTime.toISOString()}`).toBe('Full');
        }
        for (const row of rows) {
          const hash = createHash('sha256');
          for await (const chunk of openDecrypted(blobs, row.blobName, key, row.blocks as unknown as StoredBlock[]))
            hash.update(chunk as Buffer);
          expect(hash.digest('hex'), `blob of ${row.type} ${row.endTime.toISOString()}`).toBe(row.sha256);
          retainedBlobs.push(row.blobName);
        }
      }
      // …and the blobs of every expired point are gone: storage holds exactly the retained points' blobs.
      expect(await blobNames()).toEqual(retainedBlobs.sort());

      // The upload history keeps the two days (RV_UPLOAD_HISTORY_DAYS) before the last sweep, 23:00 UTC 5 July 2100 — a
      // cutoff of 23:00 UTC 3 July, 08:00 4 July in Tokyo — and each item's latest of each type, however old: of
      // LongTerm's 57 Fulls, that of Sunday 4 July (at the cutoff); of WeeklyWithLogs', that Full, the log of local
      // midnight 5 July (not its latest: kept for its age) and the one of 6 July; the log of 4 July is 8 hours too old.
      const uploadsOf = async (itemName: string) => {
        const uploads = await server.app.db.backupUpload.findMany({
          where: { protectedItemId: (await itemRow(itemName)).id },
          orderBy: { createdAt: 'asc' },
        });
        return uploads.map((u) => `${u.backupType} ${u.state} ${tokyoTime(u.createdAt)}`);
      };
      expect(await uploadsOf(LTR)).toEqual(['Full Committed 2100-07-04, 08:00']);
      expect(await uploadsOf(WEEKLY)).toEqual([
        'Full Committed 2100-07-04, 08:00',
        'Log Committed 2100-07-05, 00:00',
        'Log Committed 2100-07-06, 00:00',
      ]);
    },
  );

  /** Backup now with a "retain until", followed to the end of its job. */
  async function backupNow(itemName: string, expiry: Date) {
    const status = await follow((onResponse) =>
      backup.backups.trigger(
        vault,
        'rg',
        'Azure',
        vm.containerName,
        itemName,
        {
          properties: {
            objectType: 'AzureWorkloadBackupRequest',
            backupType: 'Full',
            recoveryPointExpiryTimeInUTC: expiry,
          } as never,
        },
        { onResponse },
      ),
    );
    const jobId = (status.properties as { jobId?: string }).jobId ?? '';
    const job = await until('the backup job to end', async () => {
      const j = await backup.jobDetails.get(vault, 'rg', jobId);
      return j.properties?.status === 'InProgress' ? undefined : j;
    });
    expect(job.properties?.status).toBe('Completed');
  }

  it('keeps an on-demand Full until its recoveryPointExpiryTimeInUTC, then deletes it and its blob', async () => {
    const now = new Date((await clock({ advanceSeconds: 0 })).now);
    // Retain until 36 hours from now: the sweep 24 hours on keeps it, the one 48 hours on does not.
    await backupNow(LTR, new Date(now.getTime() + 36 * HOUR));
    const onDemand = await server.app.db.recoveryPoint.findFirstOrThrow({ where: { isOnDemand: true } });
    expect(onDemand.expiresAt?.toISOString()).toBe(new Date(now.getTime() + 36 * HOUR).toISOString());
    const listedIds = async () => (await listed(LTR)).map((p) => p.name);
    expect(await listedIds()).toContain(onDemand.id);

    expect((await clock({ advanceSeconds: 86_400 })).retentionSweeps).toBe(1);
    expect(await listedIds()).toContain(onDemand.id);
    expect(await blobNames(onDemand.blobName)).toEqual([onDemand.blobName]);

    expect((await clock({ advanceSeconds: 86_400 })).retentionSweeps).toBe(1);
    expect(await listedIds()).not.toContain(onDemand.id);
    expect(await blobNames(onDemand.blobName)).toEqual([]);
  });

  it('never expires the points of a soft-deleted item; undelete keeps them all; the purge after the retention deletes rows and blobs', async () => {
    const item = await itemRow(WEEKLY);
    const before = (await pointsOf(WEEKLY)).map((p) => p.id);
    const blobsBefore = await blobNames(`${item.id}/`);
    expect(blobsBefore).toHaveLength(before.length);
    const remove = () =>
      follow((onResponse) =>
        backup.protectedItems.delete(vault, 'rg', 'Azure', vm.containerName, WEEKLY, { onResponse }),
      );

    await remove();
    // 13 days: every log and both Sunday Fulls would have expired by the policy; soft-deleted, nothing does.
    expect((await clock({ advanceSeconds: 13 * 86_400 })).retentionSweeps).toBe(13);
    expect((await pointsOf(WEEKLY)).map((p) => p.id)).toEqual(before);
    await follow((onResponse) =>
      backup.protectedItems.createOrUpdate(
        vault,
        'rg',
        'Azure',
        vm.containerName,
        WEEKLY,
        {
          properties: { protectedItemType: 'AzureVmWorkloadSQLDatabase', isRehydrate: true } as never,
        },
        { onResponse },
      ),
    );
    expect((await backup.protectedItems.get(vault, 'rg', 'Azure', vm.containerName, WEEKLY)).properties).toMatchObject({
      isScheduledForDeferredDelete: false,
      protectionState: 'ProtectionStopped',
    });
    // Undeleted, the item keeps its data for ever (stopped, retain data): the next sweeps take nothing either.
    await clock({ advanceSeconds: 86_400 });
    expect((await pointsOf(WEEKLY)).map((p) => p.id)).toEqual(before);
    expect(await blobNames(`${item.id}/`)).toEqual(blobsBefore);

    await remove();
    // The vault's soft-delete retention (14 days) ends; advancing past it purges the item, its points and its blobs.
    await clock({ advanceSeconds: 14 * 86_400 + 3_600 });
    await expect(backup.protectedItems.get(vault, 'rg', 'Azure', vm.containerName, WEEKLY)).rejects.toMatchObject({
      statusCode: 404,
    });
    expect(await server.app.db.recoveryPoint.count({ where: { protectedItemId: item.id } })).toBe(0);
    expect(await blobNames(`${item.id}/`)).toEqual([]);
  });
});
