import { Type } from 'typebox';
import { VaultParams } from '../../arm/schemas.ts';
import { VAULT } from '../../arm/paths.ts';

/** The portal's vault-scoped routes: the management API's vault path under /portal/v1 (same names, same RBAC). */
export const PORTAL_VAULT = `/portal/v1${VAULT}`;

export const tags = ['portal'];

const Time = Type.String({ format: 'date-time' });
const Counts = (description: string) => Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description });

export const Summary = Type.Object(
  {
    asOf: Type.String({ format: 'date-time', description: 'service time (the emulator clock when enabled)' }),
    protectedItems: Type.Object({
      total: Type.Integer(),
      countAgainstLimit: Type.Integer({
        description: 'protected items counting against the limit (soft-deleted ones too, until purged)',
      }),
      limit: Type.Integer({ description: 'protected items per vault' }),
      byHealth: Counts('by protectedItemHealthStatus: Healthy, ActionRequired, IRPending'),
      byProtectionState: Counts('by protectionState'),
    }),
    containers: Type.Object({
      total: Type.Integer(),
      byHealth: Counts('registered VMs by healthStatus: Healthy, Unhealthy'),
    }),
    jobsLast24Hours: Type.Object({
      since: Time,
      total: Type.Integer(),
      byStatus: Counts('jobs started since `since`, by status'),
      byOperation: Counts('jobs started since `since`, by operation'),
    }),
    alerts: Type.Object({
      openRpoBreaches: Type.Integer(),
      openByType: Counts('alerts not yet resolved, by alertType'),
    }),
    storage: Type.Object({
      sizeBytes: Type.Number({ description: "sum of the recovery points' backup sizes" }),
      storedBytes: Type.Number({ description: 'what they take in blob storage (compressed, encrypted)' }),
      byBackupType: Type.Record(
        Type.String(),
        Type.Object({ recoveryPoints: Type.Integer(), sizeBytes: Type.Number(), storedBytes: Type.Number() }),
      ),
    }),
  },
  { description: 'A vault at a glance' },
);

export const AlertView = Type.Object(
  {
    alertId: Type.String(),
    alertType: Type.String({
      description: 'RpoBreach, BackupFailure, RestoreFailure, DiscoveryFailure or AgentReRegistered',
    }),
    severity: Type.String({ description: 'Critical or Warning' }),
    alertState: Type.String({ description: 'New until acknowledged, then Acknowledged' }),
    monitorCondition: Type.String({ description: 'Fired until the condition ends, then Resolved' }),
    entityName: Type.String({ description: "what it is about, e.g. 'sales [sqlvm1]' or 'MSSQLSERVER [sqlvm1]'" }),
    code: Type.Optional(Type.String()),
    message: Type.String(),
    raisedAt: Time,
    acknowledgedAt: Type.Optional(Time),
    resolvedAt: Type.Optional(Time),
    jobId: Type.Optional(Type.String({ description: 'the failed job (backupJobs/{jobId})' })),
  },
  { description: 'An alert' },
);

const LastBackup = Type.Object({
  status: Type.String({ description: 'InProgress, Completed, Failed or Cancelled' }),
  startTime: Time,
  endTime: Type.Optional(Time),
});

export const BackupItemView = Type.Object(
  {
    id: Type.String({ description: "the protected item's ARM id" }),
    name: Type.String(),
    friendlyName: Type.String(),
    serverName: Type.String(),
    containerName: Type.String(),
    parentName: Type.String({ description: 'SQL instance' }),
    protectionState: Type.String(),
    protectedItemHealthStatus: Type.String(),
    lastBackupStatus: Type.String({
      description:
        "the last backup's outcome, as the management API's protected item shows it (Healthy, Unhealthy, IRPending)",
    }),
    lastBackupErrorDetail: Type.Optional(
      Type.Object({ code: Type.String(), message: Type.String() }, { description: 'why the last backup failed' }),
    ),
    policyName: Type.Optional(Type.String()),
    isScheduledForDeferredDelete: Type.Boolean(),
    lastBackups: Type.Object(
      { Full: Type.Optional(LastBackup), Differential: Type.Optional(LastBackup), Log: Type.Optional(LastBackup) },
      { description: 'the latest backup of each type (scheduled or on demand)' },
    ),
    earliestRestorePoint: Type.Optional(
      Type.String({ format: 'date-time', description: 'end of the oldest recovery point' }),
    ),
    latestRestorePoint: Type.Optional(
      Type.String({
        format: 'date-time',
        description: "end of the newest recovery point (a log backup's end time is restorable to the second)",
      }),
    ),
  },
  { description: 'A protected item in the backup-items view' },
);

export const AlertParams = Type.Object({
  ...VaultParams.properties,
  alertId: Type.String({ minLength: 1, maxLength: 64 }),
});

export const EventStreamHeaders = Type.Object(
  {
    'last-event-id': Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'resume after this event (kept: the last ~1000 events of a vault, for 24 hours)',
      }),
    ),
  },
  { additionalProperties: true },
);
