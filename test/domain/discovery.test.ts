import { describe, expect, it } from 'vitest';
import {
  databaseNameProblem,
  type DiscoveredDatabase,
  type DiscoveredInstance,
  evaluateInventory,
  type InquiryInfo,
  isSupportedSqlVersion,
  MAX_DATABASE_FILES,
  MAX_FILE_PATH_LENGTH,
} from '../../src/domain/discovery.ts';
import { DEFAULT_SUPPORT_MATRIX, isSupportedRegion } from '../../src/domain/support-matrix.ts';
import type { InventoryDatabase, InventoryInstance } from '../../src/protocol/agent.ts';

const WINDOWS = { os: 'WindowsServer2019' };
const DATA_DIR = 'C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\DATA';

function db(name: string, extra: Partial<InventoryDatabase> = {}): InventoryDatabase {
  return {
    name,
    recoveryModel: 'FULL',
    fileCount: 2,
    files: [
      { type: 'Data', path: `${DATA_DIR}\\${name}.mdf`, logicalName: name },
      { type: 'Log', path: `${DATA_DIR}\\${name}_log.ldf`, logicalName: `${name}_log` },
    ],
    ...extra,
  };
}

function instance(
  name: string,
  databases: InventoryDatabase[],
  extra: Partial<InventoryInstance> = {},
): InventoryInstance {
  return {
    name,
    version: '2019',
    edition: 'Enterprise',
    isSysadmin: true,
    dataDirectoryPaths: [{ type: 'Data', path: DATA_DIR }],
    databases,
    ...extra,
  };
}

/** The single database `name` of a one-instance inventory. */
function only(
  databases: InventoryDatabase[],
  name: string,
  extra: Partial<InventoryInstance> = {},
): DiscoveredDatabase {
  const result = evaluateInventory(WINDOWS, [instance('MSSQLSERVER', databases, extra)]);
  const found = result.databases.filter((d) => d.name === name);
  expect(found).toHaveLength(1);
  return found[0]!;
}

function success(itemCount: number, instances: number, databases: number): InquiryInfo {
  const protectableItemCount = { SQLInstance: instances, SQLDataBase: databases };
  return {
    status: 'Success',
    inquiryDetails: [{ type: 'SQL', itemCount, inquiryValidation: { status: 'Success', protectableItemCount } }],
  };
}

const NO_SYSADMIN_MESSAGE = (i: string) =>
  `Azure Backup could not discover the databases of SQL instance '${i}': the login 'NT SERVICE\\AzureWLBackupPluginSvc' ` +
  'is not a member of the sysadmin server role on that instance.';
const NO_SYSADMIN_RECOMMENDATIONS = (i: string) => [
  `Add the login 'NT SERVICE\\AzureWLBackupPluginSvc' to the sysadmin server role on SQL instance '${i}'.`,
  'Then run "Rediscover DBs" (inquire the container again) to list the instance\'s databases.',
];

