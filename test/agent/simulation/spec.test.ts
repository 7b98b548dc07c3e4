import { describe, expect, it } from 'vitest';
import { parseVmSpec, SpecError, type VmSpec } from '../../../src/agent/simulation/index.ts';

const example = {
  vmName: 'sqlvm1',
  resourceGroup: 'sql-rg',
  os: 'WindowsServer2019',
  instances: [
    {
      name: 'MSSQLSERVER',
      version: '2019',
      edition: 'Enterprise',
      pluginIsSysadmin: true,
      databases: [{ name: 'sales', recoveryModel: 'FULL', sizeMiB: 64, files: 2, writesPerMinute: 600 }],
    },
  ],
};

function specError(json: unknown): SpecError {
  try {
    parseVmSpec(json);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return e as SpecError;
  }
  throw new Error('expected a SpecError');
}

/** A deep copy of the example with `edit` applied. */
function variant(edit: (s: typeof example & Record<string, unknown>) => void): unknown {
  const s = structuredClone(example) as typeof example & Record<string, unknown>;
  edit(s);
  return s;
}

describe('parseVmSpec', () => {
  it("accepts issue 3's example and fills in defaults", () => {
    const spec: VmSpec = parseVmSpec(example);
    const db = spec.instances[0]!.databases[0]!;
    expect(spec.vmName).toBe('sqlvm1');
    expect(spec.instances[0]).toMatchObject({ isFailoverClusterInstance: false, pluginIsSysadmin: true });
    expect(db).toMatchObject({
      name: 'sales',
      recoveryModel: 'FULL',
      sizeMiB: 64,
      files: 2,
      writesPerMinute: 600,
      seed: 'sqlvm1/MSSQLSERVER/sales',
      readOnly: false,
      state: 'ONLINE',
      isSnapshot: false,
      isMirror: false,
    });
    expect(db.marker).toBeUndefined();
    expect(db.createdAt).toBeUndefined();
    expect(db.dataDirectory).toBe('C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\DATA');
    expect(db.filePaths).toEqual([
      { logicalName: 'sales', type: 'Data', path: `${db.dataDirectory}\\sales.mdf` },
      { logicalName: 'sales_log', type: 'Log', path: `${db.dataDirectory}\\sales_log.ldf` },
    ]);
  });

  it('minimal spec: defaults for everything optional', () => {
    const spec = parseVmSpec({
      vmName: 'v',
      resourceGroup: 'rg',
      instances: [{ name: 'I', databases: [{ name: 'd' }] }],
    });
    expect(spec.os).toBe('WindowsServer2019');
    expect(spec.instances[0]).toMatchObject({
      version: '2019',
      edition: 'Enterprise',
      pluginIsSysadmin: true,
      systemLogin: true,
      systemIsSysadmin: false,
    });
    expect(spec.instances[0]!.databases[0]).toMatchObject({
      recoveryModel: 'FULL',
      sizeMiB: 16,
      files: 2,
      writesPerMinute: 60,
    });
  });

  it('optional fields later issues need', () => {
    const spec = parseVmSpec(
      variant((s) => {
        Object.assign(s.instances[0]!, {
          isFailoverClusterInstance: true,
          version: 2022,
          dataDirectory: 'F:\\data',
          logDirectory: 'G:\\log',
        });
        Object.assign(s.instances[0]!.databases[0]!, {
          seed: 'custom',
          readOnly: true,
          writesPerMinute: 0,
          state: 'OFFLINE',
          isSnapshot: true,
          isMirror: true,
          marker: 'PLAINTEXT-MARKER',
          createdAt: '2024-03-01T12:00:00Z',
          files: 4,
        });
      }),
    );
    const i = spec.instances[0]!;
    const db = i.databases[0]!;
    expect(i).toMatchObject({ isFailoverClusterInstance: true, version: '2022' });
    expect(db).toMatchObject({
      seed: 'custom',
      readOnly: true,
      state: 'OFFLINE',
      isSnapshot: true,
      isMirror: true,
      marker: 'PLAINTEXT-MARKER',
    });
    expect(db.createdAt?.toISOString()).toBe('2024-03-01T12:00:00.000Z');
    expect(db.filePaths.map((f) => f.path)).toEqual([
      'F:\\data\\sales.mdf',
      'F:\\data\\sales_1.ndf',
      'F:\\data\\sales_2.ndf',
      'G:\\log\\sales_log.ldf',
    ]);
  });

  it('explicit filePaths set the file count', () => {
    const spec = parseVmSpec(
      variant((s) => {
        const db = s.instances[0]!.databases[0]! as Record<string, unknown>;
        delete db.files;
        db.filePaths = [
          { logicalName: 'a', type: 'Data', path: `F:\\${'x'.repeat(300)}\\a.mdf` },
          { logicalName: 'b', type: 'Log', path: 'G:\\b.ldf' },
        ];
      }),
    );
    expect(spec.instances[0]!.databases[0]!.files).toBe(2);
  });

  it("does not apply Azure's protectability rules: discovery must be able to report them", () => {
    const spec = parseVmSpec({
      vmName: 'linuxvm',
      resourceGroup: 'rg',
      os: 'Ubuntu2204',
      instances: [
        {
          name: 'MSSQLSERVER',
          version: '2005',
          pluginIsSysadmin: false,
          databases: [
            { name: 'bad!' },
            { name: ' lead' },
            { name: 'Sales' },
            { name: 'sales' },
            { name: "quote'" },
            { name: 'many', files: 1001 },
          ],
        },
      ],
    });
    expect(spec.instances[0]!.databases.map((d) => d.name)).toEqual([
      'bad!',
      ' lead',
      'Sales',
      'sales',
      "quote'",
      'many',
    ]);
    expect(spec.instances[0]!.databases[5]!.filePaths).toHaveLength(1001);
    expect(spec.instances[0]!.dataDirectory).toBe('/var/opt/mssql/data');
  });

  it.each([
    ['unknown root field', variant((s) => (s.vmname = 'x')), 'vmname: unknown field'],
    [
      'typo in a database field',
      variant((s) => ((s.instances[0]!.databases[0] as Record<string, unknown>).writesPerMinutes = 1)),
      'instances[0].databases[0].writesPerMinutes: unknown field',
    ],
    [
      'bad recovery model',
      variant((s) => (s.instances[0]!.databases[0]!.recoveryModel = 'FUL')),
      'instances[0].databases[0].recoveryModel: expected one of FULL, SIMPLE, BULK_LOGGED',
    ],
    [
      'negative size',
      variant((s) => (s.instances[0]!.databases[0]!.sizeMiB = -1)),
      'instances[0].databases[0].sizeMiB: must be between',
    ],
    [
      'fractional size',
      variant((s) => (s.instances[0]!.databases[0]!.sizeMiB = 1.5)),
      'instances[0].databases[0].sizeMiB: expected an integer',
    ],
    ['missing vmName', variant((s) => delete (s as Record<string, unknown>).vmName), 'vmName: is required'],
    ['missing instances', variant((s) => delete (s as Record<string, unknown>).instances), 'instances: is required'],
    [
      'instances not an array',
      variant((s) => ((s as Record<string, unknown>).instances = {})),
      'instances: expected an array',
    ],
    [
      'database not an object',
      variant((s) => ((s.instances[0]!.databases as unknown[])[0] = 'sales')),
      'instances[0].databases[0]: expected an object',
    ],
    [
      'sysadmin as string',
      variant((s) => ((s.instances[0] as Record<string, unknown>).pluginIsSysadmin = 'yes')),
      'instances[0].pluginIsSysadmin: expected true or false',
    ],
    [
      'SYSTEM sysadmin without its login',
      variant((s) => Object.assign(s.instances[0]!, { systemLogin: false, systemIsSysadmin: true })),
      'instances[0].systemIsSysadmin: needs the login: systemLogin is false',
    ],
    [
      'empty name',
      variant((s) => (s.instances[0]!.databases[0]!.name = '')),
      'instances[0].databases[0].name: must not be empty',
    ],
    [
      'writes on a read-only db',
      variant((s) => Object.assign(s.instances[0]!.databases[0]!, { readOnly: true })),
      'instances[0].databases[0].writesPerMinute: a read-only database cannot have writes',
    ],
    [
      'too fast',
      variant((s) => (s.instances[0]!.databases[0]!.writesPerMinute = 60_001)),
      'instances[0].databases[0].writesPerMinute: must be between 0 and 60000',
    ],
    [
      'one file',
      variant((s) => (s.instances[0]!.databases[0]!.files = 1)),
      'instances[0].databases[0].files: must be between 2',
    ],
    [
      'bad createdAt',
      variant((s) => Object.assign(s.instances[0]!.databases[0]!, { createdAt: 'yesterday' })),
      'instances[0].databases[0].createdAt: expected an ISO 8601',
    ],
    [
      'bad state',
      variant((s) => Object.assign(s.instances[0]!.databases[0]!, { state: 'online' })),
      'instances[0].databases[0].state: expected one of',
    ],
    [
      'duplicate db',
      variant((s) => s.instances[0]!.databases.push({ ...s.instances[0]!.databases[0]! })),
      'instances[0].databases[1].name: duplicate database name',
    ],
    [
      'duplicate instance (case-insensitive)',
      variant((s) => s.instances.push({ ...s.instances[0]!, name: 'mssqlserver' })),
      'instances[1].name: duplicate instance name',
    ],
    [
      'file without type',
      variant((s) =>
        Object.assign(s.instances[0]!.databases[0]!, {
          files: undefined,
          filePaths: [{ logicalName: 'a', path: 'x' }],
        }),
      ),
      'instances[0].databases[0].filePaths[0].type: is required',
    ],
    [
      'files disagree with filePaths',
      variant((s) =>
        Object.assign(s.instances[0]!.databases[0]!, {
          files: 3,
          filePaths: [
            { logicalName: 'a', type: 'Data', path: 'x' },
            { logicalName: 'b', type: 'Log', path: 'y' },
          ],
        }),
      ),
      'instances[0].databases[0].files: is 3 but filePaths lists 2',
    ],
    [
      'marker too long',
      variant((s) => Object.assign(s.instances[0]!.databases[0]!, { marker: 'm'.repeat(2000) })),
      'instances[0].databases[0].marker: must be at most',
    ],
    ['not an object', 'sqlvm1', '(root): expected an object'],
  ])('%s → error naming the path', (_name, json, message) => {
    expect(specError(json).message).toContain(message);
  });
});
