/** One replica's spec of a two-node group `ag1` (sales in the group, local standalone on the side). */
export function agNodeSpec(vmName: string, primary: string, extra: Record<string, unknown> = {}) {
  return {
    vmName,
    resourceGroup: 'sql-rg',
    os: 'WindowsServer2022',
    instances: [
      {
        name: 'MSSQLSERVER',
        version: '2022',
        databases: [
          { name: 'sales', sizeMiB: 1, writesPerMinute: 120 },
          { name: 'local', sizeMiB: 1 },
        ],
      },
    ],
    availabilityGroups: [
      {
        name: 'ag1',
        backupPreference: 'SecondaryOnly',
        createdAt: '2026-01-01T00:00:00Z',
        replicas: ['sqlvm1', 'sqlvm2'].map((vm) => ({ vmName: vm, role: vm === primary ? 'Primary' : 'Secondary' })),
        databases: ['sales'],
        ...extra,
      },
    ],
  };
}