describe('evaluateInventory: a healthy VM', () => {
  it('lists instances and databases with exact item names, spelling kept, in case-insensitive order', () => {
    const result = evaluateInventory(WINDOWS, [
      instance('sqlexpress', [db('zeta')]),
      instance('MSSQLSERVER', [
        db('sales', { sizeBytes: 67_108_864 }),
        db('Archive', { recoveryModel: 'SIMPLE' }),
        db('billing'),
      ]),
    ]);
    expect(result.instances.map((i) => i.itemName)).toEqual(['SQLInstance;MSSQLSERVER', 'SQLInstance;sqlexpress']);
    expect(result.databases.map((d) => d.itemName)).toEqual([
      'SQLDataBase;MSSQLSERVER;Archive',
      'SQLDataBase;MSSQLSERVER;billing',
      'SQLDataBase;MSSQLSERVER;sales',
      'SQLDataBase;sqlexpress;zeta',
    ]);
    expect(result.instances[0]).toStrictEqual({
      name: 'MSSQLSERVER',
      itemName: 'SQLInstance;MSSQLSERVER',
      version: '2019',
      edition: 'Enterprise',
      isProtectable: true,
      dataDirectoryPaths: [{ type: 'Data', path: DATA_DIR }],
    } satisfies DiscoveredInstance);
    expect(result.databases[2]).toStrictEqual({
      instanceName: 'MSSQLSERVER',
      name: 'sales',
      itemName: 'SQLDataBase;MSSQLSERVER;sales',
      recoveryModel: 'FULL',
      isReadOnly: false,
      state: 'ONLINE',
      isProtectable: true,
      fileCount: 2,
      sizeBytes: 67_108_864,
      files: [
        { type: 'Data', path: `${DATA_DIR}\\sales.mdf`, logicalName: 'sales' },
        { type: 'Log', path: `${DATA_DIR}\\sales_log.ldf`, logicalName: 'sales_log' },
      ],
    } satisfies DiscoveredDatabase);
    expect(result.databases[0]!.recoveryModel).toBe('SIMPLE');
    expect(result.inquiryInfo).toStrictEqual(success(6, 2, 4));
  });

  it('never lists tempdb; lists master, model and msdb as protectable', () => {
    const result = evaluateInventory(WINDOWS, [
      instance('MSSQLSERVER', [db('master'), db('tempdb'), db('model'), db('msdb'), db('sales')]),
    ]);
    expect(result.databases.map((d) => [d.name, d.isProtectable])).toEqual([
      ['master', true],
      ['model', true],
      ['msdb', true],
      ['sales', true],
    ]);
    expect(result.inquiryInfo).toStrictEqual(success(5, 1, 4));
  });

  it('an instance without databases and a VM without instances inquire successfully', () => {
    expect(evaluateInventory(WINDOWS, [])).toStrictEqual({
      instances: [],
      databases: [],
      inquiryInfo: success(0, 0, 0),
    });
    const result = evaluateInventory(WINDOWS, [instance('MSSQLSERVER', [])]);
    expect(result.databases).toEqual([]);
    expect(result.inquiryInfo).toStrictEqual(success(1, 1, 0));
  });

  it('read-only databases are protectable (backup types are restricted later)', () => {
    const d = only([db('reports', { isReadOnly: true })], 'reports');
    expect(d.isReadOnly).toBe(true);
    expect(d.isProtectable).toBe(true);
    expect(d.notProtectableReason).toBeUndefined();
  });
});

