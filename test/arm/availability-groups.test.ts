import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failover, parseVmSpec } from '../../src/agent/simulation/spec.ts';
import { agNodeSpec } from '../support/availability-groups.ts';
import { clockDeployment, type ClockDeployment } from '../support/own-database.ts';
import { dailyFullWithLogs } from '../support/policies.ts';
import { tomorrowFrom } from '../support/processes.ts';
import { rediscover, registeredSqlVm, until, type SqlVm } from '../support/vm.ts';
import { restoreAsNewDatabase } from '../support/restores.ts';
import { backupNow, errorTitle, protectDatabase } from '../support/protection.ts';

const poll = { updateIntervalInMs: 50 };
const vault = 'ag-vault';
const ITEM = 'SQLDataBase;ag1;sales';
type Props = Record<string, unknown>;

/**
 * Always On availability groups through the official SDK, with two reference agents as the group's two nodes:
 * discovery lists the group and its database once; the Full runs on the primary and the logs on the secondary
 * ("Secondary only"); a failover moves them and keeps one log chain; a point-in-time restore across the failover is
 * byte-exact.
 */
describe('availability groups', () => {
  let d: ClockDeployment;
  let vaultArmId: string;
  let vm1: SqlVm;
  let vm2: SqlVm;
  let agContainer: string;
  let rangeStart: Date;
  const specs = {
    sqlvm1: parseVmSpec(agNodeSpec('sqlvm1', 'sqlvm1')),
    sqlvm2: parseVmSpec(agNodeSpec('sqlvm2', 'sqlvm1')),
  };
  /** The backups each node took of `sales` (its simulated SQL Server's history of vault backups). */
  const lastBackupOn = (vm: SqlVm, type: 'Full' | 'Log') =>
    vm.agent.simulatedState!.state.databases.find((db) => db.name === 'sales')?.lastBackups[type];
  const hashAt = (t: Date) => {
    const store = vm1.agent.simulatedState!;
    return store.database(store.state.databases.find((db) => db.name === 'sales')!).contentHashAt(t);
  };
  const protectableItems = async (filter: string) => {
    const items = [];
    for await (const item of d.backup.backupProtectableItems.list(vault, 'rg', { filter })) items.push(item);
    return items;
  };
  beforeAll(async () => {
    // Discovery cycles every second: only VMs under auto-protection take part (the last test's).
    d = await clockDeployment('availability-groups', { RV_DISCOVERY_INTERVAL_SECONDS: '1' });
    vaultArmId =
      (await d.vaults.vaults.createOrUpdate('rg', vault, { location: 'westeurope', sku: { name: 'Standard' } }, poll))
        .id ?? '';
    await d.backup.protectionPolicies.createOrUpdate(vault, 'rg', 'DailyHourly', dailyFullWithLogs(60));
    await d.clock({ to: tomorrowFrom(21, 59).start.toISOString() });
    vm1 = await registeredSqlVm(d.server, d.backup, d.token, vaultArmId, agNodeSpec('sqlvm1', 'sqlvm1'));
    vm2 = await registeredSqlVm(d.server, d.backup, d.token, vaultArmId, agNodeSpec('sqlvm2', 'sqlvm1'));
  }, 120_000);
  afterAll(async () => {
    await vm1?.agent.stop();
    await vm2?.agent.stop();
    await d?.stop();
  });

  it('discovers the group as a SQLAvailabilityGroupContainer with both nodes, and its database once', async () => {
    const [group, ...more] = await protectableItems("protectableItemType eq 'SQLAvailabilityGroupContainer'");
    expect(more).toHaveLength(0);
    const props = group!.properties as unknown as Props;
    agContainer = group!.id!.split('/protectionContainers/')[1]!.split('/')[0]!;
    expect(agContainer).toBe(`SQLAGWorkLoadContainer;${specs.sqlvm1.availabilityGroups[0]!.groupId}`);
    expect(group!.name).toBe('SQLAvailabilityGroupContainer;ag1');
    expect(props).toMatchObject({
      protectableItemType: 'SQLAvailabilityGroupContainer',
      friendlyName: 'ag1',
      serverName: 'ag1',
      isProtectable: true,
      subinquireditemcount: 1,
    });
    expect(props.nodesList).toEqual([
      { nodeName: 'sqlvm1', status: 'Succeeded', sourceResourceId: expect.stringMatching(/virtualMachines\/sqlvm1$/) },
      { nodeName: 'sqlvm2', status: 'Succeeded', sourceResourceId: expect.stringMatching(/virtualMachines\/sqlvm2$/) },
    ]);
    const databases = (await protectableItems("protectableItemType eq 'SQLDataBase'")).filter(
      (i) =>
        (i.properties as unknown as Props).friendlyName === 'sales' ||
        (i.properties as unknown as Props).friendlyName === 'local',
    );
    const sales = databases.filter((i) => (i.properties as unknown as Props).friendlyName === 'sales');
    expect(sales.map((i) => i.name)).toEqual([ITEM]);
    expect(sales[0]!.properties).toMatchObject({ parentName: 'ag1', serverName: 'ag1', isProtectable: true });
    expect(sales[0]!.id).toContain(`/protectionContainers/${agContainer}/protectableItems/${ITEM}`);
    // A standalone database stays with its node: one per VM.
    expect(databases.filter((i) => (i.properties as unknown as Props).friendlyName === 'local')).toHaveLength(2);
    // The instances are still listed as instances, not as groups.
    const instances = await protectableItems("protectableItemType eq 'SQLInstance'");
    expect(instances.map((i) => (i.properties as unknown as Props).protectableItemType)).toEqual([
      'SQLInstance',
      'SQLInstance',
    ]);
    const container = await d.backup.protectionContainers.get(vault, 'rg', 'Azure', agContainer);
    expect(container.properties).toMatchObject({ containerType: 'SQLAGWorkLoadContainer', friendlyName: 'ag1' });
  });

  it('protects the AG database once; Full on the primary, logs on the secondary; a failover keeps one chain', async () => {
    await protectDatabase(d.backup, vaultArmId, agContainer, ITEM, 'DailyHourly');
    await until('the configuration', async () => {
      for await (const job of d.backup.backupJobs.list(vault, 'rg', { filter: "operation eq 'ConfigureBackup'" }))
        if (job.properties?.status === 'Completed') return true;
      return false;
    });
    // 22:00 the daily Full, then hourly logs at 23:00 and 00:00.
    const first = await d.clock({ advanceSeconds: 2 * 3600 + 120 });
    expect(first.backupsStarted).toBe(3);
    expect(lastBackupOn(vm1, 'Full')).toBeDefined();
    expect(lastBackupOn(vm2, 'Full')).toBeUndefined();
    expect(lastBackupOn(vm2, 'Log')).toBeDefined();
    expect(lastBackupOn(vm1, 'Log')).toBeUndefined();
    const logBeforeFailover = lastBackupOn(vm2, 'Log')!;

    // Failover to sqlvm2: both nodes' SQL Servers now see sqlvm2 as primary; the next discovery tells the vault.
    vm1.setSpec(agNodeSpec('sqlvm1', 'sqlvm2'));
    vm2.setSpec(agNodeSpec('sqlvm2', 'sqlvm2'));
    expect(failover(specs.sqlvm1, 'ag1', 'sqlvm2').availabilityGroups[0]!.replicas[1]!.role).toBe('Primary');
    await rediscover(d.backup, vault, vm2.containerName);
    const second = await d.clock({ advanceSeconds: 3600 });
    expect(second.backupsStarted).toBe(1);
    const logAfterFailover = lastBackupOn(vm1, 'Log')!;
    expect(logAfterFailover).toBeDefined();
    // One chain: the log taken on sqlvm1 starts where the one taken on sqlvm2 ended.
    expect(logAfterFailover.firstLsn).toBe(logBeforeFailover.lastLsn);

    const points = [];
    for await (const p of d.backup.recoveryPoints.list(vault, 'rg', 'Azure', agContainer, ITEM)) points.push(p);
    const range = points.find((p) => p.name === 'DefaultRangeRecoveryPoint');
    const ranges = (range?.properties as { timeRanges?: { startTime: Date; endTime: Date }[] }).timeRanges ?? [];
    expect(ranges).toHaveLength(1);
    rangeStart = ranges[0]!.startTime;

    // A second inside the log taken after the failover: restored from the Full (sqlvm1) + logs of both nodes.
    const t = new Date(Math.floor((Date.parse(logAfterFailover.startTime) + 600_000) / 1000) * 1000);
    await restoreAsNewDatabase(
      d.backup,
      vault,
      { containerName: agContainer, itemName: ITEM },
      { pointInTime: t },
      {
        containerId: `${vaultArmId}/backupFabrics/Azure/protectionContainers/${vm1.containerName}`,
        databaseName: 'MSSQLSERVER/sales_restored',
      },
    );
    const restored = vm1.agent.simulatedState!.state.databases.find((db) => db.name === 'sales_restored');
    expect(restored?.restoredFrom?.pointInTime).toBe(t.toISOString());
    expect(restored?.restoredFrom?.sha256).toBe(hashAt(t));
  }, 120_000);

  it('refuses to restore into the group itself, as Azure does', async () => {
    const attempt = d.backup.restores.beginTriggerAndWait(
      vault,
      'rg',
      'Azure',
      agContainer,
      ITEM,
      'DefaultRangeRecoveryPoint',
      {
        properties: {
          objectType: 'AzureWorkloadSQLPointInTimeRestoreRequest',
          recoveryType: 'OriginalLocation',
          pointInTime: new Date(rangeStart.getTime() + 60_000),
        } as never,
      },
      poll,
    );
    await expect(attempt).rejects.toThrow(/cannot restore into availability group 'ag1'/);
  });

  it('fails the group over with the emulator control: the Full goes to the new primary and the log chain goes on', async () => {
    const control = async (body: object) => {
      const response = await fetch(`${d.server.httpsUrl}/emulator/v1/failovers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const containerId = `${vaultArmId}/backupFabrics/Azure/protectionContainers/${agContainer}`;
    const vmContainerId = `${vaultArmId}/backupFabrics/Azure/protectionContainers/${vm1.containerName}`;
    // Bad input changes nothing: a replica the group does not have, a VM's container, an unknown field.
    for (const [body, code] of [
      [{ containerId, primary: 'sqlvm9' }, 'BMSUserErrorInvalidInput'],
      [{ containerId: vmContainerId, primary: 'sqlvm1' }, 'BMSUserErrorInvalidInput'],
      [{ containerId, primary: 'sqlvm1', force: true }, 'InvalidRequestContent'],
    ] as const)
      expect(await control(body), JSON.stringify(body)).toMatchObject({ status: 400, body: { error: { code } } });
    expect(vm1.agent.simulatedState!.state.failovers ?? []).toEqual([]);

    // sqlvm2 is primary (the spec files say so); the control fails over back to sqlvm1 without touching them.
    const logBefore = lastBackupOn(vm1, 'Log')!;
    const fullBefore = lastBackupOn(vm1, 'Full')!;
    const answer = await control({ containerId, primary: 'SQLVM1' });
    expect(answer).toMatchObject({
      status: 200,
      body: {
        availabilityGroup: 'ag1',
        primary: 'sqlvm1',
        nodes: [
          { nodeName: 'sqlvm1', role: 'Primary', status: 'Succeeded' },
          { nodeName: 'sqlvm2', role: 'Secondary', status: 'Succeeded' },
        ],
      },
    });
    const [group] = await protectableItems("protectableItemType eq 'SQLAvailabilityGroupContainer'");
    expect((group!.properties as unknown as Props).nodesList).toHaveLength(2);

    // On demand Full (SDK): on the new primary, not on sqlvm2.
    await d.backup.backups.trigger(vault, 'rg', 'Azure', agContainer, ITEM, {
      properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Full' } as never,
    });
    await until('the on-demand Full', async () => {
      for await (const job of d.backup.backupJobs.list(vault, 'rg', { filter: "operation eq 'Backup'" }))
        if (job.properties?.status === 'InProgress') return false;
      return lastBackupOn(vm1, 'Full')?.endTime !== fullBefore.endTime;
    });
    expect(lastBackupOn(vm2, 'Full')).toBeUndefined();
    // The jobs name the group, not the node that ran the backup (the scheduled Full too).
    const entities = new Set<string>();
    for await (const job of d.backup.backupJobs.list(vault, 'rg', { filter: "operation eq 'Backup'" }))
      entities.add(job.properties?.entityFriendlyName ?? '');
    expect([...entities]).toEqual(['sales [ag1]']);

    // The next log runs on the secondary, sqlvm2, and starts where the last one (taken on sqlvm1) ended.
    const logBeforeOnVm2 = lastBackupOn(vm2, 'Log')!;
    expect((await d.clock({ advanceSeconds: 3600 })).backupsStarted).toBe(1);
    const logAfter = lastBackupOn(vm2, 'Log')!;
    expect(logAfter.endTime).not.toBe(logBeforeOnVm2.endTime);
    expect(logAfter.firstLsn).toBe(logBefore.lastLsn);
    expect(lastBackupOn(vm1, 'Log')!.endTime).toBe(logBefore.endTime);
  }, 120_000);

  it('auto-protects the group: its databases now, and a database added to the group at the next discovery', async () => {
    const groupItem = `${vaultArmId}/backupFabrics/Azure/protectionContainers/${agContainer}/protectableItems/SQLAvailabilityGroupContainer;ag1`;
    const policyId = `${vaultArmId}/backupPolicies/DailyHourly`;
    const intent = await d.backup.protectionIntentOperations.createOrUpdate(vault, 'rg', 'Azure', 'ag1-auto', {
      properties: {
        protectionIntentItemType: 'RecoveryServiceVaultItem',
        backupManagementType: 'AzureWorkload',
        itemId: groupItem,
        policyId,
      } as never,
    });
    expect(intent.properties).toMatchObject({
      protectionIntentItemType: 'AzureWorkloadSQLAutoProtectionIntent',
      workloadItemType: 'SQLAvailabilityGroupContainer',
      itemId: groupItem,
      policyId,
    });
    const intents = async (filter: string) => {
      const names = [];
      for await (const i of d.backup.backupProtectionIntent.list(vault, 'rg', { filter })) names.push(i.name);
      return names;
    };
    expect(await intents("itemType eq 'SQLAvailabilityGroupContainer' and itemName eq 'ag1'")).toEqual(['ag1-auto']);
    expect(await intents("itemType eq 'SQLInstance'")).toEqual([]);
    const [group] = await protectableItems("protectableItemType eq 'SQLAvailabilityGroupContainer'");
    expect(group!.properties).toMatchObject({ isAutoProtectable: true, isAutoProtected: true });

    // The DBA adds `orders` to the group on both replicas; the discovery cycle asks the nodes, and it gets protected
    // once, in the group's container, with the configuration sent to both nodes.
    const withOrders = (vmName: string) => {
      const spec = agNodeSpec(vmName, 'sqlvm2');
      spec.instances[0]!.databases.push({ name: 'orders', sizeMiB: 1 });
      spec.availabilityGroups[0]!.databases.push('orders');
      return spec;
    };
    vm1.setSpec(withOrders('sqlvm1'));
    vm2.setSpec(withOrders('sqlvm2'));
    const orders = await until(
      'orders auto-protected',
      async () => {
        for await (const item of d.backup.backupProtectedItems.list(vault, 'rg', {
          filter: "backupManagementType eq 'AzureWorkload' and itemType eq 'SQLDataBase'",
        }))
          if (item.name === 'SQLDataBase;ag1;orders') return item;
        return undefined;
      },
      30_000,
    );
    expect(orders.id).toContain(`/protectionContainers/${agContainer}/protectedItems/`);
    expect(orders.properties).toMatchObject({ policyName: 'DailyHourly', serverName: 'ag1' });
    // The item exists before its configuration goes out, node after node.
    const configuredOn = async () =>
      (
        await d.server.app.db.agentCommand.findMany({
          where: { type: 'configure', payload: { path: ['itemName'], equals: 'SQLDataBase;ag1;orders' } },
          include: { container: true },
        })
      )
        .map((c) => c.container.friendlyName)
        .sort();
    await until('the configuration sent to both nodes', async () => (await configuredOn()).length === 2);
    expect(await configuredOn()).toEqual(['sqlvm1', 'sqlvm2']);
    // One ConfigureBackup job, though both nodes' inventories report the group's new database.
    await d.clock({ advanceSeconds: 60 });
    const jobs = [];
    for await (const job of d.backup.backupJobs.list(vault, 'rg', { filter: "operation eq 'ConfigureBackup'" }))
      if (job.properties?.entityFriendlyName === 'ag1 [ag1]') jobs.push(job.properties.status);
    expect(jobs).toEqual(['Completed']);
  }, 60_000);

  it("refuses to unregister a replica; a protected database moved into the group, or out of it, fails its old item's backups with Azure's codes", async () => {
    // A replica of a group with protected databases cannot be unregistered, though it has none of its own.
    await expect(
      d.backup.protectionContainers.unregister(vault, 'rg', 'Azure', vm2.containerName),
    ).rejects.toMatchObject({
      statusCode: 400,
      code: 'BMSUserErrorContainerHasDatasources',
      message: expect.stringMatching(/availability group 'ag1'.*Remove the VM from the group first/),
    });
    // `local` is protected on its own on sqlvm1, and backs up.
    const standalone = 'SQLDataBase;MSSQLSERVER;local';
    await protectDatabase(d.backup, vaultArmId, vm1.containerName, standalone, 'DailyHourly');
    const before = await backupNow(d.backup, vaultArmId, vm1.containerName, standalone, 'Full');
    expect(before.properties?.status).toBe('Completed');
    // The DBA moves `local` into ag1 and `sales` out of it, on both replicas.
    const regrouped = (vmName: string) => {
      const spec = agNodeSpec(vmName, 'sqlvm2');
      spec.instances[0]!.databases.push({ name: 'orders', sizeMiB: 1 });
      spec.availabilityGroups[0]!.databases = ['orders', 'local'];
      return spec;
    };
    vm1.setSpec(regrouped('sqlvm1'));
    vm2.setSpec(regrouped('sqlvm2'));
    const movedIn = await backupNow(d.backup, vaultArmId, vm1.containerName, standalone, 'Full');
    expect(movedIn.properties?.status).toBe('Failed');
    expect(errorTitle(movedIn)).toBe('UserErrorBackupFailedStandaloneDatabaseMovedInToAG');
    const movedOut = await backupNow(d.backup, vaultArmId, agContainer, ITEM, 'Full');
    expect(movedOut.properties?.status).toBe('Failed');
    expect(errorTitle(movedOut)).toBe('UserErrorBackupFailedDatabaseMovedOutOfAG');
    // The database itself backs up under its new name: `sales` on its instance again.
    const salesAlone = 'SQLDataBase;MSSQLSERVER;sales';
    await until('sales discovered on its instance', async () => {
      for await (const item of d.backup.backupProtectableItems.list(vault, 'rg', {
        filter: "protectableItemType eq 'SQLDataBase'",
      }))
        if (item.name === salesAlone && item.id?.includes(`/protectionContainers/${vm2.containerName}/`)) return true;
      return undefined;
    });
    await protectDatabase(d.backup, vaultArmId, vm2.containerName, salesAlone, 'DailyHourly');
    const afresh = await backupNow(d.backup, vaultArmId, vm2.containerName, salesAlone, 'Full');
    expect(afresh.properties?.status).toBe('Completed');
  }, 90_000);
});
