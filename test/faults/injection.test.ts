import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentLogEntry } from '../../src/agent/agent.ts';
import { clockDeployment, type ClockDeployment } from '../support/own-database.ts';
import { registeredSqlVm, until, type SqlVm } from '../support/vm.ts';
import { dailyFullWithLogs } from '../support/policies.ts';
import { tomorrowFrom } from '../support/processes.ts';
import { protectDatabase } from '../support/protection.ts';

const poll = { updateIntervalInMs: 50 };
const ITEM = 'SQLDataBase;MSSQLSERVER;orders';

interface JobView {
  properties?: { status?: string; operation?: string; errorDetails?: { errorTitle?: string }[] };
}

/**
 * Fault injection (emulator controls) and how the service reacts, as Azure does: failing backups fail their jobs
 * with the injected code and mark the item (an LSN failure heals with a Full next time); a blob storage outage is
 * ridden out by the agent's retries; a VM whose agent falls silent turns Unhealthy and its backups fail with
 * WorkloadExtensionNotReachable until it is heard again.
 */
describe('fault injection', () => {
  let d: ClockDeployment;
  let vm: SqlVm;
  let vaultArmId: string;
  const events: AgentLogEntry[] = [];
  const vault = 'faults-vault';
  const itemArmId = () =>
    `${vaultArmId}/backupFabrics/Azure/protectionContainers/${vm.containerName}/protectedItems/${ITEM}`;
  const api = async (method: string, path: string, body?: object) => {
    const response = await fetch(`${d.server.httpsUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${d.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return {
      status: response.status,
      body: response.status === 204 ? undefined : ((await response.json()) as Record<string, unknown>),
    };
  };
  const inject = async (fault: object) => {
    const answer = await api('POST', '/emulator/v1/faults', fault);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body as { id: string; kind: string; remaining?: number; until?: string };
  };
  const item = async () =>
    (await d.backup.protectedItems.get(vault, 'rg', 'Azure', vm.containerName, ITEM)).properties as unknown as Record<
      string,
      unknown
    >;
  const points = async () => {
    const types: string[] = [];
    for await (const p of d.backup.recoveryPoints.list(vault, 'rg', 'Azure', vm.containerName, ITEM))
      types.push(`${(p.properties as { type?: string }).type}`);
    return types;
  };
  /** Backup now (a Full), followed to the end of its job. */
  const backupNow = async (): Promise<JobView> => {
    const before = new Set<string>();
    for await (const j of d.backup.backupJobs.list(vault, 'rg', { filter: "operation eq 'Backup'" }))
      before.add(j.name ?? '');
    await d.backup.backups.trigger(vault, 'rg', 'Azure', vm.containerName, ITEM, {
      properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Full' } as never,
    });
    const jobName = await until('the backup job', async () => {
      for await (const j of d.backup.backupJobs.list(vault, 'rg', { filter: "operation eq 'Backup'" }))
        if (!before.has(j.name ?? '')) return j.name;
      return undefined;
    });
    return until(
      'the backup job to end',
      async () => {
        const job = (await d.backup.jobDetails.get(vault, 'rg', jobName ?? '')) as JobView;
        return job.properties?.status === 'InProgress' ? undefined : job;
      },
      60_000,
    );
  };

  beforeAll(async () => {
    d = await clockDeployment('faults', { RV_AGENT_HEARTBEAT_SECONDS: '1', RV_AGENT_UNHEALTHY_AFTER_SECONDS: '4' });
    vaultArmId =
      (await d.vaults.vaults.createOrUpdate('rg', vault, { location: 'westeurope', sku: { name: 'Standard' } }, poll))
        .id ?? '';
    await d.backup.protectionPolicies.createOrUpdate(vault, 'rg', 'DailyFull', dailyFullWithLogs(15));
    const start = tomorrowFrom(21, 59).start;
    await d.clock({ to: start.toISOString() });
    vm = await registeredSqlVm(
      d.server,
      d.backup,
      d.token,
      vaultArmId,
      {
        vmName: 'faultvm',
        resourceGroup: 'sql-rg',
        os: 'WindowsServer2022',
        instances: [
          {
            name: 'MSSQLSERVER',
            version: '2022',
            edition: 'Enterprise',
            pluginIsSysadmin: true,
            databases: [{ name: 'orders', recoveryModel: 'FULL', sizeMiB: 1, files: 2, writesPerMinute: 60 }],
          },
        ],
      },
      {
        // A real agent rides out short outages: retries with backoff, honouring the vault's Retry-After up to 1 s.
        retry: { retries: 6, minDelayMs: 100, maxDelayMs: 1_000 },
        log: (entry) => events.push(entry),
      },
    );
    await protectDatabase(d.backup, vaultArmId, vm.containerName, ITEM, 'DailyFull');
    // The 22:00 Full, then three logs.
    expect((await d.clock({ advanceSeconds: 60 + 45 * 60 })).backupsStarted).toBe(4);
  }, 120_000);
  afterAll(async () => {
    await vm?.agent.stop();
    await d?.stop();
  });

  it('fails the next backups with the injected code; an LSN failure heals with a Full at the next schedule', async () => {
    const fault = await inject({
      kind: 'BackupFailure',
      protectedItemId: itemArmId(),
      count: 2,
      code: 'UserErrorOpeningSQLConnection',
      message: 'Cannot connect to the SQL instance.',
    });
    expect(fault).toMatchObject({ kind: 'BackupFailure', remaining: 2 });

    // Backup now: its job fails with the code, and the item says so.
    const job = await backupNow();
    expect(job.properties).toMatchObject({
      status: 'Failed',
      errorDetails: [expect.objectContaining({ errorTitle: 'UserErrorOpeningSQLConnection' })],
    });
    expect(await item()).toMatchObject({
      lastBackupStatus: 'Unhealthy',
      lastBackupErrorDetail: { code: 'UserErrorOpeningSQLConnection', message: 'Cannot connect to the SQL instance.' },
    });
    // The portal's backup-items view says so too, though the backup failed before it sent anything (no upload).
    const portalItems = (await api('GET', `/portal/v1${vaultArmId}/backupItems`)).body as {
      value: Record<string, unknown>[];
    };
    expect(portalItems.value.find((i) => i.name === ITEM)).toMatchObject({
      lastBackupStatus: 'Unhealthy',
      lastBackupErrorDetail: { code: 'UserErrorOpeningSQLConnection', message: 'Cannot connect to the SQL instance.' },
    });
    // The next scheduled log takes the second failure; the one after runs again.
    const before = await points();
    expect((await d.clock({ advanceSeconds: 15 * 60 })).backupsStarted).toBe(1);
    expect(await points()).toEqual(before);
    expect((await api('GET', '/emulator/v1/faults')).body).toEqual({ value: [] });
    expect((await d.clock({ advanceSeconds: 15 * 60 })).backupsStarted).toBe(1);
    expect(await item()).toMatchObject({ lastBackupStatus: 'Healthy' });

    // An injected LSN failure breaks the vault's view of the chain: the next scheduled log heals into a Full.
    await inject({
      kind: 'BackupFailure',
      protectedItemId: itemArmId(),
      count: 1,
      code: 'UserErrorSQLLSNValidationFailure',
    });
    const fulls = async () => (await points()).filter((t) => t === 'Full').length;
    const fullsBefore = await fulls();
    await d.clock({ advanceSeconds: 15 * 60 });
    expect(await item()).toMatchObject({
      lastBackupStatus: 'Unhealthy',
      lastBackupErrorDetail: { code: 'UserErrorSQLLSNValidationFailure' },
    });
    await d.clock({ advanceSeconds: 15 * 60 });
    expect(await fulls()).toBe(fullsBefore + 1);
    expect(await item()).toMatchObject({ lastBackupStatus: 'Healthy' });
  });

  it('rides out a blob storage outage: readiness says 503, the agent retries, the backup completes after it', async () => {
    const fault = await inject({ kind: 'StorageOutage', seconds: 5 });
    const ends = Date.parse(fault.until ?? '');
    const ready = await fetch(`${d.server.httpsUrl}/readyz`);
    expect(ready.status).toBe(503);
    const retriesBefore = events.filter((e) => e.event === 'retry' || e.event === 'backupRetry').length;

    const job = await backupNow();
    expect(job.properties?.status).toBe('Completed');
    expect(Date.now()).toBeGreaterThanOrEqual(ends);
    expect(events.filter((e) => e.event === 'retry' || e.event === 'backupRetry').length).toBeGreaterThan(
      retriesBefore,
    );
    expect((await fetch(`${d.server.httpsUrl}/readyz`)).status).toBe(200);
  }, 60_000);

  it('turns a silent VM Unhealthy and fails its backups with WorkloadExtensionNotReachable until it is heard again', async () => {
    const containerArmId = `${vaultArmId}/backupFabrics/Azure/protectionContainers/${vm.containerName}`;
    // A protected item's id is not a VM's: refused, not taken for its container.
    expect(await api('POST', '/emulator/v1/faults', { kind: 'AgentSilence', containerId: itemArmId() })).toMatchObject({
      status: 400,
      body: { error: { code: 'BMSUserErrorInvalidInput' } },
    });
    const fault = await inject({ kind: 'AgentSilence', containerId: containerArmId });
    const health = async () =>
      (
        (await d.backup.protectionContainers.get(vault, 'rg', 'Azure', vm.containerName)).properties as {
          healthStatus?: string;
        }
      ).healthStatus;
    await until('the container to turn Unhealthy', async () => (await health()) === 'Unhealthy', 20_000);

    const refused = await backupNow();
    expect(refused.properties).toMatchObject({
      status: 'Failed',
      errorDetails: [expect.objectContaining({ errorTitle: 'WorkloadExtensionNotReachable' })],
    });
    expect(await item()).toMatchObject({ lastBackupErrorDetail: { code: 'WorkloadExtensionNotReachable' } });

    expect((await api('DELETE', `/emulator/v1/faults/${fault.id}`)).status).toBe(204);
    await until('the container to be Healthy again', async () => (await health()) === 'Healthy', 20_000);
    expect((await backupNow()).properties?.status).toBe('Completed');
  }, 90_000);

  it('refuses faults on items that do not exist, and bad requests, changing nothing', async () => {
    const elsewhere = itemArmId().replace(d.subscriptionId, '00000000-0000-0000-0000-00000000beef');
    expect(
      await api('POST', '/emulator/v1/faults', {
        kind: 'BackupFailure',
        protectedItemId: elsewhere,
        count: 1,
        code: 'UserErrorX',
      }),
    ).toMatchObject({ status: 404, body: { error: { code: 'BMSUserErrorDataSourceObjectNotFound' } } });
    expect(
      await api('POST', '/emulator/v1/faults', {
        kind: 'BackupFailure',
        protectedItemId: '/not/an/id',
        count: 1,
        code: 'UserErrorX',
      }),
    ).toMatchObject({ status: 400, body: { error: { code: 'BMSUserErrorInvalidInput' } } });
    expect(
      await api('POST', '/emulator/v1/faults', {
        kind: 'BackupFailure',
        protectedItemId: itemArmId(),
        count: 0,
        code: 'UserErrorX',
      }),
    ).toMatchObject({ status: 400 });
    expect(await api('POST', '/emulator/v1/faults', { kind: 'Meteor' })).toMatchObject({ status: 400 });
    expect(await api('DELETE', '/emulator/v1/faults/00000000-0000-0000-0000-000000000000')).toMatchObject({
      status: 404,
    });
    expect((await api('GET', '/emulator/v1/faults')).body).toEqual({ value: [] });
  });
});