describe('evaluateInventory: plugin account without sysadmin', () => {
  it('reports the instance with UserErrorSQLNoSysadminMembership, lists none of its databases, fails the inquiry', () => {
    // The agent normally reports no databases for such an instance; even if it does, they are not listed.
    const result = evaluateInventory(WINDOWS, [instance('MSSQLSERVER', [db('sales')], { isSysadmin: false })]);
    const error = {
      code: 'UserErrorSQLNoSysadminMembership',
      message: NO_SYSADMIN_MESSAGE('MSSQLSERVER'),
      recommendations: NO_SYSADMIN_RECOMMENDATIONS('MSSQLSERVER'),
    };
    expect(result).toStrictEqual({
      instances: [
        {
          name: 'MSSQLSERVER',
          itemName: 'SQLInstance;MSSQLSERVER',
          version: '2019',
          edition: 'Enterprise',
          isProtectable: false,
          notProtectableReason: {
            code: 'UserErrorSQLNoSysadminMembership',
            message: NO_SYSADMIN_MESSAGE('MSSQLSERVER'),
          },
          dataDirectoryPaths: [{ type: 'Data', path: DATA_DIR }],
          inquiryError: error,
        },
      ],
      databases: [],
      inquiryInfo: {
        status: 'Failed',
        errorDetail: error,
        inquiryDetails: [
          {
            type: 'SQL',
            itemCount: 1,
            inquiryValidation: {
              status: 'Failed',
              errorDetail: error,
              additionalDetail: "Inquiry failed for 1 of 1 SQL instances: 'MSSQLSERVER'.",
              protectableItemCount: { SQLInstance: 0, SQLDataBase: 0 },
            },
          },
        ],
      },
    });
  });

  it("a mixed VM: the sysadmin instance's databases are listed, the other shows the error", () => {
    const inventory = [
      instance('MSSQLSERVER', [db('sales'), db('master'), db('tempdb')]),
      instance('SQLEXPRESS', [], { isSysadmin: false, edition: 'Express' }),
    ];
    const result = evaluateInventory(WINDOWS, inventory);
    expect(result.instances.map((i) => [i.itemName, i.isProtectable, i.inquiryError?.code])).toEqual([
      ['SQLInstance;MSSQLSERVER', true, undefined],
      ['SQLInstance;SQLEXPRESS', false, 'UserErrorSQLNoSysadminMembership'],
    ]);
    expect(result.databases.map((d) => [d.itemName, d.isProtectable])).toEqual([
      ['SQLDataBase;MSSQLSERVER;master', true],
      ['SQLDataBase;MSSQLSERVER;sales', true],
    ]);
    const error = {
      code: 'UserErrorSQLNoSysadminMembership',
      message: NO_SYSADMIN_MESSAGE('SQLEXPRESS'),
      recommendations: NO_SYSADMIN_RECOMMENDATIONS('SQLEXPRESS'),
    };
    expect(result.inquiryInfo).toStrictEqual({
      status: 'Failed',
      errorDetail: error,
      inquiryDetails: [
        {
          type: 'SQL',
          itemCount: 4,
          inquiryValidation: {
            status: 'Failed',
            errorDetail: error,
            additionalDetail: "Inquiry failed for 1 of 2 SQL instances: 'SQLEXPRESS'.",
            protectableItemCount: { SQLInstance: 1, SQLDataBase: 2 },
          },
        },
      ],
    });
  });

  it('after the permission is fixed ("Rediscover DBs"), the databases appear and the inquiry succeeds', () => {
    const before = evaluateInventory(WINDOWS, [
      instance('MSSQLSERVER', [db('sales')]),
      instance('SQLEXPRESS', [], { isSysadmin: false }),
    ]);
    expect(before.databases.map((d) => d.itemName)).toEqual(['SQLDataBase;MSSQLSERVER;sales']);
    expect(before.inquiryInfo.status).toBe('Failed');

    const after = evaluateInventory(WINDOWS, [
      instance('MSSQLSERVER', [db('sales')]),
      instance('SQLEXPRESS', [db('inventory'), db('crm')], { isSysadmin: true }),
    ]);
    expect(after.instances.map((i) => [i.itemName, i.isProtectable, i.inquiryError])).toEqual([
      ['SQLInstance;MSSQLSERVER', true, undefined],
      ['SQLInstance;SQLEXPRESS', true, undefined],
    ]);
    expect(after.databases.map((d) => [d.itemName, d.isProtectable])).toEqual([
      ['SQLDataBase;MSSQLSERVER;sales', true],
      ['SQLDataBase;SQLEXPRESS;crm', true],
      ['SQLDataBase;SQLEXPRESS;inventory', true],
    ]);
    expect(after.inquiryInfo).toStrictEqual(success(5, 2, 3));
  });

  it('several failing instances: the first (by name) error plus the count of the others', () => {
    const result = evaluateInventory(WINDOWS, [
      instance('ZED', [], { isSysadmin: false }),
      instance('MSSQLSERVER', [db('sales')]),
      instance('alpha', [], { isSysadmin: false }),
    ]);
    expect(result.databases.map((d) => d.itemName)).toEqual(['SQLDataBase;MSSQLSERVER;sales']);
    const error = {
      code: 'UserErrorSQLNoSysadminMembership',
      message: `${NO_SYSADMIN_MESSAGE('alpha')} 1 more SQL instance(s) have the same problem: 'ZED'.`,
      recommendations: [
        "Add the login 'NT SERVICE\\AzureWLBackupPluginSvc' to the sysadmin server role on SQL instances 'alpha', 'ZED'.",
        'Then run "Rediscover DBs" (inquire the container again) to list the instance\'s databases.',
      ],
    };
    expect(result.inquiryInfo).toStrictEqual({
      status: 'Failed',
      errorDetail: error,
      inquiryDetails: [
        {
          type: 'SQL',
          itemCount: 4,
          inquiryValidation: {
            status: 'Failed',
            errorDetail: error,
            additionalDetail: "Inquiry failed for 2 of 3 SQL instances: 'alpha', 'ZED'.",
            protectableItemCount: { SQLInstance: 1, SQLDataBase: 1 },
          },
        },
      ],
    });
    // Each failing instance still carries its own error.
    expect(result.instances.find((i) => i.name === 'ZED')!.inquiryError).toStrictEqual({
      code: 'UserErrorSQLNoSysadminMembership',
      message: NO_SYSADMIN_MESSAGE('ZED'),
      recommendations: NO_SYSADMIN_RECOMMENDATIONS('ZED'),
    });
  });
});

