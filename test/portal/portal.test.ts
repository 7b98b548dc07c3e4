import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockDeployment, type ClockDeployment } from '../support/own-database.ts';
import { principalWith, startTestServer, type TestServer } from '../support/server.ts';
import { fetchToken } from '../support/sdk.ts';
import { registeredSqlVm, until, type SqlVm } from '../support/vm.ts';
import { openEventStream, type EventStream, type SseMessage } from '../support/sse.ts';
import { dailyFullWithLogs } from '../support/policies.ts';
import { tomorrowFrom } from '../support/processes.ts';
import { changeJobStatus, finishJob, startJob } from '../../src/jobs/job-records.ts';
import { failOperation } from '../../src/jobs/agent-results.ts';
import { errors } from '../../src/domain/errors.ts';
import { protectDatabase } from '../support/protection.ts';

const poll = { updateIntervalInMs: 50 };
const spec = (reportingIsSysadmin: boolean) => ({
  vmName: 'portalvm',
  resourceGroup: 'sql-rg',
  os: 'WindowsServer2022',
  instances: [
    {
      name: 'MSSQLSERVER',
      version: '2022',
      edition: 'Enterprise',
      pluginIsSysadmin: true,
      databases: ['sales', 'fresh'].map((name) => ({
        name,
        recoveryModel: 'FULL',
        sizeMiB: 1,
        files: 2,
        writesPerMinute: 60,
      })),
    },
    {
      name: 'REPORTING',
      version: '2022',
      edition: 'Standard',
      pluginIsSysadmin: reportingIsSysadmin,
      databases: [{ name: 'reports', recoveryModel: 'SIMPLE', sizeMiB: 1, files: 2, writesPerMinute: 0 }],
    },
  ],
});

interface Alert {
  alertId: string;
  alertType: string;
  severity: string;
  alertState: string;
  monitorCondition: string;
  entityName: string;
  code?: string;
  raisedAt: string;
  acknowledgedAt?: string;
  resolvedAt?: string;
  jobId?: string;
}
interface JobEvent {
  jobId: string;
  operation: string;
  status: string;
  previousStatus?: string;
  entityFriendlyName: string;
  errorCode?: string;
}
const json = <T>(message: SseMessage) => JSON.parse(message.data) as T;

/**
 * The portal read models and live events against a vault built by real flows: the SDK, a reference agent and the
 * emulator clock. The event stream is read from a second, API-only process: job and alert changes made by the
 * first one reach it through Redis.
 */
