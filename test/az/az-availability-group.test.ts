import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Az, azInstalled, signIn } from '../support/az.ts';
import { agNodeSpec } from '../support/availability-groups.ts';
import { dailyFullWithLogs } from '../support/policies.ts';
import { principalWith, startTestServer, type TestServer } from '../support/server.ts';
import { createdVault, fetchToken, sdkClients } from '../support/sdk.ts';
import { registeredSqlVm, until, type SqlVm } from '../support/vm.ts';

/**
 * az's auto-protection of an Always On availability group (`auto-enable-for-azurewl` takes a SQLAvailabilityGroupContainer
 * protectable item, az's "SQLAG"): the vault and its two nodes are set up through the SDK, the group is found and
 * auto-protected through az, and its database is protected once.
 */
describe.skipIf(!azInstalled)('az auto-protects an availability group', () => {
  const subscriptionId = randomUUID();
  const principal = principalWith('Contributor', [subscriptionId]);
  const vault = 'az-ag-vault';
  const g = ['-g', 'rg', '-v', vault];
  let server: TestServer;
  let az: Az;
  const vms: SqlVm[] = [];

  beforeAll(async () => {
    server = await startTestServer({}, [principal]);
    az = new Az(inject('tlsCertFile'));
    const token = await fetchToken(server.httpsUrl, principal.clientId, principal.clientSecret);
    const { vaults, backup } = sdkClients(server.httpsUrl, token, subscriptionId);
    const vaultArmId = await createdVault(vaults, vault);
    await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'DailyHourly', dailyFullWithLogs(60));
    for (const vm of ['sqlvm1', 'sqlvm2'])
      vms.push(await registeredSqlVm(server, backup, token, vaultArmId, agNodeSpec(vm, 'sqlvm1')));
    await signIn(az, server, principal);
  }, 240_000);
  afterAll(async () => {
    for (const vm of vms) await vm.agent.stop();
    await server?.stop();
    az?.cleanUp();
  });

  it('shows the group as az looks it up, enables auto-protection on it, and its database gets protected once', async () => {
    const item = ['--protectable-item-type', 'SQLAG', '--server-name', 'ag1', '--workload-type', 'MSSQL'];
    const group = await az.ok<{ name: string; properties: { protectableItemType: string; friendlyName: string } }>([
      ...['backup', 'protectable-item', 'show', ...g, '--name', 'ag1'],
      ...item,
    ]);
    expect(group).toMatchObject({
      name: 'SQLAvailabilityGroupContainer;ag1',
      properties: { protectableItemType: 'SQLAvailabilityGroupContainer', friendlyName: 'ag1' },
    });
    const enabled = await az.ok([
      ...['backup', 'protection', 'auto-enable-for-azurewl', ...g, '--policy-name', 'DailyHourly'],
      ...['--protectable-item-name', 'ag1', ...item],
    ]);
    expect(enabled).toEqual({ status: true });
    const items = await until(
      'the group database protected',
      async () => {
        const list = await az.ok<{ name: string; properties: { friendlyName: string; policyName: string } }[]>([
          ...['backup', 'item', 'list', ...g, '--backup-management-type', 'AzureWorkload', '--workload-type', 'MSSQL'],
        ]);
        return list.some((i) => i.properties.friendlyName === 'sales') && list;
      },
      60_000,
    );
    expect(items.filter((i) => i.properties.friendlyName === 'sales')).toEqual([
      expect.objectContaining({
        name: 'SQLDataBase;ag1;sales',
        properties: expect.objectContaining({ policyName: 'DailyHourly' }),
      }),
    ]);
  }, 240_000);
});
