import { describe, expect, it } from 'vitest';
import { azureModels, checkExchange, type Exchange } from './support/azure-model/traffic.ts';

const VAULT = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v';
const ITEM = `${VAULT}/backupFabrics/Azure/protectionContainers/VMAppContainer;compute;rg;vm/protectedItems/SQLDataBase;MSSQLSERVER;sales`;

const exchange = (
  client: Exchange['client'],
  method: string,
  path: string,
  status: number,
  body: object,
): Exchange => ({
  client,
  method,
  url: `https://localhost:8443${path}?api-version=2023-04-01`,
  status,
  body: JSON.stringify(body),
});

const protectedItem = (properties: object) => ({
  id: ITEM,
  name: 'SQLDataBase;MSSQLSERVER;sales',
  type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems',
  properties: {
    protectedItemType: 'AzureVmWorkloadSQLDatabase',
    friendlyName: 'sales',
    protectionState: 'Protected',
    extendedInfo: { recoveryPointCount: 2, policyState: 'Consistent' },
    ...properties,
  },
});

/** The checker itself: what it must catch in a body, against the SDKs' own model (the suite runs it after each file). */
describe('the Azure model check', () => {
  const check = async (e: Exchange) => {
    const models = await azureModels();
    return checkExchange(models[e.client], e);
  };

  it('accepts a protected item that keeps to AzureVmWorkloadSQLDatabaseProtectedItem', async () => {
    const result = await check(exchange('backup', 'GET', ITEM, 200, protectedItem({})));
    expect(result.operation).toBe('protectedItems.get');
    expect(result.problems).toEqual([]);
  });

  it('finds a property the resolved class lacks, also inside nested models', async () => {
    const body = protectedItem({ madeUp: 1, extendedInfo: { recoveryPointCount: 2, invented: true } });
    const { problems } = await check(exchange('backup', 'GET', ITEM, 200, body));
    expect(problems.map((p) => [p.kind, p.at.split(' ').at(-1)])).toEqual([
      ['unknown property', 'ProtectedItemResource.properties.extendedInfo.invented'],
      ['unknown property', 'ProtectedItemResource.properties.madeUp'],
    ]);
  });

  it('finds a type mismatch, an unknown discriminator value and a missing required property', async () => {
    const mismatch = await check(
      exchange('backup', 'GET', ITEM, 200, protectedItem({ extendedInfo: { recoveryPointCount: '2' } })),
    );
    expect(mismatch.problems.map((p) => p.kind)).toEqual(['type mismatch']);
    const unknown = await check(exchange('backup', 'GET', ITEM, 200, protectedItem({ protectedItemType: 'SqlInVm' })));
    expect(unknown.problems.map((p) => p.kind)).toEqual(['unknown discriminator value']);
    const { protectedItemType: _, ...withoutType } = protectedItem({}).properties;
    const missing = await check(exchange('backup', 'GET', ITEM, 200, { properties: withoutType }));
    // Without its discriminator only the base class's properties are known: the subclass's are flagged too.
    expect(missing.problems.map((p) => [p.kind, p.at.split(' ').at(-1)])).toContainEqual([
      'missing required property',
      'ProtectedItemResource.properties.protectedItemType',
    ]);
  });

  it("reads the vaults package's declared models: a vault needs its location, and its properties are closed", async () => {
    const vault = {
      id: VAULT,
      name: 'v',
      type: 'Microsoft.RecoveryServices/vaults',
      properties: { provisioningState: 'Succeeded' },
    };
    expect((await check(exchange('vaults', 'GET', VAULT, 200, { ...vault, location: 'westeurope' }))).problems).toEqual(
      [],
    );
    const { operation, problems } = await check(
      exchange('vaults', 'GET', VAULT, 200, { ...vault, properties: { x: 1 } }),
    );
    expect(operation).toBe('vaults.get');
    expect(problems.map((p) => [p.kind, p.at.split(' ').at(-1)])).toEqual([
      ['unknown property', 'Vault.properties.x'],
      ['missing required property', 'Vault.location'],
    ]);
  });

  it('checks error bodies against the operation’s error model and flags answers the SDK has no model for', async () => {
    const error = await check(
      exchange('backup', 'GET', ITEM, 404, { error: { code: 'NotFound', message: 'm', extra: 1 } }),
    );
    expect(error.problems.map((p) => p.at.split(' ').at(-1))).toEqual(['CloudError.error.extra']);
    const body = await check(exchange('backup', 'DELETE', ITEM, 202, { unexpected: true }));
    expect(body.problems.map((p) => p.kind)).toEqual(['unmodelled response']);
  });
});