describe('SQL Server versions', () => {
  const cases: [string, boolean][] = [
    ['2012', true],
    ['2014', true],
    ['2016', true],
    ['2017', true],
    ['2019', true],
    ['2022', true],
    ['SQL Server 2019', true],
    ['Microsoft SQL Server 2022', true],
    [' sql server 2016 ', true],
    ['SQL 2017', true],
    ['11.0', true],
    ['12.0', true],
    ['13.0.5026.0', true],
    ['14.0', true],
    ['15.0.2000.5', true],
    ['16.0', true],
    ['2008', true],
    ['2008R2', true],
    ['2008 R2', true],
    ['SQL Server 2008 R2', true],
    ['10.0', true],
    ['10.50.6000.34', true],
    ['10.25', false],
    ['2012 R2', false],
    ['2005', false],
    ['2025', false],
    ['2019 R2', false],
    ['17.0', false],
    ['9.0', false],
    ['15', false],
    ['vNext', false],
    ['', false],
  ];
  it.each(cases)('isSupportedSqlVersion(%j) is %s', (version, supported) => {
    expect(isSupportedSqlVersion(version)).toBe(supported);
  });

  it.each(['2005', '9.0', '2025', '17.0'])(
    'an instance running %j and its databases are listed, not protectable (UserErrorSQLVersionNotSupported)',
    (version) => {
      const result = evaluateInventory(WINDOWS, [instance('LEGACY', [db('sales')], { version })]);
      const reason = {
        code: 'UserErrorSQLVersionNotSupported',
        message:
          `SQL instance 'LEGACY' runs SQL Server version '${version}', which Azure Backup does not support. ` +
          'Supported versions: SQL Server 2008, 2008 R2, 2012, 2014, 2016, 2017, 2019, 2022.',
      };
      expect(result.instances.map((i) => [i.itemName, i.isProtectable, i.notProtectableReason])).toEqual([
        ['SQLInstance;LEGACY', false, reason],
      ]);
      expect(result.databases.map((d) => [d.itemName, d.isProtectable, d.notProtectableReason])).toEqual([
        [
          'SQLDataBase;LEGACY;sales',
          false,
          {
            code: 'UserErrorSQLVersionNotSupported',
            message: `The database 'sales' on SQL instance 'LEGACY' cannot be protected because its instance cannot: ${reason.message}`,
          },
        ],
      ]);
      expect(result.inquiryInfo).toStrictEqual(success(2, 0, 0));
    },
  );
});

