import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupRig, eventually, tomorrowFrom, type BackupRig } from '../support/processes.ts';

/**
 * kill -9 of the worker process (src/worker.ts; the API runs with RV_WORKERS=false). The worker dispatches scheduled
 * backups (the scheduler tick) and runs operations; the stream itself goes from the agent to the API. So a worker
 * killed mid-upload must not disturb the upload, and a worker killed in the middle of dispatching a backup must not
 * lose it: no recovery point, no committed blob and no open upload for the attempt it did not finish, and the
 * backup runs once a worker is back.
 */
describe('kill -9 of the worker', () => {
  let rig: BackupRig;
  // Tomorrow 09:59 UTC: the 10:00 Log is the first scheduled backup (healed into a Full: there is none yet).
  const { start, at } = tomorrowFrom(9, 59);

  beforeAll(async () => {
    rig = await backupRig({ name: 'worker', sizeMiB: 128, start });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  const points = async () =>
    (
      await rig.sql.query<{ type: string; endTime: Date }>(
        'SELECT "type", "endTime" FROM "RecoveryPoint" ORDER BY "endTime"',
      )
    ).rows;
  const jobs = async () =>
    (
      await rig.sql.query<{ status: string; errorDetails: unknown }>(
        'SELECT "status", "errorDetails" FROM "Job" WHERE "operation" = \'Backup\' ORDER BY "startTime"',
      )
    ).rows;
  const blocksOf = async (uploadId: string) =>
    Number(
      (await rig.sql.query('SELECT count(*) FROM "UploadBlock" WHERE "uploadId" = $1', [uploadId])).rows[0]?.count,
    );
  const settled = () =>
    eventually('every upload to end', async () => (await rig.uploads()).every((u) => u.state !== 'Open'), 60_000, 100);

  it('mid-upload: the upload goes on through the API and commits; the restarted worker runs the next schedule', async () => {
    await rig.approach(at(10, 0));
    const upload = await eventually(
      'the scheduled backup to stream',
      async () => {
        const [open] = (await rig.uploads()).filter((u) => u.state === 'Open');
        return open !== undefined && (await blocksOf(open.id)) >= 10 ? open : undefined;
      },
      30_000,
      20,
    );
    expect(upload.backupType).toBe('Full');
    await rig.worker?.kill();
    expect(await blocksOf(upload.id)).toBeLessThan(512);

    await settled();
    expect((await rig.uploads()).map((u) => u.state)).toEqual(['Committed']);
    expect((await points()).map((p) => p.type)).toEqual(['Full']);
    expect((await jobs()).map((j) => j.status)).toEqual(['Completed']);
    const blobs = await rig.blobs();
    expect(blobs.committed).toEqual(blobs.recoveryPoints);

    // The next scheduled backup (10:15 Log) is dispatched by a new worker process.
    await rig.startWorker();
    await rig.approach(at(10, 15));
    await eventually('the 10:15 Log', async () => (await points()).some((p) => p.type === 'Log'), 30_000, 100);
    await settled();
    expect((await points()).map((p) => p.type)).toEqual(['Full', 'Log']);
    const after = await rig.blobs();
    expect(after.committed).toEqual(after.recoveryPoints);
  });

  it('mid-dispatch: the backup it claimed is neither lost nor left half-started, and runs once a worker is back', async () => {
    // Hold the VM's container row: the dispatch blocks where it issues the agent's command (its foreign key).
    const lock = new pg.Client({ connectionString: rig.deploy.env.DATABASE_URL });
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM "ProtectionContainer" FOR UPDATE');
      await rig.approach(at(10, 30));
      await eventually(
        'the worker to block inside the dispatch',
        async () =>
          (
            await rig.sql.query(
              `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%AgentCommand%'`,
            )
          ).rowCount === 1,
        30_000,
        50,
      );
      await rig.worker?.kill();
      await lock.query('ROLLBACK');
    } finally {
      await lock.end();
    }

    await rig.startWorker();
    // The 10:30 Log is taken once a worker is back (its tick runs what is due).
    await eventually(
      'the 10:30 Log',
      async () => (await points()).filter((p) => p.type === 'Log').length === 2,
      30_000,
      100,
    );
    await settled();
    expect((await points()).map((p) => p.type)).toEqual(['Full', 'Log', 'Log']);
    expect((await points())[2]?.endTime.getTime()).toBeGreaterThanOrEqual(at(10, 30).getTime());
    expect((await rig.uploads()).map((u) => u.state)).toEqual(['Committed', 'Committed', 'Committed']);
    expect((await jobs()).every((j) => j.status !== 'InProgress')).toBe(true);
    const blobs = await rig.blobs();
    expect(blobs.committed).toEqual(blobs.recoveryPoints);
    // And the next one (10:45) is not blocked by anything the killed dispatch left behind.
    await rig.approach(at(10, 45));
    await eventually(
      'the 10:45 Log',
      async () => (await points()).filter((p) => p.type === 'Log').length === 3,
      30_000,
      100,
    );
  });
});
