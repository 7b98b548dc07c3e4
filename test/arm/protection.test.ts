import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import type { RecoveryServicesClient } from '@azure/arm-recoveryservices';
import { startTestServer, type TestServer } from '../support/server.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';
import { asSdkPolicy, fullPolicy } from '../support/policies.ts';
import { registeredSqlVm, sqlVmSpec, until, type SqlVm } from '../support/vm.ts';

const poll = { updateIntervalInMs: 50 };

/** Configure, modify, stop, resume, delete data, undelete — each a 202 whose operation and job the SDK can follow. */
describe('protection through the SDK', () => {
  let server: TestServer;
  let vaults: RecoveryServicesClient;
  let backup: RecoveryServicesBackupClient;
  let token: string;
  let vm: SqlVm;
  const subscriptionId = randomUUID();
  const vault = 'protect-vault';

  beforeAll(async () => {
    server = await startTestServer({ RV_DISCOVERY_INTERVAL_SECONDS: '1' });
    token = await fetchToken(server.httpsUrl);
    ({ vaults, backup } = sdkClients(server.httpsUrl, token, subscriptionId));
    const created = await vaults.vaults.createOrUpdate(
      'rg',
      vault,
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'WeeklyWithLogs', asSdkPolicy(fullPolicy()));
    const daily = fullPolicy();
    daily.subProtectionPolicy[2].schedulePolicy.scheduleFrequencyInMins = 60;
    await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'HourlyLogs', asSdkPolicy(daily));
    vm = await registeredSqlVm(
      server,
      backup,
      token,
      created.id ?? '',
      sqlVmSpec('protectvm', ['sales', { name: 'staging', recoveryModel: 'SIMPLE' }]),
    );
  });
  afterAll(async () => {
    await vm?.agent.stop();
    await server?.stop();
  });

  const policyId = (name: string) =>
    `/subscriptions/${subscriptionId}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/${vault}/backupPolicies/${name}`;

  /** PUT or DELETE on an item, then follow its Azure-AsyncOperation to the end; returns the final status. */
  async function follow(
    send: (
      onResponse: (raw: { status: number; headers: { get(name: string): string | undefined } }) => void,
    ) => Promise<unknown>,
  ) {
    let statusUrl = '';
    await send((raw) => {
      expect(raw.status).toBe(202);
      statusUrl = raw.headers.get('azure-asyncoperation') ?? '';
    });
    const operationId = new URL(statusUrl).pathname.split('/').pop() ?? '';
    return until('the operation to end', async () => {
      const status = await backup.backupOperationStatuses.get(vault, 'rg', operationId);
      return status.status === 'InProgress' ? undefined : status;
    });
  }
  const item = (name: string) => backup.protectedItems.get(vault, 'rg', 'Azure', vm.containerName, name);
  const put = (name: string, properties: Record<string, unknown>) =>
    follow((onResponse) =>
      backup.protectedItems.createOrUpdate(
        vault,
        'rg',
        'Azure',
        vm.containerName,
        name,
        { properties: { protectedItemType: 'AzureVmWorkloadSQLDatabase', ...properties } as never },
        { onResponse },
      ),
    );

  it('protects a database, changes its policy, stops, resumes, deletes its data and undeletes it, with a job each', async () => {
    const sales = 'SQLDataBase;MSSQLSERVER;sales';
    const configured = await put(sales, { policyId: policyId('WeeklyWithLogs') });
    expect(configured.status).toBe('Succeeded');
    expect(configured.properties).toMatchObject({ objectType: 'OperationStatusJobExtendedInfo' });
    const configureJob = await backup.jobDetails.get(vault, 'rg', (configured.properties as { jobId: string }).jobId);
    expect(configureJob.properties).toMatchObject({
      operation: 'ConfigureBackup',
      status: 'Completed',
      entityFriendlyName: 'sales [protectvm]',
    });

    const protectedItem = await item(sales);
    expect(protectedItem.properties).toMatchObject({
      protectedItemType: 'AzureVmWorkloadSQLDatabase',
      friendlyName: 'sales',
      parentName: 'MSSQLSERVER',
      protectionState: 'IRPending',
      policyId: policyId('WeeklyWithLogs'),
      workloadType: 'SQLDataBase',
      isScheduledForDeferredDelete: false,
    });

    expect((await put(sales, { policyId: policyId('HourlyLogs') })).status).toBe('Succeeded');
    expect((await item(sales)).properties?.policyId).toBe(policyId('HourlyLogs'));

    expect((await put(sales, { protectionState: 'ProtectionStopped', policyId: '' })).status).toBe('Succeeded');
    expect((await item(sales)).properties).toMatchObject({ protectionState: 'ProtectionStopped', policyId: '' });

    expect((await put(sales, { policyId: policyId('WeeklyWithLogs') })).status).toBe('Succeeded');
    expect((await item(sales)).properties).toMatchObject({ protectionState: 'IRPending' });

    const deleted = await follow((onResponse) =>
      backup.protectedItems.delete(vault, 'rg', 'Azure', vm.containerName, sales, { onResponse }),
    );
    expect(deleted.status).toBe('Succeeded');
    const softDeleted = (await item(sales)).properties as {
      isScheduledForDeferredDelete?: boolean;
      deferredDeleteTimeInUTC?: Date;
      protectionState?: string;
    };
    expect(softDeleted.isScheduledForDeferredDelete).toBe(true);
    expect(softDeleted.deferredDeleteTimeInUTC?.getTime()).toBeGreaterThan(Date.now() + 13 * 86_400_000);
    // A soft-deleted item still counts against the limit.
    const usage = [];
    for await (const u of backup.backupUsageSummaries.list(vault, 'rg', {
      filter: "type eq 'BackupProtectedItemCountSummary'",
    }))
      usage.push(u.currentValue);
    expect(usage).toEqual([1]);

    expect((await put(sales, { isRehydrate: true })).status).toBe('Succeeded');
    expect((await item(sales)).properties).toMatchObject({
      isScheduledForDeferredDelete: false,
      protectionState: 'ProtectionStopped',
    });

    const jobs = [];
    for await (const job of backup.backupJobs.list(vault, 'rg', { filter: "backupManagementType eq 'AzureWorkload'" }))
      jobs.push([job.properties?.operation, job.properties?.status]);
    expect(jobs).toEqual([
      ['Undelete', 'Completed'],
      ['DeleteBackupData', 'Completed'],
      ['ConfigureBackup', 'Completed'],
      ['DisableBackup', 'Completed'],
      ['ConfigureBackup', 'Completed'],
      ['ConfigureBackup', 'Completed'],
      ['Register', 'Completed'],
    ]);
  });

  it('refuses what Azure refuses, changing nothing', async () => {
    const refused = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(
      await refused(
        backup.protectedItems.createOrUpdate(vault, 'rg', 'Azure', vm.containerName, 'SQLDataBase;MSSQLSERVER;nope', {
          properties: { protectedItemType: 'AzureVmWorkloadSQLDatabase', policyId: policyId('HourlyLogs') } as never,
        }),
      ),
    ).toMatchObject({ statusCode: 404, code: 'BMSUserErrorDataSourceObjectNotFound' });
    expect(
      await refused(
        backup.protectedItems.createOrUpdate(
          vault,
          'rg',
          'Azure',
          vm.containerName,
          'SQLDataBase;MSSQLSERVER;staging',
          {
            properties: {
              protectedItemType: 'AzureVmWorkloadSQLDatabase',
              policyId: policyId('NoSuchPolicy'),
            } as never,
          },
        ),
      ),
    ).toMatchObject({ statusCode: 400, code: 'BMSUserErrorInvalidConfigureProtectionRequest' });
    expect(
      await refused(
        backup.protectedItems.get(vault, 'rg', 'Azure', vm.containerName, 'SQLDataBase;MSSQLSERVER;staging'),
      ),
    ).toMatchObject({ statusCode: 404 });
    // A container with protected items (stopped ones too) cannot be unregistered.
    expect(await refused(backup.protectionContainers.unregister(vault, 'rg', 'Azure', vm.containerName))).toMatchObject(
      { statusCode: 400, code: 'BMSUserErrorContainerHasDatasources' },
    );
  });

  it('keeps a SIMPLE recovery model database without log backups, and reaches protected items when a policy changes', async () => {
    const staging = 'SQLDataBase;MSSQLSERVER;staging';
    expect((await put(staging, { policyId: policyId('HourlyLogs') })).status).toBe('Succeeded');
    const scheduled = await server.app.db.protectedItem.findFirstOrThrow({
      where: { itemName: staging, vault: { subscriptionId: subscriptionId.toLowerCase() } },
    });
    expect(scheduled.nextFullAt).not.toBeNull();
    expect(scheduled.nextLogAt).toBeNull();
    const refused = await backup.protectionPolicies.beginDeleteAndWait(vault, 'rg', 'HourlyLogs', poll).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ statusCode: 400, code: 'BMSUserErrorPolicyInUse' });

    let statusUrl = '';
    const changed = fullPolicy();
    changed.subProtectionPolicy[2].schedulePolicy.scheduleFrequencyInMins = 30;
    await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'HourlyLogs', asSdkPolicy(changed), {
      onResponse: (raw) => {
        expect(raw.status).toBe(202);
        statusUrl = raw.headers.get('azure-asyncoperation') ?? '';
      },
    });
    const operationId = new URL(statusUrl).pathname.split('/').pop() ?? '';
    const status = await until('the policy change', async () => {
      const s = await backup.protectionPolicyOperationStatuses.get(vault, 'rg', 'HourlyLogs', operationId);
      return s.status === 'InProgress' ? undefined : s;
    });
    expect(status.status).toBe('Succeeded');
    expect((status.properties as { jobIds?: string[] }).jobIds).toHaveLength(1);
  });

  it('lists protected items by policy, container and database name, case-insensitively and as equality', async () => {
    const names = async (filter: string) => {
      const found = [];
      for await (const p of backup.backupProtectedItems.list(vault, 'rg', {
        filter: `backupManagementType eq 'AzureWorkload' and ${filter}`,
      }))
        found.push(p.name);
      return found;
    };
    const [sales, staging] = ['SQLDataBase;MSSQLSERVER;sales', 'SQLDataBase;MSSQLSERVER;staging'];
    expect(await names(`containerName eq '${vm.containerName.toUpperCase()}'`)).toEqual([sales, staging]);
    expect(await names("containerName eq 'VMAppContainer;Compute;rg;elsewhere'")).toEqual([]);
    expect(await names("policyName eq 'hourlylogs'")).toEqual([staging]);
    expect(await names("friendlyName eq 'STAGING'")).toEqual([staging]);
    // `eq` compares whole names: '_' and '%' are characters, not patterns.
    expect(await names("friendlyName eq 'st_ging'")).toEqual([]);
    expect(await names("friendlyName eq 's%'")).toEqual([]);
    expect(await names("itemType eq 'VM'")).toEqual([]);
  });

  it('auto-protects an instance: its databases now, and a database created later after one discovery cycle', async () => {
    const intentName = randomUUID();
    const containerId = `/subscriptions/${subscriptionId}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/${vault}/backupFabrics/Azure/protectionContainers/${vm.containerName}`;
    const intent = await backup.protectionIntentOperations.createOrUpdate(vault, 'rg', 'Azure', intentName, {
      properties: {
        protectionIntentItemType: 'RecoveryServiceVaultItem',
        backupManagementType: 'AzureWorkload',
        itemId: `${containerId}/protectableItems/SQLInstance;MSSQLSERVER`,
        policyId: policyId('HourlyLogs'),
      } as never,
    });
    expect(intent.properties).toMatchObject({
      protectionIntentItemType: 'AzureWorkloadSQLAutoProtectionIntent',
      policyId: policyId('HourlyLogs'),
    });
    const protectedNames = async () => {
      const names = [];
      for await (const p of backup.backupProtectedItems.list(vault, 'rg', {
        filter: "backupManagementType eq 'AzureWorkload' and itemType eq 'SQLDataBase'",
      }))
        names.push(p.name);
      return names;
    };
    // The instance's existing protectable databases (master, model, msdb included) are protected.
    await until(
      'existing databases protected',
      async () => (await protectedNames()).includes('SQLDataBase;MSSQLSERVER;msdb') || undefined,
    );

    // The DBA creates a database; nobody calls inquire: the discovery cycle finds it and protects it.
    vm.setSpec(sqlVmSpec('protectvm', ['sales', { name: 'staging', recoveryModel: 'SIMPLE' }, 'created_later']));
    await until(
      'the new database protected',
      async () => (await protectedNames()).includes('SQLDataBase;MSSQLSERVER;created_later') || undefined,
      30_000,
    );

    const intents = [];
    for await (const i of backup.backupProtectionIntent.list(vault, 'rg', {
      filter: "backupManagementType eq 'AzureWorkload' and itemType eq 'SQLInstance' and itemName eq 'MSSQLSERVER'",
    }))
      intents.push(i.name);
    expect(intents).toEqual([intentName]);

    // Removing the intent stops new auto-protection and unprotects nothing.
    await backup.protectionIntentOperations.delete(vault, 'rg', 'Azure', intentName);
    vm.setSpec(
      sqlVmSpec('protectvm', ['sales', { name: 'staging', recoveryModel: 'SIMPLE' }, 'created_later', 'after_intent']),
    );
    const before = await protectedNames();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const after = await protectedNames();
    expect(after).toEqual(before);
    expect(after).toContain('SQLDataBase;MSSQLSERVER;created_later');
  });
});