describe('unsupported instances and databases', () => {
  it('a Failover Cluster Instance and its databases are not protectable (UserErrorFCINotSupported)', () => {
    const result = evaluateInventory(WINDOWS, [
      instance('FCI1', [db('sales')], { isFailoverClusterInstance: true }),
      instance('MSSQLSERVER', [db('sales')]),
    ]);
    const message = "SQL instance 'FCI1' is a Failover Cluster Instance (FCI); Azure Backup does not support FCIs.";
    expect(result.instances.map((i) => [i.name, i.isProtectable, i.notProtectableReason])).toEqual([
      ['FCI1', false, { code: 'UserErrorFCINotSupported', message }],
      ['MSSQLSERVER', true, undefined],
    ]);
    expect(result.databases.map((d) => [d.itemName, d.isProtectable, d.notProtectableReason])).toEqual([
      [
        'SQLDataBase;FCI1;sales',
        false,
        {
          code: 'UserErrorFCINotSupported',
          message: `The database 'sales' on SQL instance 'FCI1' cannot be protected because its instance cannot: ${message}`,
        },
      ],
      ['SQLDataBase;MSSQLSERVER;sales', true, undefined],
    ]);
    expect(result.inquiryInfo).toStrictEqual(success(4, 1, 1));
  });

  const databaseCases: { rule: string; databases: InventoryDatabase[]; name: string; code: string; message: string }[] =
    [
      {
        rule: 'database snapshot',
        databases: [db('sales'), db('sales_snap', { isSnapshot: true })],
        name: 'sales_snap',
        code: 'UserErrorSQLDatabaseSnapshotNotSupported',
        message:
          "The database 'sales_snap' on SQL instance 'MSSQLSERVER' is a database snapshot; Azure Backup does not protect database snapshots.",
      },
      {
        rule: 'mirror database',
        databases: [db('sales_mirror', { isMirror: true, state: 'RESTORING' })],
        name: 'sales_mirror',
        code: 'UserErrorSQLMirrorDatabaseNotSupported',
        message:
          "The database 'sales_mirror' on SQL instance 'MSSQLSERVER' is the mirror side of database mirroring; Azure Backup does not protect mirror databases.",
      },
      {
        rule: `more than ${MAX_DATABASE_FILES} files`,
        databases: [db('big', { fileCount: 1001, files: [] })],
        name: 'big',
        code: 'UserErrorSQLDatabaseTooManyFiles',
        message:
          "The database 'big' on SQL instance 'MSSQLSERVER' has 1001 files; Azure Backup protects databases with at most 1000 files.",
      },
      {
        rule: `a file path longer than ${MAX_FILE_PATH_LENGTH} characters`,
        databases: [
          db('deep', {
            files: [
              { type: 'Data', path: `C:\\${'d'.repeat(257)}` },
              { type: 'Log', path: `C:\\${'l'.repeat(258)}` },
            ],
          }),
        ],
        name: 'deep',
        code: 'UserErrorSQLDatabaseFilePathTooLong',
        message:
          `The database 'deep' on SQL instance 'MSSQLSERVER' has a file path of 261 characters ('C:\\${'l'.repeat(77)}…'); ` +
          'Azure Backup protects databases whose file paths are at most 260 characters long.',
      },
      ...['OFFLINE', 'RESTORING', 'RECOVERING', 'RECOVERY_PENDING', 'SUSPECT', 'EMERGENCY'].map((state) => ({
        rule: `state ${state}`,
        databases: [db('sales', { state })],
        name: 'sales',
        code: 'UserErrorSQLDatabaseNotOnline',
        message: `The database 'sales' on SQL instance 'MSSQLSERVER' is ${state}; only ONLINE databases can be protected. Bring it online and run "Rediscover DBs".`,
      })),
    ];
  it.each(databaseCases)('$rule: listed, not protectable ($code)', ({ databases, name, code, message }) => {
    const d = only(databases, name);
    expect(d.isProtectable).toBe(false);
    expect(d.notProtectableReason).toStrictEqual({ code, message });
  });

  it('the limits themselves are accepted: exactly 1000 files, a path of exactly 260 characters, ONLINE in any case', () => {
    const files = [{ type: 'Data' as const, path: `C:\\${'x'.repeat(257)}` }];
    expect(files[0]!.path).toHaveLength(260);
    const result = evaluateInventory(WINDOWS, [
      instance('MSSQLSERVER', [db('many', { fileCount: 1000 }), db('long', { files }), db('on', { state: 'online' })]),
    ]);
    expect(result.databases.map((d) => [d.name, d.isProtectable])).toEqual([
      ['long', true],
      ['many', true],
      ['on', true],
    ]);
  });

  it('one reason per database: the first rule that applies (snapshot before name before state)', () => {
    const result = evaluateInventory(WINDOWS, [
      instance('MSSQLSERVER', [db('a;b', { isSnapshot: true, state: 'OFFLINE' }), db('c%', { state: 'OFFLINE' })]),
    ]);
    expect(result.databases.map((d) => d.notProtectableReason?.code)).toEqual([
      'UserErrorSQLDatabaseSnapshotNotSupported',
      'UserErrorSQLInvalidDatabaseName',
    ]);
  });
});

