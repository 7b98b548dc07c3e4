import { describe, expect, it } from 'vitest';
import {
  AG_CODES,
  agContainerName,
  backupNode,
  groupProblem,
  protectionPrecondition,
  type BackupPreference,
  type ReplicaNode,
} from '../../src/domain/availability-groups.ts';

const nodes = (primary: boolean, ...secondaries: boolean[]): ReplicaNode[] => [
  { serverName: 'vm1', role: 'Primary', registered: primary },
  ...secondaries.map((registered, i) => ({ serverName: `vm${i + 2}`, role: 'Secondary' as const, registered })),
];
const node = (
  preference: BackupPreference,
  type: 'Full' | 'Differential' | 'Log' | 'CopyOnlyFull',
  r: ReplicaNode[],
) => {
  const answer = backupNode('ag1', preference, type, r);
  return 'serverName' in answer ? answer.serverName : answer.error.code;
};

describe('availability group rules', () => {
  it("Full and Differential run on the primary whatever the preference; Log and Copy-only follow Azure's table", () => {
    const all = nodes(true, true, true);
    const table: [BackupPreference, string][] = [
      ['Primary', 'vm1'],
      ['SecondaryOnly', 'vm2'],
      ['Secondary', 'vm2'],
      ['None', 'vm1'],
    ];
    for (const [preference, logNode] of table) {
      expect(node(preference, 'Full', all)).toBe('vm1');
      expect(node(preference, 'Differential', all)).toBe('vm1');
      expect(node(preference, 'Log', all)).toBe(logNode);
      expect(node(preference, 'CopyOnlyFull', all)).toBe(logNode);
    }
  });

  it("only registered nodes take backups; a preference that cannot be met fails with Azure's code", () => {
    expect(node('SecondaryOnly', 'Log', nodes(true, false, true))).toBe('vm3');
    expect(node('SecondaryOnly', 'Log', nodes(true, false))).toBe(AG_CODES.preferenceNotMet);
    expect(node('Secondary', 'Log', nodes(true, false))).toBe('vm1');
    expect(node('None', 'Log', nodes(false, true))).toBe('vm2');
    expect(node('Primary', 'Full', nodes(false, true))).toBe(AG_CODES.preferenceNotMet);
    expect(node('SecondaryOnly', 'Full', nodes(false, true))).toBe(AG_CODES.preferenceNotMet);
  });

  it('after a failover the roles, not the VMs, decide', () => {
    const failedOver: ReplicaNode[] = [
      { serverName: 'vm1', role: 'Secondary', registered: true },
      { serverName: 'vm2', role: 'Primary', registered: true },
    ];
    expect(node('SecondaryOnly', 'Full', failedOver)).toBe('vm2');
    expect(node('SecondaryOnly', 'Log', failedOver)).toBe('vm1');
  });

  it('protection needs the primary registered, and a secondary too under Secondary only', () => {
    expect(protectionPrecondition('ag1', 'Primary', nodes(true, false))).toBeUndefined();
    expect(protectionPrecondition('ag1', 'SecondaryOnly', nodes(true, true))).toBeUndefined();
    const noSecondary = protectionPrecondition('ag1', 'SecondaryOnly', nodes(true, false));
    expect(noSecondary?.code).toBe('FabricSvcBackupPreferenceCheckFailedUserError');
    expect(noSecondary?.message).toMatch(/'Secondary only'.*'ag1'.*secondary replica/);
    expect(protectionPrecondition('ag1', 'None', nodes(false, true))?.message).toMatch(/the primary replica/);
  });

  it('Basic groups are refused; the container name is the group id', () => {
    expect(groupProblem({ name: 'bag', isBasic: true })?.code).toBe(AG_CODES.basicNotSupported);
    expect(groupProblem({ name: 'ag', isBasic: false })).toBeUndefined();
    expect(agContainerName('0A1B2C3D-0000-4000-8000-000000000000')).toBe(
      'SQLAGWorkLoadContainer;0a1b2c3d-0000-4000-8000-000000000000',
    );
  });
});
