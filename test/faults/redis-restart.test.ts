import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backupRig,
  type BackupRig,
  eventually,
  type PrivateRedis,
  startPrivateRedis,
  tomorrowFrom,
} from '../support/processes.ts';

const QUARTER = 15 * 60_000;

/**
 * Redis dies in the middle of a simulated day of 15-minute log backups and comes back empty (a new server on the same
 * port, no persistence): BullMQ's queues and job schedulers, the pub/sub of the clock and of agent commands are gone.
 * Schedules live in PostgreSQL, so nothing may be lost or run twice: over the day, one Full and 95 Logs, one per due
 * time, in one unbroken log chain — a due time dispatched while Redis is down, and one that passes unseen then taken
 * once it is back. The API, worker and agent processes recover by themselves (none is restarted).
 *
 * Most of the day is driven by the emulator clock (the API dispatches each due time in order); around the outage the
 * worker's own scheduler tick (a BullMQ job scheduler, 1 s) dispatches, as in production.
 */
describe('a Redis restart during a day of schedules', () => {
  let redis: PrivateRedis;
  let rig: BackupRig;
  // Tomorrow 21:59 UTC: the day runs from the 22:00 Full to the 21:45 Log of the day after.
  const start = tomorrowFrom(21, 59).start;
  const dayStart = new Date(start.getTime() + 60_000);
  const dueTimes = Array.from({ length: 96 }, (_, i) => new Date(dayStart.getTime() + i * QUARTER));
  const due = (i: number) => dueTimes[i] as Date;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    rig = await backupRig({ name: 'redis', sizeMiB: 1, start, redisUrl: redis.url });
  }, 120_000);
  afterAll(async () => {
    await rig?.stop();
    await redis?.stop(true);
  });

  const points = async () =>
    (
      await rig.sql.query<{ type: string; endTime: Date; firstLsn: string; lastLsn: string }>(
        'SELECT "type", "endTime", "firstLsn", "lastLsn" FROM "RecoveryPoint" ORDER BY "endTime"',
      )
    ).rows;
  const settled = () =>
    eventually('every upload to end', async () => (await rig.uploads()).every((u) => u.state !== 'Open'), 30_000, 50);
  /** Lets the worker's scheduler tick dispatch the backup due at `at`, and waits until it is committed. */
  const byTheWorker = async (at: Date) => {
    await rig.approach(at, 1);
    await eventually(
      `the backup due at ${at.toISOString()}`,
      async () => (await points()).some((p) => p.endTime >= at),
      30_000,
      100,
    );
    await settled();
  };

  it('loses no scheduled backup and runs none twice; every process recovers by itself', async () => {
    // The first half of the day, up to the 10:00 Log. (The worker's tick may take some of them: the count is below.)
    await rig.clock({ to: new Date(due(48).getTime() + 60_000).toISOString() });
    await settled();
    await byTheWorker(due(49));

    await redis.stop(true);
    // 10:30, Redis down: the emulator clock has the API dispatch it; the agent's command is announced to nobody (the
    // agent finds it by polling PostgreSQL) and the clock's move reaches the worker through nobody.
    await rig.clock({ to: due(50).toISOString() });
    await settled();
    // 10:45 passes with Redis still down: no worker tick can run.
    await rig.approach(due(51), 1);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await points()).filter((p) => p.endTime >= due(51))).toEqual([]);
    await redis.start();

    // Back, empty: the worker learns the time again, re-creates its schedulers and takes the 10:45 Log it missed,
    // once; then the 11:00 one on time.
    await eventually(
      'the 10:45 Log, late',
      async () => (await points()).some((p) => p.endTime >= due(51)),
      30_000,
      100,
    );
    await settled();
    await byTheWorker(due(52));
    // The rest of the day.
    await rig.clock({ to: new Date(due(95).getTime() + 60_000).toISOString() });
    await settled();

    const all = await points();
    // One recovery point per due time: each lies in [due time, next due time).
    const perDueTime = dueTimes.map((d) =>
      all.filter((p) => p.endTime >= d && p.endTime.getTime() < d.getTime() + QUARTER).map((p) => p.type),
    );
    expect(perDueTime).toEqual([['Full'], ...Array.from({ length: 95 }, () => ['Log'])]);
    expect(all).toHaveLength(96);
    // One unbroken log chain: each Log starts where the previous backup's log ended.
    const breaks = all
      .slice(1)
      .filter((p, i) => p.type === 'Log' && p.firstLsn !== all[i]?.lastLsn)
      .map((p) => p.endTime.toISOString());
    expect(breaks).toEqual([]);
    const range = await rig.backup.recoveryPoints.get(
      rig.vault,
      'rg',
      'Azure',
      rig.containerName,
      rig.itemName,
      'DefaultRangeRecoveryPoint',
    );
    expect((range.properties as { timeRanges?: unknown[] }).timeRanges).toHaveLength(1);
    // Nothing started twice or left behind.
    expect((await rig.uploads()).map((u) => u.state)).toEqual(Array(96).fill('Committed'));
    const blobs = await rig.blobs();
    expect(blobs.committed).toEqual(blobs.recoveryPoints);

    // Nobody restarted anything: the same processes, ready again.
    expect({ api: rig.api.running, worker: rig.worker?.running }).toEqual({ api: true, worker: true });
    await eventually(
      'the API to be ready',
      async () => (await fetch(`${rig.api.httpsUrl}/readyz`)).status === 200,
      10_000,
      100,
    );
  }, 150_000);

  it('runs an operation whose queued work an emptied Redis lost: the worker queues it again, once', async () => {
    await settled();
    // No worker while the operation waits in the queue, so that its job is in Redis only.
    await rig.worker?.stop();
    const fullsBefore = (await points()).filter((p) => p.type === 'Full').length;
    let statusUrl = '';
    await rig.backup.backups.trigger(
      rig.vault,
      'rg',
      'Azure',
      rig.containerName,
      rig.itemName,
      { properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Full' } as never },
      {
        onResponse: (raw) => {
          statusUrl = raw.headers.get('azure-asyncoperation') ?? '';
        },
      },
    );
    const operationId = new URL(statusUrl).pathname.split('/').pop() ?? '';
    await redis.stop(true);
    await redis.start(); // empty: the operation's job is gone

    await rig.startWorker();
    const status = await eventually(
      'the operation to end',
      async () => {
        const s = await rig.backup.backupOperationStatuses.get(rig.vault, 'rg', operationId);
        return s.status === 'InProgress' ? undefined : s;
      },
      30_000,
      100,
    );
    expect(status.status).toBe('Succeeded');
    await eventually(
      'the on-demand Full',
      async () => (await points()).filter((p) => p.type === 'Full').length > fullsBefore,
      30_000,
      100,
    );
    await settled();
    expect((await points()).filter((p) => p.type === 'Full')).toHaveLength(fullsBefore + 1);
    expect(
      rig.worker?.lines
        .filter((line) => line.includes('queued again'))
        .map((line) => (JSON.parse(line) as { requeued: number }).requeued),
    ).toEqual([1]);
  }, 90_000);

  it('refuses an operation while Redis is down with a 503, and nothing of it runs once Redis is back', async () => {
    await settled();
    const fullsBefore = (await points()).filter((p) => p.type === 'Full').length;
    const { subscriptionId } = (
      await rig.sql.query<{ subscriptionId: string }>('SELECT "subscriptionId" FROM "Vault" WHERE "id" = $1', [
        rig.vaultId,
      ])
    ).rows[0]!;
    const item =
      `/subscriptions/${subscriptionId}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/${rig.vault}` +
      `/backupFabrics/Azure/protectionContainers/${encodeURIComponent(rig.containerName)}/protectedItems/${encodeURIComponent(rig.itemName)}`;
    await redis.stop(true);
    const response = await fetch(`${rig.api.httpsUrl}${item}/backup?api-version=2023-06-01`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rig.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Full' } }),
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error: { code: 'ServiceUnavailable', message: 'The job queue (Redis) is unavailable; retry later.' },
    });
    const recorded = await rig.sql.query<{ status: string; errorCode: string | null }>(
      `SELECT "status", "errorCode" FROM "Operation" WHERE "kind" = 'item.backup' ORDER BY "startTime" DESC LIMIT 1`,
    );
    expect(recorded.rows).toEqual([{ status: 'Failed', errorCode: 'ServiceUnavailable' }]);

    const recoveries = () =>
      (rig.worker?.lines ?? []).filter((line) => line.includes('recovered after a Redis reconnection'));
    const before = recoveries().length;
    await redis.start();
    // The worker's recovery after the reconnection (schedulers, then lost operations) has run: nothing to take up.
    await eventually('the worker to recover from the restart', async () => recoveries().length > before, 30_000, 100);
    expect(
      recoveries()
        .slice(before)
        .map((line) => (JSON.parse(line) as { requeued: number }).requeued),
    ).toEqual([0]);
    expect((await points()).filter((p) => p.type === 'Full')).toHaveLength(fullsBefore);
  }, 90_000);
});