describe('database names Azure rejects', () => {
  const fix = 'Azure Backup cannot protect such a database; rename it and run "Rediscover DBs".';
  const cases: [string, string, string][] = [
    ['leading space', ' sales', "The database name ' sales' begins with a space."],
    ['trailing space', 'sales ', "The database name 'sales ' ends with a space."],
    ['trailing !', 'sales!', "The database name 'sales!' ends with an exclamation mark (!)."],
    [']', 'sal]es', "The database name 'sal]es' contains a closing square bracket (])."],
    [';', 'sal;es', "The database name 'sal;es' contains a semicolon (;)."],
    ['/', 'sal/es', "The database name 'sal/es' contains a forward slash (/)."],
    ['%', 'sales%', "The database name 'sales%' contains a percent sign (%)."],
    ['single quote', "o'brien", "The database name 'o'brien' contains a single quote (')."],
    ['double quote', 'say"hi', 'The database name \'say"hi\' contains a double quote (").'],
  ];
  it.each(cases)(
    '%s: databaseNameProblem explains the rule, the database is not protectable',
    (_rule, name, problem) => {
      expect(databaseNameProblem(name)).toBe(`${problem} ${fix}`);
      const d = only([db(name)], name);
      expect(d.itemName).toBe(`SQLDataBase;MSSQLSERVER;${name}`);
      expect(d.isProtectable).toBe(false);
      expect(d.notProtectableReason).toStrictEqual({
        code: 'UserErrorSQLInvalidDatabaseName',
        message: `${problem} ${fix} (SQL instance 'MSSQLSERVER')`,
      });
    },
  );

  it.each(['sales', 'Sales-2024', 'a!b', '[sales', 'sales (old)', 'x.y_z', 'ünïcode'])('%j is accepted', (name) => {
    expect(databaseNameProblem(name)).toBeUndefined();
    expect(only([db(name)], name).isProtectable).toBe(true);
  });

  it('case-only duplicates within one instance: both are not protectable; other instances are unaffected', () => {
    const result = evaluateInventory(WINDOWS, [
      instance('MSSQLSERVER', [db('sales'), db('orders'), db('Sales')]),
      instance('SQL2', [db('SALES')]),
    ]);
    const reason = (name: string, other: string) => ({
      code: 'UserErrorSQLDatabaseNameCaseOnlyDuplicate',
      message:
        `The database name '${name}' differs only in letter case from '${other}' on SQL instance 'MSSQLSERVER'; ` +
        'Azure Backup cannot protect databases whose names differ only in case. Rename one of them and run "Rediscover DBs".',
    });
    expect(result.databases.map((d) => [d.itemName, d.isProtectable, d.notProtectableReason])).toEqual([
      ['SQLDataBase;MSSQLSERVER;orders', true, undefined],
      ['SQLDataBase;MSSQLSERVER;Sales', false, reason('Sales', 'sales')],
      ['SQLDataBase;MSSQLSERVER;sales', false, reason('sales', 'Sales')],
      ['SQLDataBase;SQL2;SALES', true, undefined],
    ]);
    expect(result.inquiryInfo).toStrictEqual(success(6, 2, 2));
  });
});

