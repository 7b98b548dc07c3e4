import type { FastifyInstance } from 'fastify';
import { rpoBreached } from '../domain/backup-chain.ts';
import { allowedBackupTypes } from '../domain/protection.ts';
import { policyOf } from '../services/protection.ts';
import { raiseAlert, resolveAlerts } from '../services/alerts.ts';
import { withContainerAndPolicy } from '../services/item-relations.ts';

/**
 * RPO watch: a protected database whose newest backup is older than its log frequency (or, without logs, its full
 * frequency) plus RV_RPO_GRACE_MINUTES turns ActionRequired and raises an RpoBreach alert; the next backup in time
 * resolves both. Runs on every scheduler tick and after every clock advance.
 */
export async function rpoWatch(app: FastifyInstance, now: Date): Promise<{ breached: number; recovered: number }> {
  const items = await withContainerAndPolicy(
    app.db,
    await app.db.protectedItem.findMany({
      where: { deferredDeleteAt: null, protectionState: 'Protected', policyId: { not: null } },
    }),
  );
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
      await raiseAlert(
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
      breached += 1;
    } else if (!late && item.healthStatus === 'ActionRequired') {
      await resolveAlerts(app, { protectedItemId: item.id, kind: 'RpoBreach' }, now, [
        app.db.protectedItem.update({ where: { id: item.id }, data: { healthStatus: 'Healthy', updatedAt: now } }),
      ]);
      recovered += 1;
    }
  }
  return { breached, recovered };
}
