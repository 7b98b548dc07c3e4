import type { RestError } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agNodeSpec } from '../support/availability-groups.ts';
import { clockDeployment, type ClockDeployment } from '../support/own-database.ts';
import { dailyFullWithLogs } from '../support/policies.ts';
import { registeredSqlVm, type SqlVm } from '../support/vm.ts';

const poll = { updateIntervalInMs: 50 };
type Props = Record<string, unknown>;

/** Each node's spec: group ag1 ("Secondary only") and a Basic group `bag`, both with sqlvm1 as primary. */
function nodeSpec(vmName: string) {
  const spec = agNodeSpec(vmName, 'sqlvm1');
  spec.instances[0]!.databases.push({ name: 'basicdb', sizeMiB: 1, writesPerMinute: 0 });
  spec.availabilityGroups.push({
    ...spec.availabilityGroups[0]!,
    name: 'bag',
    basic: true,
    backupPreference: 'Primary',
    databases: ['basicdb'],
  } as never);
  return spec;
}

/**
 * The AG rules Azure documents for nodes that are missing or registered elsewhere, and for Basic groups, through the
 * official SDK: sqlvm1 is registered to vault A, sqlvm2 to vault B.
 */
describe('availability group nodes and Basic groups', () => {
  let d: ClockDeployment;
  const vms: SqlVm[] = [];
  const armIds: Record<string, string> = {};

  const groups = async (vault: string) => {
    const out = new Map<string, { container: string; props: Props }>();
    for await (const item of d.backup.backupProtectableItems.list(vault, 'rg', {
      filter: "protectableItemType eq 'SQLAvailabilityGroupContainer'",
    }))
      out.set((item.properties as unknown as Props).friendlyName as string, {
        container: item.id!.split('/protectionContainers/')[1]!.split('/')[0]!,
        props: item.properties as unknown as Props,
      });
    return out;
  };
  const protect = async (vault: string, container: string, item: string) =>
    d.backup.protectedItems
      .createOrUpdate(vault, 'rg', 'Azure', container, item, {
        properties: {
          protectedItemType: 'AzureVmWorkloadSQLDatabase',
          policyId: `${armIds[vault]}/backupPolicies/DailyHourly`,
        } as never,
      })
      .then(
        () => undefined,
        (e: RestError) => ({ status: e.statusCode, code: e.code, message: e.message }),
      );

  beforeAll(async () => {
    d = await clockDeployment('availability-group-rules');
    for (const [vault, vm] of [
      ['vault-a', 'sqlvm1'],
      ['vault-b', 'sqlvm2'],
    ] as const) {
      armIds[vault] =
        (await d.vaults.vaults.createOrUpdate('rg', vault, { location: 'westeurope', sku: { name: 'Standard' } }, poll))
          .id ?? '';
      await d.backup.protectionPolicies.createOrUpdate(vault, 'rg', 'DailyHourly', dailyFullWithLogs(60));
      vms.push(await registeredSqlVm(d.server, d.backup, d.token, armIds[vault]!, nodeSpec(vm)));
    }
  }, 120_000);
  afterAll(async () => {
    for (const vm of vms) await vm.agent.stop();
    await d?.stop();
  });

  it('each vault sees the group from its own nodes; the other node shows Failed in nodesList', async () => {
    const a = (await groups('vault-a')).get('ag1')!;
    const b = (await groups('vault-b')).get('ag1')!;
    expect(a.container).toBe(b.container);
    expect(a.props.nodesList).toEqual([
      expect.objectContaining({ nodeName: 'sqlvm1', status: 'Succeeded' }),
      expect.objectContaining({
        nodeName: 'sqlvm2',
        status: 'Failed',
        errorDetail: expect.objectContaining({ code: 'UserErrorAGNodeNotRegistered' }),
      }),
    ]);
    expect(b.props.nodesList).toEqual([
      expect.objectContaining({ nodeName: 'sqlvm1', status: 'Failed' }),
      expect.objectContaining({ nodeName: 'sqlvm2', status: 'Succeeded' }),
    ]);
  });

  it("protection fails with FabricSvcBackupPreferenceCheckFailedUserError when the preference's nodes are missing", async () => {
    const { container } = (await groups('vault-a')).get('ag1')!;
    // "Secondary only" with no secondary registered here.
    expect(await protect('vault-a', container, 'SQLDataBase;ag1;sales')).toMatchObject({
      status: 400,
      code: 'FabricSvcBackupPreferenceCheckFailedUserError',
      message: expect.stringMatching(/'Secondary only'.*secondary replica/),
    });
    // Vault B has the secondary but not the primary.
    expect(await protect('vault-b', container, 'SQLDataBase;ag1;sales')).toMatchObject({
      status: 400,
      code: 'FabricSvcBackupPreferenceCheckFailedUserError',
      message: expect.stringMatching(/the primary replica/),
    });
  });

  it("refuses a Basic group's databases with Azure's reason", async () => {
    const basic = (await groups('vault-a')).get('bag')!;
    expect(basic.props).toMatchObject({
      isProtectable: false,
      prebackupvalidation: { status: 'Failed', code: 'UserErrorSQLBasicAvailabilityGroupNotSupported' },
    });
    expect(await protect('vault-a', basic.container, 'SQLDataBase;bag;basicdb')).toMatchObject({
      status: 400,
      code: 'UserErrorSQLBasicAvailabilityGroupNotSupported',
      message: expect.stringMatching(/Basic availability group/),
    });
  });
});