describe('Linux VMs', () => {
  it.each(['Linux', 'Ubuntu2204', 'RHEL9', 'SLES15'])('%s: nothing is listed and the inquiry fails', (os) => {
    const result = evaluateInventory({ os }, [instance('MSSQLSERVER', [db('sales')])]);
    const error = {
      code: 'UserErrorWorkloadNotSupportedOnLinux',
      message: `Azure Backup for SQL Server in Azure VM supports Windows VMs only; this VM runs '${os}'.`,
      recommendations: [
        'Protect SQL Server on Linux VMs with Azure VM backup (the whole VM) or with native SQL Server backups.',
      ],
    };
    expect(result).toStrictEqual({
      instances: [],
      databases: [],
      inquiryInfo: {
        status: 'Failed',
        errorDetail: error,
        inquiryDetails: [
          {
            type: 'SQL',
            itemCount: 0,
            inquiryValidation: {
              status: 'Failed',
              errorDetail: error,
              additionalDetail: 'SQL Server workload backup is not supported on Linux VMs.',
              protectableItemCount: { SQLInstance: 0, SQLDataBase: 0 },
            },
          },
        ],
      },
    });
  });
});

describe('SQL Server 2008 and 2008 R2 (supported once both logins are sysadmin)', () => {
  const legacy = (extra: Partial<InventoryInstance>) =>
    evaluateInventory(WINDOWS, [instance('LEGACY', [db('sales')], { version: '2008 R2', ...extra })]);

  it.each([
    [
      'neither login set up',
      { isSysadmin: false },
      "'NT SERVICE\\AzureWLBackupPluginSvc' and 'NT AUTHORITY\\SYSTEM' are not.",
    ],
    ['SYSTEM a public login only', { isSysadmin: true }, "'NT AUTHORITY\\SYSTEM' is not."],
    ['no SYSTEM login', { hasSystemLogin: false, isSysadmin: true }, "'NT AUTHORITY\\SYSTEM' is not."],
    [
      'the plugin not sysadmin',
      { isSysadmin: false, systemIsSysadmin: true },
      "'NT SERVICE\\AzureWLBackupPluginSvc' is not.",
    ],
  ] as [string, Partial<InventoryInstance>, string][])(
    '%s: the inquiry fails with UserErrorSQLNoSysadminMembership and lists no databases',
    (_case, extra, missing) => {
      const result = legacy(extra);
      expect(result.databases).toEqual([]);
      expect(result.instances.map((i) => [i.itemName, i.isProtectable])).toEqual([['SQLInstance;LEGACY', false]]);
      expect(result.inquiryInfo.status).toBe('Failed');
      expect(result.inquiryInfo.errorDetail).toStrictEqual({
        code: 'UserErrorSQLNoSysadminMembership',
        message:
          "Azure Backup could not discover the databases of SQL instance 'LEGACY' (SQL Server 2008 R2): on SQL Server " +
          "2008 and 2008 R2 both 'NT AUTHORITY\\SYSTEM' and 'NT SERVICE\\AzureWLBackupPluginSvc' must be logins with " +
          `the sysadmin server role; ${missing}`,
        recommendations: [
          "Add the logins 'NT AUTHORITY\\SYSTEM' and 'NT SERVICE\\AzureWLBackupPluginSvc' to SQL instance 'LEGACY' " +
            'with the public and sysadmin server roles, the permission to connect to the database engine granted and ' +
            'the login enabled.',
          'Then run "Rediscover DBs" (inquire the container again) to list the instance\'s databases.',
        ],
      });
    },
  );

  it.each(['2008', '2008 R2', '10.0.6000.29', '10.50.6000.34'])(
    '%s with both logins sysadmin: the instance and its databases are protectable',
    (version) => {
      const result = evaluateInventory(WINDOWS, [
        instance('LEGACY', [db('sales')], { version, isSysadmin: true, systemIsSysadmin: true }),
      ]);
      expect(result.databases.map((d) => [d.itemName, d.isProtectable])).toEqual([['SQLDataBase;LEGACY;sales', true]]);
      expect(result.inquiryInfo).toStrictEqual(success(2, 1, 1));
    },
  );

  it('SYSTEM need not be sysadmin on later versions', () => {
    expect(evaluateInventory(WINDOWS, [instance('MSSQLSERVER', [db('sales')])]).inquiryInfo.status).toBe('Success');
  });
});

