import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockDeployment, type ClockDeployment } from '../support/own-database.ts';
import { dailyFullWithLogs } from '../support/policies.ts';
import { openEventStream } from '../support/sse.ts';
import { rediscover, registeredSqlVm, sqlVmSpec, until, type SqlVm } from '../support/vm.ts';

const poll = { updateIntervalInMs: 50 };
const vault = 'estate-vault';
const ITEM = 'SQLDataBase;MSSQLSERVER;sales';

/** The SQL estate rules of the seed documents that apply after protection, through the official SDK and an agent. */
describe('SQL estate rules', () => {
  let d: ClockDeployment;
  let vaultArmId: string;
  let vm: SqlVm;
  const spec = (pluginIsSysadmin: boolean) => {
    const s = sqlVmSpec('estatevm', ['sales']);
    s.instances[0]!.pluginIsSysadmin = pluginIsSysadmin;
    return s;
  };
  const item = async () =>
    (await d.backup.protectedItems.get(vault, 'rg', 'Azure', vm.containerName, ITEM)).properties as unknown as Record<
      string,
      unknown
    >;
  /** backups.trigger (on demand), then its job to its end. */
  async function backupNow(backupType: string) {
    let statusUrl = '';
    await d.backup.backups.trigger(
      vault,
      'rg',
      'Azure',
      vm.containerName,
      ITEM,
      { properties: { objectType: 'AzureWorkloadBackupRequest', backupType } as never },
      { onResponse: (raw) => void (statusUrl = raw.headers.get('azure-asyncoperation') ?? '') },
    );
    const operationId = new URL(statusUrl).pathname.split('/').pop() ?? '';
    const jobId = await until('the backup job', async () => {
      const status = await d.backup.protectedItemOperationStatuses.get(
        vault,
        'rg',
        'Azure',
        vm.containerName,
        ITEM,
        operationId,
      );
      return status.status === 'Succeeded' ? (status.properties as { jobId?: string }).jobId : undefined;
    });
    return until('the job to end', async () => {
      const job = await d.backup.jobDetails.get(vault, 'rg', jobId!);
      return job.properties?.status === 'InProgress' ? undefined : job;
    });
  }

  beforeAll(async () => {
    d = await clockDeployment('estate-rules');
    vaultArmId =
      (await d.vaults.vaults.createOrUpdate('rg', vault, { location: 'westeurope', sku: { name: 'Standard' } }, poll))
        .id ?? '';
    await d.backup.protectionPolicies.createOrUpdate(vault, 'rg', 'DailyHourly', dailyFullWithLogs(60));
    vm = await registeredSqlVm(d.server, d.backup, d.token, vaultArmId, spec(true));
    await d.backup.protectedItems.createOrUpdate(vault, 'rg', 'Azure', vm.containerName, ITEM, {
      properties: {
        protectedItemType: 'AzureVmWorkloadSQLDatabase',
        policyId: `${vaultArmId}/backupPolicies/DailyHourly`,
      } as never,
    });
  }, 120_000);
  afterAll(async () => {
    await vm?.agent.stop();
    await d?.stop();
  });

  it('sysadmin lost after protection: the backup job fails with UserErrorSQLNoSysadminMembership until it is back', async () => {
    expect((await backupNow('Full')).properties?.status).toBe('Completed');
    vm.setSpec(spec(false));
    const refused = await backupNow('Full');
    expect(refused.properties?.status).toBe('Failed');
    const detail = (refused.properties as { errorDetails?: { errorTitle?: string; errorString?: string }[] })
      .errorDetails?.[0];
    expect(detail?.errorTitle).toBe('UserErrorSQLNoSysadminMembership');
    expect(detail?.errorString).toMatch(/NT SERVICE\\AzureWLBackupPluginSvc.*sysadmin.*MSSQLSERVER/);
    expect(await item()).toMatchObject({
      lastBackupStatus: 'Unhealthy',
      lastBackupErrorDetail: { code: 'UserErrorSQLNoSysadminMembership' },
    });
    vm.setSpec(spec(true));
    expect((await backupNow('Full')).properties?.status).toBe('Completed');
    const healed = await item();
    expect(healed.lastBackupStatus).toBe('Healthy');
    expect(healed.lastBackupErrorDetail).toBeUndefined();
  }, 60_000);

  it('NT AUTHORITY\\SYSTEM not a login: discovery fails with its code, and lists the databases once it is', async () => {
    const noSystem = (systemLogin: boolean) => {
      const s = sqlVmSpec('nosystemvm', ['orders']);
      (s.instances[0] as Record<string, unknown>).systemLogin = systemLogin;
      return s;
    };
    const other = await registeredSqlVm(d.server, d.backup, d.token, vaultArmId, noSystem(false));
    try {
      const inquiry = async () =>
        (
          (await d.backup.protectionContainers.get(vault, 'rg', 'Azure', other.containerName)).properties as {
            extendedInfo?: { inquiryInfo?: { status?: string; errorDetail?: { code?: string; message?: string } } };
          }
        ).extendedInfo?.inquiryInfo;
      const failed = await inquiry();
      expect(failed?.status).toBe('Failed');
      expect(failed?.errorDetail?.code).toBe('UserErrorOpeningSQLConnection');
      expect(failed?.errorDetail?.message).toMatch(/NT AUTHORITY\\SYSTEM/);
      const orders = async () => {
        const names = [];
        for await (const i of d.backup.backupProtectableItems.list(vault, 'rg', {
          filter: "protectableItemType eq 'SQLDataBase'",
        }))
          names.push(i.name);
        return names.filter((n) => n?.endsWith(';orders'));
      };
      expect(await orders()).toEqual([]);
      // The portal's live feed announces the discovery that finds the databases.
      const stream = await openEventStream(`${d.server.httpsUrl}/portal/v1${vaultArmId}/events`, d.token);
      try {
        other.setSpec(noSystem(true));
        await rediscover(d.backup, vault, other.containerName);
        expect((await inquiry())?.status).toBe('Success');
        expect(await orders()).toEqual(['SQLDataBase;MSSQLSERVER;orders']);
        const announced = await stream.next(
          (m) =>
            m.event === 'discovery.completed' &&
            (JSON.parse(m.data) as { containerName?: string }).containerName === other.containerName,
          { timeoutMs: 10_000 },
        );
        expect(JSON.parse(announced.data)).toMatchObject({
          containerName: other.containerName,
          friendlyName: 'nosystemvm',
          newDatabases: expect.arrayContaining(['SQLDataBase;MSSQLSERVER;orders']),
        });
      } finally {
        stream.close();
      }
    } finally {
      await other.agent.stop();
    }
  }, 60_000);
});
