import type { FastifyInstance } from 'fastify';
import { rpoBreached } from '../domain/backup-chain.ts';
import { allowedBackupTypes } from '../domain/protection.ts';
import type { ProtectedItem } from '../generated/prisma/client.ts';
import { policyOf } from '../services/protection.ts';
import { raiseAlert, resolveAlerts } from '../services/alerts.ts';
import { withContainerAndPolicy } from '../services/item-relations.ts';

/** Where the watch left off (service time), in DeploymentSetting. */
const WATERMARK = 'rpo-watch-at';
/** Items read and judged at a time. */
const PAGE = 1000;
const MINUTE = 60_000;

/**
 * RPO watch: a protected database whose newest backup is older than its log frequency (or, without logs, its full
 * frequency) plus RV_RPO_GRACE_MINUTES turns ActionRequired and raises an RpoBreach alert; the next backup in time
 * resolves both. Runs after every scheduler tick's dispatch and after every clock advance.
 *
 * Incremental, in pages: an item can only have turned late since the last run (at `since`, kept in the database) if
 * its lateness threshold — last backup + window + grace — fell in (since, now], i.e. its last backup lies between
 * since − (largest window of its policy) − grace and now − (smallest window) − grace; or if it or its policy changed
 * since (a policy edited, protection resumed). Only those, and the items already ActionRequired (which may have
 * recovered), are read — not every protected item on every tick. Without a watermark (first run, clock moved back)
 * it reads them all once. Several processes may run it at once: the alert's open key keeps one alert.
 */
export async function rpoWatch(
  app: FastifyInstance,
  now: Date,
): Promise<{ breached: number; recovered: number; examined: number }> {
  const mark = await app.db.deploymentSetting.findUnique({ where: { name: WATERMARK } });
  const previous = mark === null ? undefined : new Date(mark.value);
  const since = previous !== undefined && previous <= now ? previous : undefined;
  const grace = app.config.backup.rpoGraceMinutes * MINUTE;
  const windows = (await app.db.policy.findMany({ where: { backupManagementType: 'AzureWorkload' } })).map((row) => {
    const policy = policyOf(row);
    const full = (policy.full.frequency === 'Daily' ? 24 * 60 : 7 * 24 * 60) * MINUTE;
    const log = policy.log === undefined ? full : Math.min(full, policy.log.frequencyMinutes * MINUTE);
    return {
      id: row.id,
      latestBackup: new Date(now.getTime() - log - grace),
      earliestBackup: since === undefined ? new Date(0) : new Date(since.getTime() - full - grace),
      changed: since === undefined || row.updatedAt > since,
    };
  });
  let breached = 0;
  let recovered = 0;
  let examined = 0;
  for (let after = ''; ;) {
    const page = await app.db.$queryRaw<ProtectedItem[]>`
      SELECT i.* FROM "ProtectedItem" i
      JOIN unnest(${windows.map((w) => w.id)}::text[], ${windows.map((w) => w.latestBackup)}::timestamptz[],
                  ${windows.map((w) => w.earliestBackup)}::timestamptz[], ${windows.map((w) => w.changed)}::boolean[])
        AS p("id", "latestBackup", "earliestBackup", "changed") ON p."id" = i."policyId"
      WHERE i."id" > ${after} AND i."deferredDeleteAt" IS NULL AND i."protectionState" = 'Protected'
        AND i."lastBackupTime" IS NOT NULL
        AND (i."healthStatus" = 'ActionRequired'
             OR (i."lastBackupTime" <= p."latestBackup"
                 AND (i."lastBackupTime" > p."earliestBackup" OR p."changed" OR i."updatedAt" > ${since ?? new Date(0)}::timestamptz)))
      ORDER BY i."id" LIMIT ${PAGE}`;
    const judged = await judge(app, page, now);
    breached += judged.breached;
    recovered += judged.recovered;
    examined += page.length;
    if (page.length < PAGE) break;
    after = page[page.length - 1]?.id ?? '';
  }
  await app.db.deploymentSetting.upsert({
    where: { name: WATERMARK },
    create: { name: WATERMARK, value: now.toISOString() },
    update: { value: now.toISOString(), updatedAt: new Date() },
  });
  return { breached, recovered, examined };
}

async function judge(
  app: FastifyInstance,
  rows: ProtectedItem[],
  now: Date,
): Promise<{ breached: number; recovered: number }> {
  const items = await withContainerAndPolicy(app.db, rows);
  let breached = 0;
  let recovered = 0;
  for (const item of items) {
    if (item.policy === null || item.lastBackupTime === null) continue;
    const policy = policyOf(item.policy);
    const logs =
      policy.log !== undefined &&
      allowedBackupTypes({
        name: item.friendlyName,
        recoveryModel: item.recoveryModel,
        isReadOnly: item.isReadOnly,
      }).includes('Log');
    const late = rpoBreached({
      lastBackupAt: item.lastBackupTime,
      ...(logs ? { logFrequencyMinutes: policy.log?.frequencyMinutes } : {}),
      fullFrequencyHours: policy.full.frequency === 'Daily' ? 24 : 24 * 7,
      graceMinutes: app.config.backup.rpoGraceMinutes,
      now,
    });
    if (late && item.healthStatus !== 'ActionRequired') {
      const raised = await raiseAlert(
        app,
        {
          vaultId: item.vaultId,
          kind: 'RpoBreach',
          severity: 'Critical',
          protectedItemId: item.id,
          entityName: `${item.friendlyName} [${item.container.friendlyName}]`,
          code: 'UserErrorRpoBreached',
          message: `The newest backup of '${item.friendlyName}' is from ${item.lastBackupTime.toISOString()}: older than the policy's recovery point objective allows.`,
          raisedAt: now,
        },
        [
          app.db.protectedItem.update({
            where: { id: item.id },
            data: { healthStatus: 'ActionRequired', updatedAt: now },
          }),
        ],
      );
      if (raised !== null) breached += 1;
    } else if (!late && item.healthStatus === 'ActionRequired') {
      await resolveAlerts(app, { protectedItemId: item.id, kind: 'RpoBreach' }, now, [
        app.db.protectedItem.update({ where: { id: item.id }, data: { healthStatus: 'Healthy', updatedAt: now } }),
      ]);
      recovered += 1;
    }
  }
  return { breached, recovered };
}
