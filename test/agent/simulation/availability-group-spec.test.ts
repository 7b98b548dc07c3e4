import { describe, expect, it } from 'vitest';
import { vmInventory } from '../../../src/agent/inventory.ts';
import { failover, parseVmSpec, SpecError, withFailovers } from '../../../src/agent/simulation/index.ts';
import type { SimulatedDatabase } from '../../../src/agent/simulation/database.ts';
import { agNodeSpec } from '../../support/availability-groups.ts';
import { AgentStateStore, syncWithSpec } from '../../../src/agent/simulation/state.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function specError(json: unknown): string {
  try {
    parseVmSpec(json);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
  throw new Error('expected a SpecError');
}

describe('availability groups in the VM spec', () => {
  it('parses a group, marks its databases and gives them the same history on every replica', () => {
    const one = parseVmSpec(agNodeSpec('sqlvm1', 'sqlvm1'));
    const two = parseVmSpec(agNodeSpec('sqlvm2', 'sqlvm1'));
    const [group] = one.availabilityGroups;
    expect(group).toMatchObject({ name: 'ag1', backupPreference: 'SecondaryOnly', basic: false, databases: ['sales'] });
    expect(group!.groupId).toMatch(/^[0-9a-f-]{36}$/);
    expect(two.availabilityGroups[0]!.groupId).toBe(group!.groupId);
    const [sales1, local1] = one.instances[0]!.databases;
    const sales2 = two.instances[0]!.databases[0]!;
    expect(sales1!.availabilityGroup).toBe('ag1');
    expect(local1!.availabilityGroup).toBeUndefined();
    expect(sales1!.seed).toBe('ag/ag1/sales');
    expect(sales1!.seed).toBe(sales2.seed);
    expect(sales1!.createdAt).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(local1!.seed).toBe('sqlvm1/MSSQLSERVER/local');
  });

  it('both replicas simulate one database: same GUID, same pages, same LSNs', async () => {
    const models = [];
    const stores = [];
    for (const vm of ['sqlvm1', 'sqlvm2']) {
      const store = await AgentStateStore.open(mkdtempSync(join(tmpdir(), 'rv-ag-')));
      // The replicas join the group at different moments: the database's history does not depend on it.
      await store.update((draft) => syncWithSpec(draft, parseVmSpec(agNodeSpec(vm, 'sqlvm1')), new Date()));
      const record = store.state.databases.find((d) => d.name === 'sales')!;
      models.push(record.model);
      stores.push(store.database(record));
    }
    expect(models[0]).toEqual(models[1]);
    const [a, b] = stores as [SimulatedDatabase, SimulatedDatabase];
    expect(a.lsnAt('2026-01-01T01:00:00Z')).toBe(b.lsnAt('2026-01-01T01:00:00Z'));
    expect(a.lsnAt('2026-01-01T01:00:00Z')).toBeGreaterThan(a.lsnAt('2026-01-01T00:00:00Z'));
  });

  it('refuses groups that cannot exist', () => {
    const base = agNodeSpec('sqlvm1', 'sqlvm1');
    const edit = (change: (g: Record<string, unknown>) => void) => {
      const s = structuredClone(base);
      change(s.availabilityGroups[0] as Record<string, unknown>);
      return s;
    };
    expect(specError(edit((g) => (g.replicas = [{ vmName: 'sqlvm1', role: 'Secondary' }])))).toMatch(
      /exactly one Primary/,
    );
    expect(specError(edit((g) => (g.replicas = [{ vmName: 'sqlvm3', role: 'Primary' }])))).toMatch(
      /does not list this VM/,
    );
    expect(specError(edit((g) => (g.databases = ['nope'])))).toMatch(/has no database 'nope'/);
    expect(specError(edit((g) => (g.backupPreference = 'Tertiary')))).toMatch(/backupPreference: expected one of/);
    expect(specError(edit((g) => delete g.createdAt))).toMatch(/createdAt: is required/);
    expect(specError(edit((g) => (g.priority = 50)))).toMatch(/priority: unknown field/);
    const basic3 = edit((g) => {
      g.basic = true;
      g.replicas = ['sqlvm1', 'sqlvm2', 'sqlvm3'].map((vm, i) => ({ vmName: vm, role: i ? 'Secondary' : 'Primary' }));
    });
    expect(specError(basic3)).toMatch(/Basic group has two replicas/);
  });

  it('a failover moves the Primary role, nothing else', () => {
    const spec = parseVmSpec(agNodeSpec('sqlvm1', 'sqlvm1'));
    const after = failover(spec, 'AG1', 'sqlvm2');
    expect(after.availabilityGroups[0]!.replicas).toEqual([
      { vmName: 'sqlvm1', instance: 'MSSQLSERVER', role: 'Secondary' },
      { vmName: 'sqlvm2', instance: 'MSSQLSERVER', role: 'Primary' },
    ]);
    expect(after.instances).toBe(spec.instances);
    expect(() => failover(spec, 'ag1', 'sqlvm9')).toThrow(/no replica on 'sqlvm9'/);
    expect(() => failover(spec, 'ag9', 'sqlvm2')).toThrow(/no group 'ag9'/);
  });

  it('a failover the agent was told of holds over the spec until the spec names another primary', () => {
    const spec = parseVmSpec(agNodeSpec('sqlvm1', 'sqlvm1'));
    const told = [{ group: 'ag1', primary: 'sqlvm2', specPrimary: 'sqlvm1' }];
    const roles = (s: typeof spec) => s.availabilityGroups[0]!.replicas.map((r) => r.role);
    expect(roles(withFailovers(spec, told))).toEqual(['Secondary', 'Primary']);
    // The spec file was edited since (it fails over on its own): the spec is the later event and wins.
    const edited = parseVmSpec(agNodeSpec('sqlvm1', 'sqlvm2'));
    expect(roles(withFailovers(edited, [{ ...told[0]!, primary: 'sqlvm1' }]))).toEqual(['Secondary', 'Primary']);
    // A group gone from the spec, or a replica gone from the group: nothing to apply.
    expect(withFailovers(spec, [{ group: 'ag9', primary: 'sqlvm2', specPrimary: 'sqlvm1' }])).toBe(spec);
    expect(roles(withFailovers(spec, [{ group: 'ag1', primary: 'sqlvm9', specPrimary: 'sqlvm1' }]))).toEqual([
      'Primary',
      'Secondary',
    ]);
  });

  it('the inventory reports the group with the instance that hosts the local replica', () => {
    const [instance] = vmInventory(parseVmSpec(agNodeSpec('sqlvm2', 'sqlvm1')));
    expect(instance!.availabilityGroups).toEqual([
      {
        name: 'ag1',
        groupId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        backupPreference: 'SecondaryOnly',
        isBasic: false,
        replicas: [
          { serverName: 'sqlvm1', instanceName: 'MSSQLSERVER', role: 'Primary' },
          { serverName: 'sqlvm2', instanceName: 'MSSQLSERVER', role: 'Secondary' },
        ],
        databases: ['sales'],
      },
    ]);
    expect(instance!.databases.map((d) => d.name)).toContain('sales');
  });
});
