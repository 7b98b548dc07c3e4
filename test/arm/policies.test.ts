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
    const created = await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'HourlyLogBackup', sent);
    expect(created.name).toBe('HourlyLogBackup');
    expect(created.type).toBe('Microsoft.RecoveryServices/vaults/backupPolicies');
    const read = await backup.protectionPolicies.get(vault, 'rg', 'HourlyLogBackup');
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
    expect(listed).toEqual(['HourlyLogBackup']);
    const otherWorkload = [];
    for await (const p of backup.backupPolicies.list(vault, 'rg', { filter: "backupManagementType eq 'AzureIaasVM'" }))
      otherWorkload.push(p.name);
    expect(otherWorkload).toEqual([]);
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

  it('deletes an unused policy as a long-running operation', async () => {
    await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'Temporary', asSdkPolicy(fullPolicy()));
    await backup.protectionPolicies.beginDeleteAndWait(vault, 'rg', 'Temporary', { updateIntervalInMs: 50 });
    await expect(backup.protectionPolicies.get(vault, 'rg', 'Temporary')).rejects.toMatchObject({ statusCode: 404 });
  });
});