describe('the support matrix: Windows versions and SQL editions', () => {
  it.each([
    'WindowsServer2022',
    'Windows Server 2019 Datacenter',
    'WindowsServer2016',
    'WindowsServer2012R2',
    'Windows Server 2008 R2 SP1',
  ])('%s is supported', (os) => {
    expect(evaluateInventory({ os }, [instance('MSSQLSERVER', [db('sales')])]).inquiryInfo.status).toBe('Success');
  });

  it.each(['WindowsServer2008R2', 'WindowsServer2008', 'WindowsServer2003', 'Windows10'])(
    '%s: nothing is listed and the inquiry fails with UserErrorUnsupportedOperatingSystem',
    (os) => {
      const result = evaluateInventory({ os }, [instance('MSSQLSERVER', [db('sales')])]);
      expect(result.instances).toEqual([]);
      expect(result.databases).toEqual([]);
      expect(result.inquiryInfo.errorDetail?.code).toBe('UserErrorUnsupportedOperatingSystem');
      expect(result.inquiryInfo.errorDetail?.message).toBe(
        `Azure Backup for SQL Server in Azure VM does not support this VM's operating system, '${os}'.`,
      );
      expect(result.inquiryInfo.inquiryDetails[0].inquiryValidation.additionalDetail).toBe(
        'Supported operating systems: WindowsServer2022, WindowsServer2019, WindowsServer2016, WindowsServer2012, WindowsServer2008R2SP1.',
      );
    },
  );

  it('a configured list replaces the matrix: Windows Server 2025 once listed, 2016 once not', () => {
    const matrix = { ...DEFAULT_SUPPORT_MATRIX, operatingSystems: ['WindowsServer2025'] };
    const inventory = [instance('MSSQLSERVER', [db('sales')])];
    expect(evaluateInventory({ os: 'WindowsServer2025' }, inventory).inquiryInfo.status).toBe('Failed');
    expect(evaluateInventory({ os: 'WindowsServer2025' }, inventory, matrix).inquiryInfo.status).toBe('Success');
    expect(evaluateInventory({ os: 'WindowsServer2016' }, inventory, matrix).inquiryInfo.status).toBe('Failed');
  });

  it.each([
    'Enterprise',
    'Standard Edition (64-bit)',
    'Web',
    'Developer Edition',
    'Express Edition with Advanced Services (64-bit)',
    'Enterprise Edition: Core-based Licensing (64-bit)',
  ])('edition %j is supported', (edition) => {
    expect(only([db('sales')], 'sales', { edition }).isProtectable).toBe(true);
  });

  it.each(['Express LocalDB', 'Enterprise Evaluation Edition (64-bit)'])(
    'edition %j: the instance and its databases are listed, not protectable (UserErrorSQLEditionNotSupported)',
    (edition) => {
      const result = evaluateInventory(WINDOWS, [instance('LOCAL', [db('sales')], { edition })]);
      const message =
        `SQL instance 'LOCAL' runs SQL Server edition '${edition}', which Azure Backup does not support. ` +
        'Supported editions: Enterprise, Standard, Web, Developer, Express.';
      expect(result.instances.map((i) => i.notProtectableReason)).toEqual([
        { code: 'UserErrorSQLEditionNotSupported', message },
      ]);
      expect(result.databases.map((d) => [d.isProtectable, d.notProtectableReason?.code])).toEqual([
        [false, 'UserErrorSQLEditionNotSupported'],
      ]);
      expect(result.inquiryInfo).toStrictEqual(success(2, 0, 0));
    },
  );

  it('regions: the matrix lists exceptions; ARM spellings compare alike', () => {
    for (const region of ['westeurope', 'West Europe', 'eastus', 'uksouth', 'northeurope'])
      expect(isSupportedRegion(region, DEFAULT_SUPPORT_MATRIX)).toBe(true);
    for (const region of ['francesouth', 'France South', 'uknorth', 'UK South 2', 'usgoviowa', 'germanycentral'])
      expect(isSupportedRegion(region, DEFAULT_SUPPORT_MATRIX)).toBe(false);
    expect(isSupportedRegion('francesouth', { ...DEFAULT_SUPPORT_MATRIX, unsupportedRegions: [] })).toBe(true);
  });
});