describe('portal read models', () => {
  let d: ClockDeployment;
  let api: TestServer;
  let apiToken: string;
  let vm: SqlVm;
  let vaultArmId: string;
  let stream: EventStream;
  const vault = 'portal-vault';
  const reader = principalWith('BackupReader', ['*']);
  const outsider = principalWith('Contributor', [randomUUID()]);
  const ITEM = (db: string) => `SQLDataBase;MSSQLSERVER;${db}`;

  const portal = (base: string) => `${base}/portal/v1${vaultArmId}`;
  const get = async <T>(path: string, token = d.token, base = d.server.httpsUrl) => {
    const response = await fetch(path.startsWith('http') ? path : `${portal(base)}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as T };
  };
  const acknowledge = async (alertId: string, token = d.token) => {
    const response = await fetch(`${portal(d.server.httpsUrl)}/alerts/${alertId}/acknowledge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as Alert & { error?: { code: string } } };
  };
  const alerts = async (filter?: string) =>
    (await get<{ value: Alert[] }>(filter === undefined ? '/alerts' : `/alerts?$filter=${encodeURIComponent(filter)}`))
      .body.value;
  const jobs = async (filter: string) => {
    const list = [];
    for await (const job of d.backup.backupJobs.list(vault, 'rg', { filter })) list.push(job);
    return list;
  };

  beforeAll(async () => {
    d = await clockDeployment('portal', {
      RV_PORTAL_HEARTBEAT_SECONDS: '1',
      RV_AGENT_HEARTBEAT_SECONDS: '1',
      RV_PRINCIPALS: JSON.stringify([reader, outsider]),
    });
    vaultArmId =
      (await d.vaults.vaults.createOrUpdate('rg', vault, { location: 'westeurope', sku: { name: 'Standard' } }, poll))
        .id ?? '';
    await d.backup.protectionPolicies.createOrUpdate(vault, 'rg', 'DailyHourly', dailyFullWithLogs(60));
    const start = tomorrowFrom(21, 59).start;
    await d.clock({ to: start.toISOString() });
    // The API-only process that serves the event stream: same database and Redis, no workers, its own token issuer.
    api = await startTestServer({
      DATABASE_URL: d.server.config.databaseUrl,
      RV_QUEUE_PREFIX: d.server.config.queuePrefix,
      RV_WORKERS: 'false',
      RV_EMULATOR_CONTROLS: 'true',
      RV_PORTAL_HEARTBEAT_SECONDS: '1',
    });
    apiToken = await fetchToken(api.httpsUrl);
    stream = await openEventStream(`${portal(api.httpsUrl)}/events`, apiToken);
    vm = await registeredSqlVm(d.server, d.backup, d.token, vaultArmId, spec(false));
    for (const db of ['sales', 'fresh']) {
      await protectDatabase(d.backup, vaultArmId, vm.containerName, ITEM(db), 'DailyHourly');
    }
  }, 60_000);
  afterAll(async () => {
    stream?.close();
    await vm?.agent.stop();
    await api?.stop();
    await d?.stop();
  });

  it('streams from another process: heartbeat comments, then the jobs of registration and protection', async () => {
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    const register = json<JobEvent>(
      await stream.next((m) => m.event === 'job.updated' && json<JobEvent>(m).operation === 'Register'),
    );
    expect(register).toMatchObject({
      status: 'Completed',
      previousStatus: 'InProgress',
      entityFriendlyName: 'portalvm',
    });
    const configured = async () =>
      stream.messages
        .filter((m) => m.event === 'job.updated' && json<JobEvent>(m).operation === 'ConfigureBackup')
        .map((m) => json<JobEvent>(m));
    await until('both ConfigureBackup jobs to end', async () => (await configured()).length === 2);
    expect((await configured()).map((j) => [j.entityFriendlyName, j.status]).sort()).toEqual([
      ['fresh [portalvm]', 'Completed'],
      ['sales [portalvm]', 'Completed'],
    ]);
    // Ids are unique (a reconnecting client names the last one it saw).
    const ids = stream.messages.map((m) => m.id ?? '');
    expect(new Set(ids).size).toBe(ids.length);
    await until('a heartbeat comment', async () => stream.comments.includes('heartbeat'));
  });

  it('raises a discovery alert for an instance without sysadmin, and resolves it when rediscovery succeeds', async () => {
    const [alert] = await alerts("alertType eq 'DiscoveryFailure'");
    expect(alert).toMatchObject({
      severity: 'Warning',
      alertState: 'New',
      monitorCondition: 'Fired',
      entityName: 'REPORTING [portalvm]',
      code: 'UserErrorSQLNoSysadminMembership',
    });
    const raised = await stream.next(
      (m) => m.event === 'alert.raised' && json<Alert>(m).alertType === 'DiscoveryFailure',
    );
    expect(json<Alert>(raised).alertId).toBe(alert?.alertId);

    vm.setSpec(spec(true));
    await d.backup.protectionContainers.inquire(vault, 'rg', 'Azure', vm.containerName);
    const resolved = json<Alert>(await stream.next((m) => m.event === 'alert.resolved'));
    expect(resolved).toMatchObject({ alertId: alert?.alertId, monitorCondition: 'Resolved' });
    expect(await alerts("alertType eq 'DiscoveryFailure' and monitorCondition eq 'Fired'")).toEqual([]);
  });

  it('raises a backup-failure alert for a failed backup job, and the next completed backup resolves it', async () => {
    const from = stream.messages.length;
    await d.backup.backups.trigger(vault, 'rg', 'Azure', vm.containerName, ITEM('fresh'), {
      properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Log' } as never,
    });
    const failed = json<JobEvent>(
      await stream.next((m) => m.event === 'job.updated' && json<JobEvent>(m).status === 'Failed', { from }),
    );
    expect(failed).toMatchObject({
      operation: 'Backup',
      entityFriendlyName: 'fresh [portalvm]',
      errorCode: 'UserErrorParentFullBackupMissing',
    });
    const [alert] = await alerts("alertType eq 'BackupFailure'");
    expect(alert).toMatchObject({
      severity: 'Critical',
      monitorCondition: 'Fired',
      entityName: 'fresh [portalvm]',
      code: 'UserErrorParentFullBackupMissing',
      jobId: failed.jobId,
    });

    // 22:00: the scheduled Fulls (then hourly logs) of both databases.
    const played = await d.clock({ advanceSeconds: 3 * 3600 });
    expect(played.backupsStarted).toBeGreaterThanOrEqual(2 + 2 * 2);
    const [after] = await alerts("alertType eq 'BackupFailure'");
    expect(after).toMatchObject({ alertId: alert?.alertId, monitorCondition: 'Resolved' });
  });

  it('streams an on-demand backup InProgress → Completed, and replays after Last-Event-ID', async () => {
    const from = stream.messages.length;
    await d.backup.backups.trigger(vault, 'rg', 'Azure', vm.containerName, ITEM('sales'), {
      properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Full' } as never,
    });
    const onDemand = (m: SseMessage) =>
      json<JobEvent>(m).operation === 'Backup' && json<JobEvent>(m).entityFriendlyName === 'sales [portalvm]';
    const created = await stream.next((m) => m.event === 'job.created' && onDemand(m), { from });
    const completed = await stream.next((m) => m.event === 'job.updated' && onDemand(m), { from });
    expect(json<JobEvent>(created)).toMatchObject({ status: 'InProgress' });
    expect(json<JobEvent>(completed)).toMatchObject({
      jobId: json<JobEvent>(created).jobId,
      previousStatus: 'InProgress',
      status: 'Completed',
    });
    const [job] = await jobs("operation eq 'Backup'");
    expect(job?.name).toBe(json<JobEvent>(completed).jobId);

    // A client that reconnects with the id of the last event it saw gets what followed, then live events.
    const resumed = await openEventStream(`${portal(api.httpsUrl)}/events`, apiToken, {
      'last-event-id': created.id ?? '',
    });
    try {
      await resumed.next((m) => m.id === completed.id);
      const followed = stream.messages.slice(
        stream.messages.indexOf(created) + 1,
        stream.messages.indexOf(completed) + 1,
      );
      expect(resumed.messages.slice(0, followed.length)).toEqual(followed);
    } finally {
      resumed.close();
    }
  });

  it('raises a restore-failure alert for a failed restore', async () => {
    const points = [];
    for await (const p of d.backup.recoveryPoints.list(vault, 'rg', 'Azure', vm.containerName, ITEM('sales'), {
      filter: "restorePointQueryType eq 'Full'",
    }))
      points.push(p);
    const request = {
      objectType: 'AzureWorkloadSQLRestoreRequest',
      recoveryType: 'OriginalLocation',
      shouldUseAlternateTargetLocation: false,
      isNonRecoverable: false,
      targetInfo: { overwriteOption: 'FailOnConflict' },
    };
    await expect(
      d.backup.restores.beginTriggerAndWait(
        vault,
        'rg',
        'Azure',
        vm.containerName,
        ITEM('sales'),
        points[0]?.name ?? '',
        { properties: request as never },
        poll,
      ),
    ).rejects.toThrow(/UserErrorCannotRestoreExistingDBWithoutForceOverwrite/);
    const [restoreJob] = await jobs("operation eq 'Restore'");
    const [alert] = await alerts("alertType eq 'RestoreFailure'");
    expect(alert).toMatchObject({
      severity: 'Critical',
      monitorCondition: 'Fired',
      entityName: 'sales [portalvm]',
      code: 'UserErrorCannotRestoreExistingDBWithoutForceOverwrite',
      jobId: restoreJob?.name,
    });
  });

  it('lists alerts newest first, pages and filters them, and acknowledges once', async () => {
    const all = await alerts();
    expect(all.map((a) => a.alertType)).toEqual(['RestoreFailure', 'BackupFailure', 'DiscoveryFailure']);
    const first = await get<{ value: Alert[]; nextLink?: string }>('/alerts?$top=2');
    const second = await get<{ value: Alert[]; nextLink?: string }>(first.body.nextLink ?? '');
    expect([...first.body.value, ...second.body.value]).toEqual(all);
    expect(second.body.nextLink).toBeUndefined();
    expect((await alerts("monitorCondition eq 'Fired'")).map((a) => a.alertType)).toEqual(['RestoreFailure']);

    const restoreAlert = all[0]!;
    const from = stream.messages.length;
    const acknowledged = await acknowledge(restoreAlert.alertId);
    expect(acknowledged.status).toBe(200);
    expect(acknowledged.body).toMatchObject({
      alertId: restoreAlert.alertId,
      alertState: 'Acknowledged',
      monitorCondition: 'Fired',
    });
    const again = await acknowledge(restoreAlert.alertId.toUpperCase());
    expect(again).toEqual(acknowledged);
    const event = await stream.next((m) => m.event === 'alert.acknowledged', { from });
    expect(json<Alert>(event)).toEqual(acknowledged.body);
    expect((await alerts("alertState eq 'Acknowledged'")).map((a) => a.alertId)).toEqual([restoreAlert.alertId]);
    expect(await alerts("alertState eq 'New' and alertType eq 'RestoreFailure'")).toEqual([]);

    // Errors and access, as on the management API.
    expect((await acknowledge(randomUUID())).body.error?.code).toBe('ResourceNotFound');
    const badFilter = await get<{ error: { code: string } }>(
      `/alerts?$filter=${encodeURIComponent("alertType eq 'Nope'")}`,
    );
    expect([badFilter.status, badFilter.body.error.code]).toEqual([400, 'InvalidFilterParameter']);
    const readerToken = await fetchToken(d.server.httpsUrl, reader.clientId, reader.clientSecret);
    expect((await get('/alerts', readerToken)).status).toBe(200);
    expect(await acknowledge(all[1]!.alertId, readerToken)).toMatchObject({
      status: 403,
      body: { error: { code: 'AuthorizationFailed' } },
    });
    const outsiderToken = await fetchToken(d.server.httpsUrl, outsider.clientId, outsider.clientSecret);
    for (const path of ['/summary', '/alerts', '/backupItems']) {
      expect(await get(path, outsiderToken)).toMatchObject({
        status: 404,
        body: { error: { code: 'SubscriptionNotFound' } },
      });
    }
    const stranger = await fetch(`${portal(d.server.httpsUrl)}/events`, {
      headers: { authorization: `Bearer ${outsiderToken}` },
    });
    expect([stranger.status, ((await stranger.json()) as { error: { code: string } }).error.code]).toEqual([
      404,
      'SubscriptionNotFound',
    ]);
  });

  it('summarises the vault', async () => {
    // The clock jumped ahead of the agent's last heartbeat; its next one (every second here) makes the VM Healthy again.
    const { status, body } = await until('the VM to heartbeat', async () => {
      const summary = await get<{ containers: { byHealth: { Healthy: number } }; jobsLast24Hours: { total: number } }>(
        '/summary',
      );
      return summary.body.containers.byHealth.Healthy === 1 && summary;
    });
    expect(status).toBe(200);
    const points = await d.server.app.db.recoveryPoint.findMany({ select: { type: true, sizeBytes: true } });
    const sizeOf = (type: string) =>
      points.filter((p) => p.type === type).reduce((sum, p) => sum + Number(p.sizeBytes), 0);
    expect(body).toMatchObject({
      protectedItems: {
        total: 2,
        countAgainstLimit: 2,
        limit: 2000,
        byHealth: { Healthy: 2, ActionRequired: 0, IRPending: 0 },
        byProtectionState: { Protected: 2, IRPending: 0 },
      },
      containers: { total: 1, byHealth: { Healthy: 1, Unhealthy: 0 } },
      jobsLast24Hours: {
        byOperation: { Register: 1, ConfigureBackup: 2, Backup: 4, Restore: 1 },
        byStatus: { Completed: 6, Failed: 2, InProgress: 0 },
      },
      alerts: {
        openRpoBreaches: 0,
        openByType: { RpoBreach: 0, BackupFailure: 0, RestoreFailure: 1, DiscoveryFailure: 0, AgentReRegistered: 0 },
      },
      storage: {
        byBackupType: {
          Full: { recoveryPoints: 3, sizeBytes: sizeOf('Full') },
          Log: { recoveryPoints: points.filter((p) => p.type === 'Log').length, sizeBytes: sizeOf('Log') },
          Differential: { recoveryPoints: 0, sizeBytes: 0 },
        },
      },
    });
    // Three 1 MiB databases' Fulls: at least 3 MiB.
    expect(sizeOf('Full')).toBeGreaterThanOrEqual(3 * 1024 * 1024);
    // The same jobs through the management API, three a page (keyset paging by start time).
    const listed: string[] = [];
    for (
      let url: string | undefined = `${d.server.httpsUrl}${vaultArmId}/backupJobs?api-version=2023-06-01&$top=3`;
      url !== undefined;
    ) {
      const page: { value: { name: string }[]; nextLink?: string } = (
        await get<{ value: { name: string }[]; nextLink?: string }>(url)
      ).body;
      listed.push(...page.value.map((job) => job.name));
      url = page.nextLink;
    }
    const { total } = body.jobsLast24Hours;
    expect([listed.length, new Set(listed).size]).toEqual([total, total]);
  });

  it('lists backup items with their last backups, restore point range and health, paged', async () => {
    const first = await get<{ value: Record<string, unknown>[]; nextLink?: string }>('/backupItems?$top=1');
    const second = await get<{ value: Record<string, unknown>[]; nextLink?: string }>(first.body.nextLink ?? '');
    expect(second.body.nextLink).toBeUndefined();
    const items = [...first.body.value, ...second.body.value];
    expect(items.map((i) => i.name)).toEqual([ITEM('fresh'), ITEM('sales')]);
    for (const item of items) {
      const name = item.name as string;
      const points = [];
      for await (const p of d.backup.recoveryPoints.list(vault, 'rg', 'Azure', vm.containerName, name)) points.push(p);
      const fullTimes = points.flatMap(
        (p) => (p.properties as { recoveryPointTimeInUTC?: Date }).recoveryPointTimeInUTC ?? [],
      );
      const range = points.find((p) => p.name === 'DefaultRangeRecoveryPoint')?.properties as {
        timeRanges: { endTime: Date }[];
      };
      const latest = Math.max(
        ...fullTimes.map((t) => t.getTime()),
        ...range.timeRanges.map((r) => r.endTime.getTime()),
      );
      expect(item).toMatchObject({
        id: `${vaultArmId}/backupFabrics/Azure/protectionContainers/${vm.containerName}/protectedItems/${name}`,
        serverName: 'portalvm',
        parentName: 'MSSQLSERVER',
        protectionState: 'Protected',
        protectedItemHealthStatus: 'Healthy',
        policyName: 'DailyHourly',
        lastBackups: { Full: { status: 'Completed' }, Log: { status: 'Completed' } },
        earliestRestorePoint: new Date(Math.min(...fullTimes.map((t) => t.getTime()))).toISOString(),
        latestRestorePoint: new Date(latest).toISOString(),
      });
      expect(item.lastBackups).not.toHaveProperty('Differential');
    }
  });

  it('raises RPO breaches when backups stop, and the summary and items show them', async () => {
    const from = stream.messages.length;
    await vm.agent.stop();
    // Two hours without the agent: the hourly logs are dispatched and never arrive (15 minutes of grace included).
    await d.clock({ advanceSeconds: 2 * 3600, waitForBackupsSeconds: 0 });
    const raised = [
      await stream.next((m) => m.event === 'alert.raised' && json<Alert>(m).entityName === 'sales [portalvm]', {
        from,
      }),
      await stream.next((m) => m.event === 'alert.raised' && json<Alert>(m).entityName === 'fresh [portalvm]', {
        from,
      }),
    ].map((m) => json<Alert>(m));
    expect(raised.map((a) => [a.alertType, a.code])).toEqual([
      ['RpoBreach', 'UserErrorRpoBreached'],
      ['RpoBreach', 'UserErrorRpoBreached'],
    ]);
    const { body } = await get<Record<string, unknown>>('/summary');
    expect(body).toMatchObject({
      // (The VM itself was heard from seconds ago in real time, which is what its health goes by.)
      protectedItems: { byHealth: { Healthy: 0, ActionRequired: 2 } },
      alerts: { openRpoBreaches: 2 },
    });
    const items = (
      await get<{ value: { protectedItemHealthStatus: string; lastBackups: { Log: { status: string } } }[] }>(
        '/backupItems',
      )
    ).body.value;
    expect(items.map((i) => [i.protectedItemHealthStatus, i.lastBackups.Log.status])).toEqual([
      ['ActionRequired', 'InProgress'],
      ['ActionRequired', 'InProgress'],
    ]);
  });

  it("takes a deleted item's recovery points out of the storage figures", async () => {
    await d.backup.backupResourceVaultConfigs.update(vault, 'rg', {
      properties: { softDeleteFeatureState: 'Disabled' },
    });
    await d.backup.protectedItems.delete(vault, 'rg', 'Azure', vm.containerName, ITEM('fresh'));
    type Storage = {
      protectedItems: { total: number };
      storage: { sizeBytes: number; byBackupType: Record<string, { recoveryPoints: number; sizeBytes: number }> };
    };
    const { storage } = await until('the purge', async () => {
      const { body } = await get<Storage>('/summary');
      return body.protectedItems.total === 1 && body;
    });
    const left = await d.server.app.db.recoveryPoint.findMany({ select: { type: true, sizeBytes: true } });
    expect(
      new Set(
        (await d.server.app.db.protectedItem.findMany({ select: { friendlyName: true } })).map((i) => i.friendlyName),
      ),
    ).toEqual(new Set(['sales']));
    for (const type of ['Full', 'Log']) {
      const points = left.filter((p) => p.type === type);
      expect(storage.byBackupType[type]).toMatchObject({
        recoveryPoints: points.length,
        sizeBytes: points.reduce((sum, p) => sum + Number(p.sizeBytes), 0),
      });
    }
    expect(storage.byBackupType.Full?.recoveryPoints).toBe(2);
  });

  /** A cancellable Backup job of the vault whose cancellation was just asked, and where the event stream stood before. */
  async function jobBeingCancelled(name: string) {
    const from = stream.messages.length;
    const app = d.server.app;
    const { id: vaultId } = await app.db.vault.findFirstOrThrow({ where: { nameKey: vault } });
    const job = await startJob(app, vaultId, 'Backup', name, { cancellable: true });
    await changeJobStatus(app, job.id, 'InProgress', { status: 'Cancelling' });
    return { from, app, vaultId, job };
  }

  it('streams a job whose work ended after its cancellation was asked as leaving Cancelling', async () => {
    const { from, app, job } = await jobBeingCancelled('late [portalvm]');
    await finishJob(app, job.id); // the backup committed before the cancellation reached it
    const mine = (status: string) => (m: SseMessage) =>
      m.event === 'job.updated' && json<JobEvent>(m).jobId === job.id && json<JobEvent>(m).status === status;
    expect(json<JobEvent>(await stream.next(mine('Cancelling'), { from }))).toMatchObject({
      previousStatus: 'InProgress',
    });
    expect(json<JobEvent>(await stream.next(mine('Completed'), { from }))).toMatchObject({
      previousStatus: 'Cancelling',
    });
  });

  // A cancellation that fails (here: could not be queued) leaves no job Cancelling for ever: one whose backup is still
  // open goes on (it can finish or be cancelled again); one whose agent was already refused and stopped is Cancelled.
  for (const [uploadState, after] of [
    ['Open', 'InProgress'],
    ['Failed', 'Cancelled'],
  ] as const) {
    it(`ends a failed cancellation with the job ${after} when its upload is ${uploadState}`, async () => {
      const { from, app, vaultId, job } = await jobBeingCancelled(`uncancelled ${uploadState} [portalvm]`);
      const item = await app.db.protectedItem.findFirstOrThrow({ where: { vaultId, friendlyName: 'sales' } });
      const uploadId = randomUUID();
      await app.db.backupUpload.create({
        data: {
          id: uploadId,
          vaultId,
          protectedItemId: item.id,
          containerId: item.containerId,
          jobId: job.id,
          backupType: 'Full',
          state: uploadState,
          blobName: `${item.id}/${uploadId}.bak`,
          createdAt: new Date(),
          updatedAt: new Date(),
        },
      });
      const operation = await app.db.operation.create({
        data: {
          subscriptionId: d.subscriptionId,
          resourceGroupKey: 'rg',
          vaultNameKey: vault,
          kind: 'job.cancel',
          target: { vaultId, jobId: job.id },
          startTime: new Date(),
        },
      });
      await failOperation(app, operation, errors.queueUnavailable());
      expect(await app.db.job.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({
        status: after,
        endTime: after === 'InProgress' ? null : expect.any(Date),
      });
      const changed = (m: SseMessage) =>
        m.event === 'job.updated' && json<JobEvent>(m).jobId === job.id && json<JobEvent>(m).status === after;
      expect(json<JobEvent>(await stream.next(changed, { from }))).toMatchObject({ previousStatus: 'Cancelling' });
      await app.db.backupUpload.update({ where: { id: uploadId }, data: { state: 'Failed' } });
      await finishJob(app, job.id);
    });
  }

  it('stops following a vault when its clients disconnect', async () => {
    const vaultRow = await d.server.app.db.vault.findFirstOrThrow({ where: { nameKey: vault } });
    const channel = `${d.server.config.queuePrefix}:portal:${vaultRow.id}`;
    const subscribers = async () =>
      Number(((await d.server.app.redis.pubsub('NUMSUB', channel)) as [string, number])[1]);
    expect(await subscribers()).toBe(1);
    stream.close();
    await until('the subscription to end', async () => (await subscribers()) === 0);
  });
});
