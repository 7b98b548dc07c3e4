import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import type { RecoveryServicesClient } from '@azure/arm-recoveryservices';
import { startTestServer, type TestServer } from '../support/server.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';
import { asSdkPolicy, fullPolicy } from '../support/policies.ts';
import { registeredSqlVm, sqlVmSpec, type SqlVm } from '../support/vm.ts';
import { purgeExpiredSoftDeletes } from '../../src/services/protection.ts';
import { protectDatabase } from '../support/protection.ts';

const poll = { updateIntervalInMs: 50 };

/**
 * At most 2000 protected databases per vault, enforced without races: with 1990 slots taken, 50 concurrent configure
 * requests yield exactly 10 successes. The 1990 are set on the vault's counter directly — the race is what is tested,
 * and 1990 real configurations would only slow the suite; 50 real databases on a real VM take the last slots.
 */
describe('the 2000-item limit', () => {
  let server: TestServer;
  let vaults: RecoveryServicesClient;
  let backup: RecoveryServicesBackupClient;
  let token: string;
  const subscriptionId = randomUUID();
  const agents: SqlVm[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    token = await fetchToken(server.httpsUrl);
    ({ vaults, backup } = sdkClients(server.httpsUrl, token, subscriptionId));
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.agent.stop()));
    await server?.stop();
  });

  const databases = Array.from({ length: 50 }, (_, i) => `db${String(i).padStart(2, '0')}`);

  it.each([1, 2, 3, 4, 5])('lets exactly 10 of 50 concurrent requests take the last 10 slots (run %i)', async (run) => {
    const vaultName = `limit-vault-${run}`;
    const vault = await vaults.vaults.createOrUpdate(
      'rg',
      vaultName,
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    await backup.protectionPolicies.createOrUpdate(vaultName, 'rg', 'Daily', asSdkPolicy(fullPolicy()));
    const vm = await registeredSqlVm(server, backup, token, vault.id ?? '', sqlVmSpec(`limitvm${run}`, databases));
    agents.push(vm);
    await server.app.db.vault.update({
      where: {
        id: (
          await server.app.db.vault.findFirstOrThrow({
            where: { subscriptionId: subscriptionId.toLowerCase(), nameKey: vaultName },
          })
        ).id,
      },
      data: { protectedItemCount: 1990 },
    });

    const policyId = `${vault.id}/backupPolicies/Daily`;
    const outcomes = await Promise.all(
      databases.map((db) =>
        backup.protectedItems
          .createOrUpdate(vaultName, 'rg', 'Azure', vm.containerName, `SQLDataBase;MSSQLSERVER;${db}`, {
            properties: { protectedItemType: 'AzureVmWorkloadSQLDatabase', policyId } as never,
          })
          .then(
            () => 'accepted',
            (error: { statusCode?: number; code?: string; message?: string }) => `${error.statusCode} ${error.code}`,
          ),
      ),
    );
    expect(outcomes.filter((o) => o === 'accepted')).toHaveLength(10);
    expect(outcomes.filter((o) => o === '400 UserErrorMaxProtectedItemsReached')).toHaveLength(40);

    const usage = [];
    for await (const u of backup.backupUsageSummaries.list(vaultName, 'rg', {
      filter: "type eq 'BackupProtectedItemCountSummary'",
    }))
      usage.push([u.currentValue, u.limit]);
    expect(usage).toEqual([[2000, 2000]]);
    const items = [];
    for await (const i of backup.backupProtectedItems.list(vaultName, 'rg')) items.push(i.name);
    expect(items).toHaveLength(10);
  });

  it('frees a slot only when a soft-deleted item is purged', async () => {
    const vaultName = 'purge-vault';
    const vault = await vaults.vaults.createOrUpdate(
      'rg',
      vaultName,
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    await backup.protectionPolicies.createOrUpdate(vaultName, 'rg', 'Daily', asSdkPolicy(fullPolicy()));
    const vm = await registeredSqlVm(server, backup, token, vault.id ?? '', sqlVmSpec('purgevm', ['keep']));
    agents.push(vm);
    const itemName = 'SQLDataBase;MSSQLSERVER;keep';
    await protectDatabase(backup, vault.id ?? '', vm.containerName, itemName, 'Daily');
    await backup.protectedItems.delete(vaultName, 'rg', 'Azure', vm.containerName, itemName);
    const count = async () => {
      for await (const u of backup.backupUsageSummaries.list(vaultName, 'rg', {
        filter: "type eq 'BackupProtectedItemCountSummary'",
      }))
        return u.currentValue;
      return undefined;
    };
    const waitForSoftDelete = async () => {
      for (let i = 0; i < 100; i++) {
        const item = await backup.protectedItems.get(vaultName, 'rg', 'Azure', vm.containerName, itemName);
        if ((item.properties as { isScheduledForDeferredDelete?: boolean }).isScheduledForDeferredDelete) return item;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('never soft-deleted');
    };
    await waitForSoftDelete();
    expect(await count()).toBe(1);
    const { id } = await server.app.db.vault.findFirstOrThrow({
      where: { subscriptionId: subscriptionId.toLowerCase(), nameKey: vaultName },
    });
    // The purge sweep (a BullMQ scheduler) at a time before the end of the retention keeps it, after it purges it.
    await purgeExpiredSoftDeletes(server.app, new Date(Date.now() + 13 * 86_400_000), id);
    expect(await count()).toBe(1);
    await purgeExpiredSoftDeletes(server.app, new Date(Date.now() + 15 * 86_400_000), id);
    expect(await count()).toBe(0);
    await expect(backup.protectedItems.get(vaultName, 'rg', 'Azure', vm.containerName, itemName)).rejects.toMatchObject(
      { statusCode: 404 },
    );
  });
});
