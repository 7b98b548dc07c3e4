import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import { startTestServer, type TestServer } from '../support/server.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';
import { asSdkPolicy, fullPolicy, invalidVariants } from '../support/policies.ts';

describe('backup policies through the SDK', () => {
  let server: TestServer;
  let backup: RecoveryServicesBackupClient;
  const vault = 'policy-vault';

  beforeAll(async () => {
    server = await startTestServer();
    const subscriptionId = randomUUID();
    const clients = sdkClients(server.httpsUrl, await fetchToken(server.httpsUrl), subscriptionId);
    backup = clients.backup;
    await clients.vaults.vaults.createOrUpdate(
      'rg',
      vault,
      { location: 'westeurope', sku: { name: 'Standard' } },
      { updateIntervalInMs: 50 },
    );
  });
  afterAll(async () => server?.stop());

  it('creates a policy with Full, Differential, Log and long-term retention, and reads it back equal', async () => {
    const sent = asSdkPolicy(fullPolicy());
    const created = await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'FullDiffLog', sent);
    expect(created.name).toBe('FullDiffLog');
    expect(created.type).toBe('Microsoft.RecoveryServices/vaults/backupPolicies');
    const read = await backup.protectionPolicies.get(vault, 'rg', 'FullDiffLog');
    const { protectedItemsCount, ...properties } = read.properties as unknown as Record<string, unknown>;
    expect(protectedItemsCount).toBe(0);
    // What the SDK deserialized equals what it sent; like Azure, the service also reports scheduleWeeklyFrequency 0
    // and settings.isCompression next to issqlcompression.
    const expected = structuredClone(sent.properties) as unknown as {
      settings: Record<string, unknown>;
      subProtectionPolicy: { schedulePolicy: Record<string, unknown> }[];
    };
    expected.settings.isCompression = expected.settings.issqlcompression;
    for (const sub of expected.subProtectionPolicy) {
      if (sub.schedulePolicy.schedulePolicyType === 'SimpleSchedulePolicy')
        sub.schedulePolicy.scheduleWeeklyFrequency = 0;
    }
    expect(properties).toEqual(expected);

    const listed = [];
    for await (const p of backup.backupPolicies.list(vault, 'rg', {
      filter: "backupManagementType eq 'AzureWorkload' and workloadType eq 'SQLDataBase'",
    }))
      listed.push(p.name);
    // With Azure's default SQL policy, which every vault has.
    expect(listed).toEqual(['FullDiffLog', 'HourlyLogBackup']);
    const otherWorkload = [];
    for await (const p of backup.backupPolicies.list(vault, 'rg', { filter: "backupManagementType eq 'AzureIaasVM'" }))
      otherWorkload.push(p.name);
    expect(otherWorkload).toEqual(['DefaultPolicy', 'EnhancedPolicy']);
  });

  it('gives every new vault Azure’s default policies: HourlyLogBackup for SQL, DefaultPolicy and EnhancedPolicy for VMs', async () => {
    const all = [];
    for await (const p of backup.backupPolicies.list(vault, 'rg')) all.push(p.name);
    expect(all).toEqual(expect.arrayContaining(['DefaultPolicy', 'EnhancedPolicy', 'HourlyLogBackup']));
    const sql = (await backup.protectionPolicies.get(vault, 'rg', 'HourlyLogBackup')).properties as unknown as {
      subProtectionPolicy: { policyType: string; schedulePolicy: Record<string, unknown>; retentionPolicy: object }[];
      settings: object;
      workLoadType: string;
    };
    expect(sql.workLoadType).toBe('SQLDataBase');
    expect(sql.settings).toEqual({ timeZone: 'UTC', issqlcompression: false, isCompression: false });
    const [full, log] = sql.subProtectionPolicy;
    const runTime = (full?.schedulePolicy.scheduleRunTimes as Date[])[0] as Date;
    // The vault's creation time of day, rounded down to the half hour.
    expect(runTime.getUTCMinutes() % 30).toBe(0);
    expect(runTime.getUTCSeconds()).toBe(0);
    expect(full).toMatchObject({
      policyType: 'Full',
      schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily' },
      retentionPolicy: { dailySchedule: { retentionDuration: { count: 30, durationType: 'Days' } } },
    });
    expect(log).toMatchObject({
      policyType: 'Log',
      schedulePolicy: { schedulePolicyType: 'LogSchedulePolicy', scheduleFrequencyInMins: 60 },
      retentionPolicy: { retentionPolicyType: 'SimpleRetentionPolicy', retentionDuration: { count: 30 } },
    });
    const enhanced = (await backup.protectionPolicies.get(vault, 'rg', 'EnhancedPolicy')).properties;
    expect(enhanced).toMatchObject({
      backupManagementType: 'AzureIaasVM',
      policyType: 'V2',
      instantRpRetentionRangeInDays: 2,
      schedulePolicy: {
        schedulePolicyType: 'SimpleSchedulePolicyV2',
        hourlySchedule: { interval: 4, scheduleWindowDuration: 12 },
      },
    });
    const vm = (await backup.protectionPolicies.get(vault, 'rg', 'DefaultPolicy')).properties;
    expect(vm).toMatchObject({
      backupManagementType: 'AzureIaasVM',
      schedulePolicy: {
        schedulePolicyType: 'SimpleSchedulePolicy',
        scheduleRunFrequency: 'Daily',
        scheduleRunTimes: [runTime],
      },
      retentionPolicy: { dailySchedule: { retentionDuration: { count: 30, durationType: 'Days' } } },
    });
    // A VM policy stays one: a SQL body under its name is refused, and nothing changed.
    const refused = await backup.protectionPolicies
      .createOrUpdate(vault, 'rg', 'DefaultPolicy', asSdkPolicy(fullPolicy()))
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ statusCode: 400, code: 'BMSUserErrorInvalidPolicyInput' });
    expect((await backup.protectionPolicies.get(vault, 'rg', 'DefaultPolicy')).properties).toEqual(vm);
  });

  it.each(invalidVariants)(
    'refuses %s with a 400 naming the field and the allowed range',
    async (label, field, range, mutate) => {
      const properties = fullPolicy();
      mutate(properties);
      const name = `invalid-${label.replace(/[^a-z0-9]+/gi, '-')}`;
      const error = await backup.protectionPolicies
        .createOrUpdate(vault, 'rg', name, asSdkPolicy(properties))
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ statusCode: 400, code: 'BMSUserErrorInvalidPolicyInput' });
      const message = (error as Error).message;
      expect(message).toContain(field);
      expect(message).toContain(range);
      await expect(backup.protectionPolicies.get(vault, 'rg', name)).rejects.toMatchObject({ statusCode: 404 });
    },
  );

  it('deletes an unused policy with a 200 and no async headers (as Azure), which the SDK’s poller accepts', async () => {
    await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'Temporary', asSdkPolicy(fullPolicy()));
    const answers: { status: number; asyncHeader: string | undefined }[] = [];
    await backup.protectionPolicies.beginDeleteAndWait(vault, 'rg', 'Temporary', {
      updateIntervalInMs: 50,
      onResponse: (raw) =>
        answers.push({
          status: raw.status,
          asyncHeader: raw.headers.get('azure-asyncoperation') ?? raw.headers.get('location'),
        }),
    });
    expect(answers).toEqual([{ status: 200, asyncHeader: undefined }]);
    await expect(backup.protectionPolicies.get(vault, 'rg', 'Temporary')).rejects.toMatchObject({ statusCode: 404 });
  });
});
