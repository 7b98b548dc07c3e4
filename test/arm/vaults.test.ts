import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestError } from '@azure/core-rest-pipeline';
import { startTestServer, type TestServer } from '../support/server.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';

/** Vault lifecycle through @azure/arm-recoveryservices and vault settings through @azure/arm-recoveryservicesbackup. */
describe('vaults through the official SDKs', () => {
  let server: TestServer;
  let token: string;
  const subscriptionId = randomUUID();
  const poll = { updateIntervalInMs: 50 };

  beforeAll(async () => {
    server = await startTestServer();
    token = await fetchToken(server.httpsUrl);
  });
  afterAll(async () => server?.stop());

  const clients = () => sdkClients(server.httpsUrl, token, subscriptionId);

  it('creates, reads, updates, lists and deletes a vault', async () => {
    const { vaults } = clients();
    const created = await vaults.vaults.createOrUpdate(
      'Sql-RG',
      'SqlVault1',
      {
        location: 'westeurope',
        sku: { name: 'RS0', tier: 'Standard' },
        tags: { team: 'dba' },
        properties: { publicNetworkAccess: 'Enabled' },
      },
      poll,
    );
    expect(created.id).toBe(
      `/subscriptions/${subscriptionId}/resourceGroups/Sql-RG/providers/Microsoft.RecoveryServices/vaults/SqlVault1`,
    );
    expect(created.name).toBe('SqlVault1');
    expect(created.type).toBe('Microsoft.RecoveryServices/vaults');
    expect(created.properties?.provisioningState).toBe('Succeeded');
    expect(created.tags).toEqual({ team: 'dba' });
    expect(created.properties?.securitySettings?.softDeleteSettings?.softDeleteState).toBe('Enabled');
    expect(created.properties?.securitySettings?.softDeleteSettings?.softDeleteRetentionPeriodInDays).toBe(14);

    // Names resolve case-insensitively, as in ARM.
    const fetched = await vaults.vaults.get('sql-rg', 'SQLVAULT1');
    expect(fetched.name).toBe('SqlVault1');
    expect(fetched.etag).toBe(created.etag);

    const updated = await vaults.vaults.update('Sql-RG', 'SqlVault1', { tags: { team: 'platform' } }, poll);
    expect(updated.tags).toEqual({ team: 'platform' });
    expect(updated.etag).not.toBe(created.etag);

    await vaults.vaults.createOrUpdate(
      'Sql-RG',
      'SqlVault2',
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    await vaults.vaults.createOrUpdate(
      'Other-RG',
      'SqlVault3',
      { location: 'northeurope', sku: { name: 'Standard' } },
      poll,
    );

    const inGroup = [];
    for await (const vault of vaults.vaults.listByResourceGroup('sql-rg')) inGroup.push(vault.name);
    expect(inGroup).toEqual(['SqlVault1', 'SqlVault2']);
    const inSubscription = [];
    for await (const vault of vaults.vaults.listBySubscriptionId()) inSubscription.push(vault.name);
    expect(inSubscription).toEqual(['SqlVault1', 'SqlVault2', 'SqlVault3']);

    await vaults.vaults.delete('Sql-RG', 'SqlVault2', poll);
    await expect(vaults.vaults.get('Sql-RG', 'SqlVault2')).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
    });
  });

  it('pages vault lists with nextLink', async () => {
    const pagedServer = await startTestServer({ RV_PAGE_SIZE: '2' });
    try {
      const sub = randomUUID();
      const { vaults } = sdkClients(pagedServer.httpsUrl, await fetchToken(pagedServer.httpsUrl), sub);
      for (const name of ['v-a', 'v-b', 'v-c', 'v-d', 'v-e']) {
        await vaults.vaults.createOrUpdate('rg', name, { location: 'westeurope', sku: { name: 'Standard' } }, poll);
      }
      const pages = vaults.vaults.listByResourceGroup('rg').byPage();
      const sizes: number[] = [];
      const names: string[] = [];
      for await (const p of pages) {
        sizes.push(p.length);
        names.push(...p.map((v) => v.name ?? ''));
      }
      expect(sizes).toEqual([2, 2, 1]);
      expect(names).toEqual(['v-a', 'v-b', 'v-c', 'v-d', 'v-e']);
    } finally {
      await pagedServer.stop();
    }
  });

  it('reads and updates vaultconfig and vaultstorageconfig', async () => {
    const { vaults, backup } = clients();
    await vaults.vaults.createOrUpdate(
      'rg',
      'config-vault',
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );

    const config = await backup.backupResourceVaultConfigs.get('config-vault', 'rg');
    expect(config.name).toBe('vaultconfig');
    expect(config.properties?.softDeleteFeatureState).toBe('Enabled');
    expect(config.properties?.softDeleteRetentionPeriodInDays).toBe(14);

    const patched = await backup.backupResourceVaultConfigs.update('config-vault', 'rg', {
      properties: { softDeleteFeatureState: 'Disabled', softDeleteRetentionPeriodInDays: 30 },
    });
    expect(patched.properties?.softDeleteFeatureState).toBe('Disabled');
    expect(patched.properties?.softDeleteRetentionPeriodInDays).toBe(30);
    const put = await backup.backupResourceVaultConfigs.put('config-vault', 'rg', {
      properties: { softDeleteFeatureState: 'AlwaysON' },
    });
    expect(put.properties?.softDeleteFeatureState).toBe('AlwaysON');
    expect(put.properties?.isSoftDeleteFeatureStateEditable).toBe(false);
    // The vault itself shows the same setting.
    const vault = await vaults.vaults.get('rg', 'config-vault');
    expect(vault.properties?.securitySettings?.softDeleteSettings?.softDeleteState).toBe('AlwaysON');
    // AlwaysON is irreversible.
    await expect(
      backup.backupResourceVaultConfigs.update('config-vault', 'rg', {
        properties: { softDeleteFeatureState: 'Disabled' },
      }),
    ).rejects.toMatchObject({ statusCode: 400, code: 'UserErrorSoftDeleteStateChangeNotAllowed' });
    await expect(
      backup.backupResourceVaultConfigs.update('config-vault', 'rg', {
        properties: { softDeleteRetentionPeriodInDays: 5 },
      }),
    ).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('from 14 to 180') });

    const storage = await backup.backupResourceStorageConfigsNonCRR.get('config-vault', 'rg');
    expect(storage.properties).toMatchObject({
      storageModelType: 'GeoRedundant',
      storageTypeState: 'Unlocked',
      crossRegionRestoreFlag: false,
    });
    const replaced = await backup.backupResourceStorageConfigsNonCRR.update('config-vault', 'rg', {
      properties: { storageModelType: 'LocallyRedundant', storageType: 'LocallyRedundant' },
    });
    expect(replaced.properties?.storageType).toBe('LocallyRedundant');
    await backup.backupResourceStorageConfigsNonCRR.patch('config-vault', 'rg', {
      properties: { storageModelType: 'ZoneRedundant' },
    });
    expect((await backup.backupResourceStorageConfigsNonCRR.get('config-vault', 'rg')).properties?.storageType).toBe(
      'ZoneRedundant',
    );
    expect(
      (await vaults.vaults.get('rg', 'config-vault')).properties?.redundancySettings?.standardTierStorageRedundancy,
    ).toBe('ZoneRedundant');
  });

  it('reports usage and the protected-item limit', async () => {
    const { vaults, backup } = clients();
    await vaults.vaults.createOrUpdate(
      'rg',
      'usage-vault',
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    const summaries = [];
    for await (const s of backup.backupUsageSummaries.list('usage-vault', 'rg', {
      filter: "type eq 'BackupProtectedItemCountSummary'",
    }))
      summaries.push(s);
    expect(summaries).toEqual([
      {
        unit: 'Count',
        currentValue: 0,
        limit: 2000,
        name: { value: 'AzureWorkload', localizedValue: 'SQL in Azure VM' },
      },
    ]);
    const usages = [];
    for await (const u of vaults.usages.listByVaults('rg', 'usage-vault')) usages.push(u.name?.value);
    expect(usages).toContain('ProtectedItemCount');
    await expect(async () => {
      for await (const _ of backup.backupUsageSummaries.list('usage-vault', 'rg', { filter: "type eq 'Nope'" })) void _;
    }).rejects.toMatchObject({ statusCode: 400, code: 'InvalidFilterParameter' });
  });

  it('checks name availability', async () => {
    const { vaults } = clients();
    await vaults.vaults.createOrUpdate('rg', 'taken-name', { location: 'westeurope', sku: { name: 'Standard' } }, poll);
    const check = (name: string) =>
      vaults.recoveryServices.checkNameAvailability('rg', 'westeurope', {
        name,
        type: 'Microsoft.RecoveryServices/Vaults',
      });
    expect(await check('taken-name')).toMatchObject({ nameAvailable: false, reason: 'AlreadyExists' });
    expect(await check('free-name')).toMatchObject({ nameAvailable: true });
    expect(await check('9starts-with-digit')).toMatchObject({ nameAvailable: false, reason: 'Invalid' });
  });

  it('rejects a bad vault name with a 400 and creates nothing', async () => {
    const { vaults } = clients();
    const error = await vaults.vaults
      .createOrUpdate('rg', 'bad_name!', { location: 'westeurope', sku: { name: 'Standard' } }, poll)
      .pollUntilDone()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestError);
    expect(error).toMatchObject({ statusCode: 400, code: 'InvalidResourceName' });
    const names = [];
    for await (const vault of vaults.vaults.listByResourceGroup('rg')) names.push(vault.name);
    expect(names).not.toContain('bad_name!');
  });
});
