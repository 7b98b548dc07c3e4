import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchDue } from '../../src/jobs/scheduler.ts';
import { clockDeployment, type ClockDeployment } from '../support/own-database.ts';
import { dailyFullWithLogs } from '../support/policies.ts';
import { seedProtectedItems } from '../support/seed-items.ts';

const MINUTE = 60_000;

/**
 * The per-VM limit of running backups (Azure's DefaultBackupTasksThreshold; here RV_MAX_CONCURRENT_BACKUPS_PER_VM=2):
 * a tick starts what each VM has room for and leaves the rest due, and a VM at its limit neither holds the tick nor
 * keeps other VMs' backups from starting, however small the scheduler's batch. Workers off: the test ticks itself.
 */
describe('the scheduler and the per-VM limit of running backups', () => {
  let d: ClockDeployment;
  let sql: pg.Client;

  beforeAll(async () => {
    // The seeded VMs have no agents: their last heartbeat must not make them Unhealthy while the clock advances.
    d = await clockDeployment('pervm', {
      RV_WORKERS: 'false',
      RV_MAX_CONCURRENT_BACKUPS_PER_VM: '2',
      RV_AGENT_UNHEALTHY_AFTER_SECONDS: '86400',
    });
    sql = new pg.Client({ connectionString: d.server.config.databaseUrl });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await d?.stop();
  });

  it('starts what each VM has room for; a VM at its limit keeps its items due without holding the others back', async () => {
    await d.vaults.vaults.createOrUpdate(
      'rg',
      'limits',
      { location: 'westeurope', sku: { name: 'Standard' } },
      { updateIntervalInMs: 50 },
    );
    await d.backup.protectionPolicies.createOrUpdate('limits', 'rg', 'DailyFull', dailyFullWithLogs(15));
    const vault = await d.server.app.db.vault.findFirstOrThrow({ where: { nameKey: 'limits' } });
    const now = d.server.app.clock.now();
    // Two VMs with three databases each (bigvm1: db0000, db0002, db0004; bigvm2: db0001, db0003, db0005).
    await seedProtectedItems(d.server.config.databaseUrl, vault.id, 2, 6, now);
    const vms = (
      await sql.query<{ id: string; friendlyName: string }>(
        `SELECT "id", "friendlyName" FROM "ProtectionContainer" WHERE "vaultId" = $1 ORDER BY "friendlyName"`,
        [vault.id],
      )
    ).rows;
    const [busy, free] = vms;
    // bigvm1's logs are due first, and two backups of its databases are still running: it is at its limit.
    await sql.query(
      `UPDATE "ProtectedItem" SET "nextLogAt" = CASE WHEN "containerId" = $1 THEN $2::timestamptz ELSE $3::timestamptz END,
         "nextFullAt" = $4 WHERE "vaultId" = $5`,
      [
        busy?.id,
        new Date(now.getTime() - 2 * MINUTE),
        new Date(now.getTime() - MINUTE),
        new Date(now.getTime() + 86_400_000),
        vault.id,
      ],
    );
    await sql.query(
      `INSERT INTO "BackupUpload" ("id", "vaultId", "protectedItemId", "containerId", "backupType", "blobName", "createdAt", "updatedAt")
       SELECT gen_random_uuid()::text, "vaultId", "id", "containerId", 'Log', "id" || '/running.bak', $2, $2
       FROM "ProtectedItem" WHERE "containerId" = $1 ORDER BY "itemName" LIMIT 2`,
      [busy?.id, now],
    );
    const before = await nextLogs(vault.id);

    // Batches of two: the first two due items are the busy VM's, which a tick must not claim over and over.
    const started = await dispatchDue(d.server.app, now, { batch: 2 });

    expect(started).toBe(2);
    const open = await sql.query<{ friendlyName: string; count: number }>(
      `SELECT c."friendlyName", count(*)::int AS "count" FROM "BackupUpload" u JOIN "ProtectionContainer" c ON c."id" = u."containerId"
       WHERE u."state" = 'Open' GROUP BY c."friendlyName" ORDER BY 1`,
    );
    expect(open.rows).toEqual([
      { friendlyName: busy?.friendlyName, count: 2 },
      { friendlyName: free?.friendlyName, count: 2 },
    ]);
    // What started moved to its next log time; what waits for room is still due, to start at a later tick.
    const after = await nextLogs(vault.id);
    const moved = [...after]
      .filter(([item, at]) => at > now.getTime() && at !== before.get(item))
      .map(([item]) => item);
    expect(moved).toHaveLength(2);
    expect([...after].filter(([, at]) => at <= now.getTime())).toHaveLength(4);
    const startedItems = (
      await sql.query<{ protectedItemId: string }>(
        `SELECT "protectedItemId" FROM "BackupUpload" WHERE "state" = 'Open' AND "containerId" = $1`,
        [free?.id],
      )
    ).rows.map((row) => row.protectedItemId);
    expect(startedItems.sort()).toEqual(moved.sort());
  });

  it('advances the emulator clock past items that wait for room, and starts them once their VM has it', async () => {
    // Both VMs are at their limit now (their backups have no agent to finish them); four items are past due.
    const from = d.server.app.clock.now();
    const advanced = await d.clock({ advanceSeconds: 60, waitForBackupsSeconds: 1 });
    expect(advanced.backupsStarted).toBe(0);
    expect(new Date(advanced.now).getTime() - from.getTime()).toBeGreaterThanOrEqual(60_000);
    // One of bigvm2's backups ends: its last due item starts at the next step, and only it.
    await sql.query(
      `UPDATE "BackupUpload" SET "state" = 'Failed' WHERE "id" = (
         SELECT u."id" FROM "BackupUpload" u JOIN "ProtectionContainer" c ON c."id" = u."containerId"
         WHERE c."friendlyName" = 'bigvm2' AND u."state" = 'Open' LIMIT 1)`,
    );
    const next = await d.clock({ advanceSeconds: 60, waitForBackupsSeconds: 1 });
    expect(next.backupsStarted).toBe(1);
  });

  async function nextLogs(vaultId: string): Promise<Map<string, number>> {
    const rows = await sql.query<{ id: string; nextLogAt: Date }>(
      `SELECT "id", "nextLogAt" FROM "ProtectedItem" WHERE "vaultId" = $1`,
      [vaultId],
    );
    return new Map(rows.rows.map((row) => [row.id, row.nextLogAt.getTime()]));
  }
});
