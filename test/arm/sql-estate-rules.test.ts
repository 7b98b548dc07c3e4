import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockDeployment, type ClockDeployment } from '../support/own-database.ts';
import { dailyFullWithLogs } from '../support/policies.ts';
import { openEventStream } from '../support/sse.ts';
import { rediscover, registeredSqlVm, sqlVmSpec, until, type SqlVm } from '../support/vm.ts';
import { backupNow as backupNowOf, errorTitle, protectDatabase } from '../support/protection.ts';

const poll = { updateIntervalInMs: 50 };
const vault = 'estate-vault';
const ITEM = 'SQLDataBase;MSSQLSERVER;sales';

/** The SQL estate rules of the seed documents that apply after protection, through the official SDK and an agent. */
describe('SQL estate rules', () => {
  let d: ClockDeployment;
  let vaultArmId: string;
  let vm: SqlVm;
  const spec = (pluginIsSysadmin: boolean) => {
    const s = sqlVmSpec('estatevm', ['sales']);
    s.instances[0]!.pluginIsSysadmin = pluginIsSysadmin;
    return s;
  };
  const item = async () =>
    (await d.backup.protectedItems.get(vault, 'rg', 'Azure', vm.containerName, ITEM)).properties as unknown as Record<
      string,
      unknown
    >;
  /** Backup now of `sales`, or of another VM's item, to the job's end. */
  const backupNow = (backupType: string, containerName = vm.containerName, itemName = ITEM) =>
    backupNowOf(d.backup, vaultArmId, containerName, itemName, backupType);
  const inquiryOf = async (containerName: string) =>
    (
      (await d.backup.protectionContainers.get(vault, 'rg', 'Azure', containerName)).properties as {
        extendedInfo?: {
          inquiryInfo?: {
            status?: string;
            errorDetail?: { code?: string; message?: string; recommendations?: string[] };
          };
        };
      }
    ).extendedInfo?.inquiryInfo;
  /** The protectable items of a container's VM: name → prebackupvalidation (status, code). */
  const protectables = async (serverName: string) => {
    const found = new Map<string, { status?: string; code?: string }>();
    for await (const i of d.backup.backupProtectableItems.list(vault, 'rg', {
      filter: "backupManagementType eq 'AzureWorkload'",
    })) {
      const props = i.properties as { serverName?: string; prebackupvalidation?: { status?: string; code?: string } };
      if (props.serverName === serverName) found.set(i.name ?? '', props.prebackupvalidation ?? {});
    }
    return found;
  };
  const faults = async (method: string, path = '', body?: object) => {
    const response = await fetch(`${d.server.httpsUrl}/emulator/v1/faults${path}`, {
      method,
      headers: { authorization: `Bearer ${d.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return {
      status: response.status,
      body: response.status === 204 ? {} : ((await response.json()) as { id?: string }),
    };
  };

  beforeAll(async () => {
    d = await clockDeployment('estate-rules');
    vaultArmId =
      (await d.vaults.vaults.createOrUpdate('rg', vault, { location: 'westeurope', sku: { name: 'Standard' } }, poll))
        .id ?? '';
    await d.backup.protectionPolicies.createOrUpdate(vault, 'rg', 'DailyHourly', dailyFullWithLogs(60));
    vm = await registeredSqlVm(d.server, d.backup, d.token, vaultArmId, spec(true));
    await protectDatabase(d.backup, vaultArmId, vm.containerName, ITEM, 'DailyHourly');
  }, 120_000);
  afterAll(async () => {
    await vm?.agent.stop();
    await d?.stop();
  });

  it('sysadmin lost after protection: the backup job fails with UserErrorSQLNoSysadminMembership until it is back', async () => {
    expect((await backupNow('Full')).properties?.status).toBe('Completed');
    vm.setSpec(spec(false));
    const refused = await backupNow('Full');
    expect(refused.properties?.status).toBe('Failed');
    const detail = (refused.properties as { errorDetails?: { errorTitle?: string; errorString?: string }[] })
      .errorDetails?.[0];
    expect(detail?.errorTitle).toBe('UserErrorSQLNoSysadminMembership');
    expect(detail?.errorString).toMatch(/NT SERVICE\\AzureWLBackupPluginSvc.*sysadmin.*MSSQLSERVER/);
    expect(await item()).toMatchObject({
      lastBackupStatus: 'Unhealthy',
      lastBackupErrorDetail: { code: 'UserErrorSQLNoSysadminMembership' },
    });
    vm.setSpec(spec(true));
    expect((await backupNow('Full')).properties?.status).toBe('Completed');
    const healed = await item();
    expect(healed.lastBackupStatus).toBe('Healthy');
    expect(healed.lastBackupErrorDetail).toBeUndefined();
  }, 60_000);

  it('NT AUTHORITY\\SYSTEM not a login: discovery fails with its code, and lists the databases once it is', async () => {
    const noSystem = (systemLogin: boolean) => {
      const s = sqlVmSpec('nosystemvm', ['orders']);
      (s.instances[0] as Record<string, unknown>).systemLogin = systemLogin;
      return s;
    };
    const other = await registeredSqlVm(d.server, d.backup, d.token, vaultArmId, noSystem(false));
    try {
      const inquiry = async () =>
        (
          (await d.backup.protectionContainers.get(vault, 'rg', 'Azure', other.containerName)).properties as {
            extendedInfo?: { inquiryInfo?: { status?: string; errorDetail?: { code?: string; message?: string } } };
          }
        ).extendedInfo?.inquiryInfo;
      const failed = await inquiry();
      expect(failed?.status).toBe('Failed');
      expect(failed?.errorDetail?.code).toBe('UserErrorOpeningSQLConnection');
      expect(failed?.errorDetail?.message).toMatch(/NT AUTHORITY\\SYSTEM/);
      const orders = async () => {
        const names = [];
        for await (const i of d.backup.backupProtectableItems.list(vault, 'rg', {
          filter: "protectableItemType eq 'SQLDataBase'",
        }))
          names.push(i.name);
        return names.filter((n) => n?.endsWith(';orders'));
      };
      expect(await orders()).toEqual([]);
      // The portal's live feed announces the discovery that finds the databases.
      const stream = await openEventStream(`${d.server.httpsUrl}/portal/v1${vaultArmId}/events`, d.token);
      try {
        other.setSpec(noSystem(true));
        await rediscover(d.backup, vault, other.containerName);
        expect((await inquiry())?.status).toBe('Success');
        expect(await orders()).toEqual(['SQLDataBase;MSSQLSERVER;orders']);
        const announced = await stream.next(
          (m) =>
            m.event === 'discovery.completed' &&
            (JSON.parse(m.data) as { containerName?: string }).containerName === other.containerName,
          { timeoutMs: 10_000 },
        );
        expect(JSON.parse(announced.data)).toMatchObject({
          containerName: other.containerName,
          friendlyName: 'nosystemvm',
          newDatabases: expect.arrayContaining(['SQLDataBase;MSSQLSERVER;orders']),
        });
      } finally {
        stream.close();
      }
    } finally {
      await other.agent.stop();
    }
  }, 60_000);

  it('SQL Server 2008 R2: refused with UserErrorSQLNoSysadminMembership until SYSTEM and the plugin are sysadmin logins; then discovered and backed up; editions outside the matrix are not protectable', async () => {
    const legacy = (systemIsSysadmin: boolean) => ({
      vmName: 'legacyvm',
      resourceGroup: 'sql-rg',
      os: 'WindowsServer2008R2SP1',
      instances: [
        {
          name: 'MSSQLSERVER',
          version: '2008 R2',
          edition: 'Standard',
          pluginIsSysadmin: true,
          systemIsSysadmin,
          databases: [{ name: 'ledger', recoveryModel: 'FULL', sizeMiB: 1, files: 2, writesPerMinute: 60 }],
        },
        {
          name: 'LOCALDB',
          version: '2019',
          edition: 'Express LocalDB',
          pluginIsSysadmin: true,
          databases: [{ name: 'cache', recoveryModel: 'SIMPLE', sizeMiB: 1, files: 2, writesPerMinute: 0 }],
        },
      ],
    });
    const other = await registeredSqlVm(d.server, d.backup, d.token, vaultArmId, legacy(false));
    try {
      const refused = await inquiryOf(other.containerName);
      expect(refused?.status).toBe('Failed');
      expect(refused?.errorDetail?.code).toBe('UserErrorSQLNoSysadminMembership');
      expect(refused?.errorDetail?.message).toMatch(/SQL Server 2008 R2.*'NT AUTHORITY\\SYSTEM' is not\./);
      expect(refused?.errorDetail?.recommendations?.[0]).toMatch(
        /NT AUTHORITY\\SYSTEM.*NT SERVICE\\AzureWLBackupPluginSvc.*sysadmin/,
      );
      const before = await protectables('legacyvm');
      expect(before.get('SQLInstance;MSSQLSERVER')).toMatchObject({
        status: 'Failed',
        code: 'UserErrorSQLNoSysadminMembership',
      });
      expect(before.has('SQLDataBase;MSSQLSERVER;ledger')).toBe(false);
      // Express LocalDB is outside the matrix: listed, not protectable, with the (chosen) code.
      expect(before.get('SQLDataBase;LOCALDB;cache')).toMatchObject({
        status: 'Failed',
        code: 'UserErrorSQLEditionNotSupported',
      });

      other.setSpec(legacy(true));
      await rediscover(d.backup, vault, other.containerName);
      expect((await inquiryOf(other.containerName))?.status).toBe('Success');
      expect((await protectables('legacyvm')).get('SQLDataBase;MSSQLSERVER;ledger')).toEqual({ status: 'Success' });
      const ledger = 'SQLDataBase;MSSQLSERVER;ledger';
      await protectDatabase(d.backup, vaultArmId, other.containerName, ledger, 'DailyHourly');
      expect((await backupNow('Full', other.containerName, ledger)).properties?.status).toBe('Completed');
    } finally {
      await other.agent.stop();
    }
  }, 90_000);

  it('a Windows version outside the matrix: discovery fails with UserErrorUnsupportedOperatingSystem and lists nothing', async () => {
    const old = await registeredSqlVm(d.server, d.backup, d.token, vaultArmId, {
      ...sqlVmSpec('oldosvm', ['archive']),
      os: 'WindowsServer2008R2',
    });
    try {
      const inquiry = await inquiryOf(old.containerName);
      expect(inquiry?.status).toBe('Failed');
      expect(inquiry?.errorDetail?.code).toBe('UserErrorUnsupportedOperatingSystem');
      expect(inquiry?.errorDetail?.message).toMatch(/'WindowsServer2008R2'/);
      expect((await protectables('oldosvm')).size).toBe(0);
    } finally {
      await old.agent.stop();
    }
  }, 60_000);

  it('a vault in a region outside the matrix: the vault is created, registering a SQL Server VM to it is refused and changes nothing', async () => {
    const southVault = 'south-vault';
    const created = await d.vaults.vaults.createOrUpdate(
      'rg',
      southVault,
      { location: 'francesouth', sku: { name: 'Standard' } },
      poll,
    );
    expect(created.location).toBe('francesouth');
    await expect(
      registeredSqlVm(d.server, d.backup, d.token, created.id ?? '', sqlVmSpec('southvm', ['sales'])),
    ).rejects.toMatchObject({
      statusCode: 400,
      code: 'BMSUserErrorWorkloadNotSupportedInRegion',
      message: expect.stringContaining("not available in the vault's region 'francesouth'"),
    });
    // Still a protectable container (registrable elsewhere or once the list changes), not a registered one.
    const protectable: string[] = [];
    for await (const c of d.backup.protectableContainers.list(southVault, 'rg', 'Azure'))
      protectable.push(c.name ?? '');
    expect(protectable).toContain('VMAppContainer;Compute;sql-rg;southvm');
    const registered: string[] = [];
    for await (const c of d.backup.backupProtectionContainers.list(southVault, 'rg')) registered.push(c.name ?? '');
    expect(registered).toEqual([]);
  });

  it('VM connectivity lost: backups and Rediscover DBs fail with UserErrorVMInternetConnectivityIssue, the item shows it, and the next backup after it succeeds', async () => {
    const containerArmId = `${vaultArmId}/backupFabrics/Azure/protectionContainers/${vm.containerName}`;
    const fault = await faults('POST', '', { kind: 'VmConnectivity', containerId: containerArmId });
    expect(fault.status).toBe(201);
    try {
      const refused = await backupNow('Full');
      expect(refused.properties?.status).toBe('Failed');
      expect(errorTitle(refused)).toBe('UserErrorVMInternetConnectivityIssue');
      expect(
        (refused.properties as { errorDetails?: { errorString?: string }[] }).errorDetails?.[0]?.errorString,
      ).toMatch(/^The VM is not able to contact Azure Backup service due to internet connectivity issues/);
      expect(await item()).toMatchObject({
        lastBackupStatus: 'Unhealthy',
        lastBackupErrorDetail: { code: 'UserErrorVMInternetConnectivityIssue' },
      });
      // "Rediscover DBs" waits on the VM's extension too: it fails at once with the same code.
      let location = '';
      await d.backup.protectionContainers.inquire(vault, 'rg', 'Azure', vm.containerName, {
        onResponse: (raw) => void (location = raw.headers.get('location') ?? ''),
      });
      const operationId = new URL(location).pathname.split('/').pop() ?? '';
      const failure = await until('the inquiry to fail', async () => {
        let status = 0;
        try {
          await d.backup.protectionContainerOperationResults.get(vault, 'rg', 'Azure', vm.containerName, operationId, {
            onResponse: (raw) => void (status = raw.status),
          });
        } catch (error) {
          return error as { code?: string; statusCode?: number };
        }
        expect(status).toBe(202);
        return undefined;
      });
      expect(failure).toMatchObject({ code: 'UserErrorVMInternetConnectivityIssue', statusCode: 400 });
    } finally {
      expect((await faults('DELETE', `/${fault.body.id}`)).status).toBe(204);
    }
    expect((await backupNow('Full')).properties?.status).toBe('Completed');
    const healed = await item();
    expect(healed.lastBackupStatus).toBe('Healthy');
    expect(healed.lastBackupErrorDetail).toBeUndefined();
  }, 60_000);
});
