import type { FastifyInstance } from 'fastify';
import type { Alert, Job, Prisma, ProtectionContainer } from '../generated/prisma/client.ts';
import { DISCOVERY_CODES, type DiscoveredInstance, type InquiryErrorDetail } from '../domain/discovery.ts';
import type { PortalEvent } from '../plugins/portal-events.ts';

/** What raises alerts: each in one place (RPO watch, a job's end, an inquiry's result). */
export const ALERT_TYPES = [
  'RpoBreach',
  'BackupFailure',
  'RestoreFailure',
  'DiscoveryFailure',
  'AgentReRegistered',
] as const;
type AlertType = (typeof ALERT_TYPES)[number];

/**
 * An alert as the portal lists and streams it. Like Azure Monitor's alerts it has two axes: the user's
 * (`alertState`: New until acknowledged) and the condition's (`monitorCondition`: Fired until resolved).
 */
export function alertView(alert: Alert) {
  return {
    alertId: alert.id,
    alertType: alert.kind,
    severity: alert.severity,
    alertState: alert.acknowledgedAt === null ? 'New' : 'Acknowledged',
    monitorCondition: alert.resolvedAt === null ? 'Fired' : 'Resolved',
    entityName: alert.entityName,
    ...(alert.code === null ? {} : { code: alert.code }),
    message: alert.message,
    raisedAt: alert.raisedAt.toISOString(),
    ...(alert.acknowledgedAt === null ? {} : { acknowledgedAt: alert.acknowledgedAt.toISOString() }),
    ...(alert.resolvedAt === null ? {} : { resolvedAt: alert.resolvedAt.toISOString() }),
    ...(alert.jobId === null ? {} : { jobId: alert.jobId }),
  };
}

const announce = (app: FastifyInstance, type: PortalEvent['type'], alert: Alert) =>
  app.portalEvents.publish(alert.vaultId, { type, data: alertView(alert) });

/**
 * The key of an open alert: its kind and what it is about. The database keeps one open alert per key (a unique
 * column, cleared on resolution), so processes that see one condition at once raise one alert between them.
 */
function openKeyOf(data: Prisma.AlertUncheckedCreateInput): string {
  return [data.kind, data.jobId ?? '', data.protectedItemId ?? '', data.containerId ?? '', data.entityName].join('\n');
}

/**
 * Raises an alert — in one transaction with `alongside`, the change that causes it — and announces it. When the same
 * alert is open already (another process raised it), `alongside` still applies and nothing is raised: null.
 */
export async function raiseAlert(
  app: FastifyInstance,
  data: Prisma.AlertUncheckedCreateInput,
  alongside: Prisma.PrismaPromise<unknown>[] = [],
): Promise<Alert | null> {
  const insert = app.db.alert.createManyAndReturn({
    data: [{ ...data, openKey: data.openKey ?? openKeyOf(data) }],
    skipDuplicates: true,
  });
  const results = await app.db.$transaction([...alongside, insert]);
  const [alert] = results[results.length - 1] as Alert[];
  if (alert === undefined) return null;
  await announce(app, 'alert.raised', alert);
  return alert;
}

/** Resolves the open alerts `where` selects — in one transaction with `alongside` — and announces each. */
export async function resolveAlerts(
  app: FastifyInstance,
  where: Prisma.AlertWhereInput,
  at: Date,
  alongside: Prisma.PrismaPromise<unknown>[] = [],
): Promise<Alert[]> {
  const resolve = app.db.alert.updateManyAndReturn({
    where: { ...where, resolvedAt: null },
    data: { resolvedAt: at, openKey: null },
  });
  const resolved =
    alongside.length === 0 ? await resolve : ((await app.db.$transaction([...alongside, resolve])).at(-1) as Alert[]);
  for (const alert of resolved) await announce(app, 'alert.resolved', alert);
  return resolved;
}

/** Acknowledges a vault's alert once (again: unchanged, not announced again); null when the vault has no such alert. */
export async function acknowledgeAlert(app: FastifyInstance, vaultId: string, alertId: string): Promise<Alert | null> {
  const [acknowledged] = await app.db.alert.updateManyAndReturn({
    where: { id: alertId, vaultId, acknowledgedAt: null },
    data: { acknowledgedAt: app.clock.now() },
  });
  if (acknowledged === undefined) return app.db.alert.findFirst({ where: { id: alertId, vaultId } });
  await announce(app, 'alert.acknowledged', acknowledged);
  return acknowledged;
}

const FAILURE_ALERTS: Partial<Record<string, AlertType>> = { Backup: 'BackupFailure', Restore: 'RestoreFailure' };

/**
 * A failed Backup or Restore job raises an alert; a completed Backup job resolves its item's open backup-failure
 * alerts (a failed restore stays until acknowledged: nothing later undoes it).
 */
export async function alertOnJobEnd(app: FastifyInstance, job: Job): Promise<void> {
  const kind = FAILURE_ALERTS[job.operation];
  if (kind === undefined) return;
  const at = job.endTime ?? app.clock.now();
  if (job.status === 'Failed') {
    const [error] = job.errorDetails as { errorTitle?: string; errorString?: string }[];
    await raiseAlert(app, {
      vaultId: job.vaultId,
      kind,
      severity: 'Critical',
      protectedItemId: job.protectedItemId,
      jobId: job.id,
      entityName: job.entityFriendlyName,
      code: error?.errorTitle ?? null,
      message: `${job.operation} of '${job.entityFriendlyName}' failed: ${error?.errorString ?? 'no reason was given'}`,
      raisedAt: at,
    });
  } else if (job.status === 'Completed' && kind === 'BackupFailure' && job.protectedItemId !== null) {
    await resolveAlerts(app, { vaultId: job.vaultId, protectedItemId: job.protectedItemId, kind }, at);
  }
}

/**
 * After an inquiry: an instance whose plugin account lacks sysadmin (its databases cannot be listed) raises a
 * DiscoveryFailure alert, one per instance while the error lasts; an inquiry without the error resolves it.
 */
export async function alertOnInquiry(
  app: FastifyInstance,
  container: ProtectionContainer,
  instances: readonly DiscoveredInstance[],
): Promise<void> {
  const now = app.clock.now();
  const failing = new Map<string, InquiryErrorDetail>(
    instances.flatMap((i) =>
      i.inquiryError?.code === DISCOVERY_CODES.noSysadmin
        ? [[`${i.name} [${container.friendlyName}]`, i.inquiryError]]
        : [],
    ),
  );
  const open = await app.db.alert.findMany({
    where: { vaultId: container.vaultId, resolvedAt: null, kind: 'DiscoveryFailure', containerId: container.id },
  });
  const fixed = open.filter((alert) => !failing.has(alert.entityName)).map((alert) => alert.id);
  if (fixed.length > 0) await resolveAlerts(app, { id: { in: fixed } }, now);
  for (const [entityName, error] of failing) {
    if (open.some((alert) => alert.entityName === entityName)) continue;
    await raiseAlert(app, {
      vaultId: container.vaultId,
      kind: 'DiscoveryFailure',
      severity: 'Warning',
      containerId: container.id,
      entityName,
      code: error.code,
      message: error.message,
      raisedAt: now,
    });
  }
}
