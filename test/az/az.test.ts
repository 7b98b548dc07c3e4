import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Az, azInstalled, type AzResult } from '../support/az.ts';
import { principalWith, type TestServer } from '../support/server.ts';
import { clockDeployment, type ClockDeployment } from '../support/own-database.ts';
import { fetchToken } from '../support/sdk.ts';
import { fetchVaultCredentials, spawnAgent, type AgentProcess } from '../support/agent-process.ts';

if (!azInstalled) {
  // Loud on purpose: a machine without az passes this file without running it.
  process.stderr.write(
    '\n*** az (Microsoft azure-cli) is not installed: the az tests are SKIPPED. `.ci/run` installs it (apt-get install azure-cli). ***\n\n',
  );
}

interface Resource<P = Record<string, unknown>> {
  id: string;
  name: string;
  properties: P;
}
type Job = Resource<{
  operation: string;
  status: string;
  activityId: string;
  entityFriendlyName: string;
  extendedInfo: { tasksList: { taskId: string; status: string }[]; propertyBag: Record<string, string> };
}>;
interface DataDirectory {
  type: string;
  path: string;
  logicalName: string;
}

/** az's date arguments: `dd-mm-yyyy-hh:mm:ss` (UTC). */
const azTime = (date: Date) => {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getUTCDate())}-${two(date.getUTCMonth() + 1)}-${date.getUTCFullYear()}-${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
};

/**
 * Microsoft's az CLI (Debian's azure-cli 2.45: its own Python SDKs, api-versions 2022-09-01-preview and 2022-10-01)
 * against the service, as a user runs it: a cloud registered from the service's metadata alone, a service-principal
 * login to the service's own token endpoint, and the SQL workflow end to end with the reference agent as a real
 * process. Each step checks az's exit code and what it printed. The steps build on each other, in order.
 */
describe.skipIf(!azInstalled)('az drives the SQL workflow against the service', () => {
  const subscriptionId = randomUUID();
  const principal = principalWith('Contributor', [subscriptionId]);
  const vault = 'az-vault';
  const vmName = 'sqlvm1';
  const vmId = `/subscriptions/${subscriptionId}/resourceGroups/sql-rg/providers/Microsoft.Compute/virtualMachines/${vmName}`;
  const containerName = `VMAppContainer;Compute;sql-rg;${vmName}`;
  let deployment: ClockDeployment;
  let server: TestServer;
  let az: Az;
  let dir: string;
  let agent: AgentProcess | undefined;
  const g = () => ['-g', 'rg', '-v', vault];
  const workload = ['--backup-management-type', 'AzureWorkload', '--workload-type', 'MSSQL'];
  /** `item show` names the item with -n where the other commands take -i. */
  const itemByName = () => ['-c', containerName, '-n', itemName, ...workload];
  // What later steps need from earlier ones.
  let serverName = '';
  let itemName = '';
  let fullPoint = '';
  let fullEnd: Date;
  let logEnd: Date;

  beforeAll(async () => {
    // The emulator clock (a database of its own) gives the log backup below its minute of writes without a sleep.
    deployment = await clockDeployment('az', { RV_AGENT_HEARTBEAT_SECONDS: '1' }, [principal]);
    server = deployment.server;
    az = new Az(inject('tlsCertFile'));
    dir = mkdtempSync(join(tmpdir(), 'rv-az-test-'));
  });
  afterAll(async () => {
    await agent?.stop();
    await deployment?.stop();
    az?.cleanUp();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** Asserts a command succeeded, naming it and az's words when it did not. */
  const succeeded = (result: AzResult, what: string) => {
    expect(result.code, `${what} exited ${result.code}:\n${result.stderr}`).toBe(0);
    return result.json;
  };
  const ok = async <T = unknown>(args: string[]) => succeeded(await az.run(args), `az ${args.join(' ')}`) as T;
  const waitFor = async (job: Job) => {
    await ok(['backup', 'job', 'wait', ...g(), '-n', job.name, '--timeout', '120']);
    return ok<Job>(['backup', 'job', 'show', ...g(), '-n', job.name]);
  };

  it('registers a cloud from the service alone, refuses a wrong secret in OAuth’s words, and logs in', async () => {
    succeeded(
      await az.run(['cloud', 'register', '-n', 'RecoveryVault', '--endpoint-resource-manager', server.httpsUrl]),
      'cloud register',
    );
    await ok(['cloud', 'set', '-n', 'RecoveryVault']);
    const login = ['login', '--service-principal', '-u', principal.clientId, '--tenant', server.config.tenantId];

    const wrong = await az.run([...login, '-p', 'not-the-secret']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('AADSTS7000215');
    expect(wrong.stderr).not.toContain('ERROR: None');

    const accounts = await ok<{ id: string; tenantId: string; user: { name: string; type: string } }[]>([
      ...login,
      '-p',
      principal.clientSecret,
    ]);
    expect(accounts).toEqual([
      expect.objectContaining({
        id: subscriptionId,
        tenantId: server.config.tenantId,
        isDefault: true,
        user: { name: principal.clientId, type: 'servicePrincipal' },
      }),
    ]);
  }, 240_000);

  it('creates a vault with Azure’s default policies; creates, shows and deletes a policy', async () => {
    const created = await ok<Resource>(['backup', 'vault', 'create', '-g', 'rg', '-n', vault, '-l', 'westeurope']);
    expect(created).toMatchObject({ name: vault, type: 'Microsoft.RecoveryServices/vaults' });
    const [shown, properties, policies] = await Promise.all([
      ok<Resource>(['backup', 'vault', 'show', '-g', 'rg', '-n', vault]),
      ok<Resource[]>(['backup', 'vault', 'backup-properties', 'show', '-g', 'rg', '-n', vault]),
      ok<Resource[]>(['backup', 'policy', 'list', ...g()]),
    ]);
    expect(shown.id).toBe(created.id);
    // The storage and the vault configuration, in that order.
    expect(properties).toMatchObject([
      { name: 'vaultstorageconfig', properties: { storageType: 'GeoRedundant' } },
      { name: 'vaultconfig', properties: { softDeleteFeatureState: 'Enabled' } },
    ]);
    expect(policies.map((p) => p.name).sort()).toEqual(['DefaultPolicy', 'EnhancedPolicy', 'HourlyLogBackup']);

    const hourly = await ok<Resource<{ subProtectionPolicy: { policyType: string; schedulePolicy: object }[] }>>([
      'backup',
      'policy',
      'show',
      ...g(),
      '-n',
      'HourlyLogBackup',
    ]);
    expect(hourly.properties.subProtectionPolicy.map((s) => s.policyType)).toEqual(['Full', 'Log']);
    // A policy of one's own, from the default one with 30-minute logs.
    const mine = structuredClone(hourly);
    (
      mine.properties.subProtectionPolicy[1]?.schedulePolicy as { scheduleFrequencyInMins: number }
    ).scheduleFrequencyInMins = 30;
    const file = join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify(mine));
    const createdPolicy = await ok<Resource>([
      'backup',
      'policy',
      'create',
      ...g(),
      '-n',
      'ThirtyMinuteLogs',
      '--policy',
      file,
      ...workload,
    ]);
    expect(createdPolicy.name).toBe('ThirtyMinuteLogs');
    const readBack = await ok<typeof hourly>(['backup', 'policy', 'show', ...g(), '-n', 'ThirtyMinuteLogs']);
    expect(readBack.properties.subProtectionPolicy[1]?.schedulePolicy).toMatchObject({ scheduleFrequencyInMins: 30 });
    await ok(['backup', 'policy', 'delete', ...g(), '-n', 'ThirtyMinuteLogs']);
    const gone = await az.run(['backup', 'policy', 'show', ...g(), '-n', 'ThirtyMinuteLogs']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/not found|NotFound/i);
  }, 240_000);

  it('registers the VM (reference agent running), lists it and what it can protect', async () => {
    const token = await fetchToken(server.httpsUrl, principal.clientId, principal.clientSecret);
    const vaultArmId = `/subscriptions/${subscriptionId}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/${vault}`;
    const credentialsFile = join(dir, 'vault.credentials.json');
    writeFileSync(credentialsFile, JSON.stringify(await fetchVaultCredentials(server.httpsUrl, token, vaultArmId)));
    const specFile = join(dir, 'vm.json');
    writeFileSync(
      specFile,
      JSON.stringify({
        vmName,
        resourceGroup: 'sql-rg',
        instances: [
          {
            name: 'MSSQLSERVER',
            version: '2019',
            pluginIsSysadmin: true,
            databases: [
              { name: 'sales', sizeMiB: 2, files: 3, writesPerMinute: 600 },
              { name: 'hr', sizeMiB: 1, writesPerMinute: 0 },
            ],
          },
        ],
      }),
    );
    agent = spawnAgent({
      serverUrl: server.httpsUrl,
      credentialsFile,
      specFile,
      stateDir: join(dir, 'agent-state'),
      args: ['--files-root', join(dir, 'files')],
    });
    await agent.waitForLine(/registered/i, 60_000);

    // az refreshes, finds the VM among the protectable containers by its id, registers it, and prints nothing.
    expect(await ok(['backup', 'container', 'register', ...g(), '--resource-id', vmId, ...workload])).toBeUndefined();
    const [containers, protectable] = await Promise.all([
      ok<Resource[]>(['backup', 'container', 'list', ...g(), '--backup-management-type', 'AzureWorkload']),
      ok<
        Resource<{ friendlyName: string; protectableItemType: string; serverName: string; protectionState: string }>[]
      >(['backup', 'protectable-item', 'list', ...g(), '--workload-type', 'MSSQL']),
    ]);
    expect(containers).toEqual([
      expect.objectContaining({
        name: containerName,
        properties: expect.objectContaining({ registrationStatus: 'Registered' }),
      }),
    ]);
    const sales = protectable.find((p) => p.properties.friendlyName === 'sales');
    expect(sales?.properties).toMatchObject({ protectableItemType: 'SQLDataBase', protectionState: 'NotProtected' });
    expect(protectable.map((p) => p.properties.friendlyName)).toEqual(
      expect.arrayContaining(['MSSQLSERVER', 'sales', 'hr', 'master', 'model', 'msdb']),
    );
    serverName = sales?.properties.serverName ?? '';
    expect(serverName).not.toBe('');
  }, 240_000);

  it('protects a database, then auto-protects its instance; the protectable items say so', async () => {
    const protectArgs = ['--policy-name', 'HourlyLogBackup', '--server-name', serverName, '--workload-type', 'MSSQL'];
    const enabled = await ok<Job>([
      'backup',
      'protection',
      'enable-for-azurewl',
      ...g(),
      ...protectArgs,
      '--protectable-item-type',
      'SQLDataBase',
      '--protectable-item-name',
      'sales',
    ]);
    expect(enabled.properties).toMatchObject({ operation: 'ConfigureBackup', status: 'Completed' });
    // az sends an x-ms-client-request-id of its own with each request: the job names that, not itself.
    expect(enabled.properties.activityId).toMatch(/^[0-9a-f-]{36}$/);
    expect(enabled.properties.activityId).not.toBe(enabled.name);
    const middle = await ok<Resource<{ friendlyName: string; protectionState: string }>[]>([
      'backup',
      'protectable-item',
      'list',
      ...g(),
      '--workload-type',
      'MSSQL',
    ]);
    const stateOf = (items: typeof middle, name: string) =>
      items.find((p) => p.properties.friendlyName === name)?.properties.protectionState;
    expect([stateOf(middle, 'sales'), stateOf(middle, 'hr')]).toEqual(['Protected', 'NotProtected']);

    const auto = await ok([
      'backup',
      'protection',
      'auto-enable-for-azurewl',
      ...g(),
      ...protectArgs,
      '--protectable-item-type',
      'SQLInstance',
      '--protectable-item-name',
      'MSSQLSERVER',
    ]);
    expect(auto).toEqual({ status: true });
    const protectable = await ok<
      Resource<{ friendlyName: string; protectionState: string; isAutoProtected: boolean }>[]
    >(['backup', 'protectable-item', 'list', ...g(), '--workload-type', 'MSSQL']);
    const byName = (name: string) => protectable.find((p) => p.properties.friendlyName === name)?.properties;
    // Auto-protection protects the instance's databases at once: hr too now.
    expect(byName('sales')?.protectionState).toBe('Protected');
    expect(byName('hr')?.protectionState).toBe('Protected');
    expect(byName('MSSQLSERVER')?.isAutoProtected).toBe(true);
    const items = await ok<Resource<{ friendlyName: string }>[]>(['backup', 'item', 'list', ...g(), ...workload]);
    itemName = items.find((i) => i.properties.friendlyName === 'sales')?.name ?? '';
    expect(itemName).toMatch(/^SQLDataBase;MSSQLSERVER;sales$/i);
  }, 240_000);

  it('backs up Full and Log on demand; jobs carry the caller’s activity id, tasks and properties; filters work', async () => {
    const item = ['-c', containerName, '-i', itemName, ...workload];
    const retain = azTime(new Date(Date.now() + 30 * 86_400_000)).slice(0, 10);
    const full = await ok<Job>([
      'backup',
      'protection',
      'backup-now',
      ...g(),
      ...item,
      '--backup-type',
      'Full',
      '--retain-until',
      retain,
    ]);
    expect(full.properties).toMatchObject({ operation: 'Backup', entityFriendlyName: `sales [${vmName}]` });
    expect(full.properties.activityId).not.toBe(full.name);
    const fullDone = await waitFor(full);
    expect(fullDone.properties).toMatchObject({
      status: 'Completed',
      extendedInfo: { tasksList: [], propertyBag: { 'Backup Type': 'Full', 'Is On-Demand': 'true' } },
    });
    // The log backup must cover some writes after the Full, for a point in time between them: a minute of them.
    await deployment.clock({ advanceSeconds: 60 });
    const log = await ok<Job>(['backup', 'protection', 'backup-now', ...g(), ...item, '--backup-type', 'Log']);
    expect((await waitFor(log)).properties.status).toBe('Completed');

    const [completedBackups, byTime, failed] = await Promise.all([
      ok<Job[]>(['backup', 'job', 'list', ...g(), '--status', 'Completed', '--operation', 'Backup']),
      ok<Job[]>([
        'backup',
        'job',
        'list',
        ...g(),
        '--start-date',
        azTime(new Date(Date.now() - 3_600_000)).slice(0, 10),
        '--end-date',
        azTime(new Date(Date.now() + 86_400_000)).slice(0, 10),
      ]),
      ok<Job[]>(['backup', 'job', 'list', ...g(), '--status', 'Failed']),
    ]);
    expect(completedBackups.map((j) => j.name).sort()).toEqual([full.name, log.name].sort());
    expect(byTime.map((j) => j.properties.operation)).toEqual(expect.arrayContaining(['ConfigureBackup', 'Backup']));
    expect(failed).toEqual([]);
  }, 240_000);

  it('lists recovery points with the database’s files, shows the log chain, and the item’s recovery point summary', async () => {
    const item = ['-c', containerName, '-i', itemName, ...workload];
    const [points, chain, shown] = await Promise.all([
      ok<
        Resource<{
          objectType: string;
          type: string;
          recoveryPointTimeInUtc: string;
          extendedInfo: { dataDirectoryPaths: DataDirectory[] };
        }>[]
      >(['backup', 'recoverypoint', 'list', ...g(), ...item]),
      ok<Resource<{ timeRanges: { startTime: string; endTime: string }[] }>[]>([
        'backup',
        'recoverypoint',
        'show-log-chain',
        ...g(),
        ...item,
      ]),
      ok<
        Resource<{
          protectionState: string;
          lastRecoveryPoint: string;
          extendedInfo: { recoveryPointCount: number; oldestRecoveryPoint: string };
        }>
      >(['backup', 'item', 'show', ...g(), ...itemByName()]),
    ]);
    const fullPoints = points.filter((p) => p.properties.type === 'Full');
    expect(fullPoints).toHaveLength(1);
    const point = fullPoints[0] as (typeof points)[number];
    fullPoint = point.name;
    fullEnd = new Date(point.properties.recoveryPointTimeInUtc);
    // Three files, as the VM spec declares them: two data files and the log.
    expect(point.properties.extendedInfo.dataDirectoryPaths).toEqual([
      expect.objectContaining({ type: 'Data', logicalName: 'sales', path: expect.stringMatching(/\\sales\.mdf$/) }),
      expect.objectContaining({ type: 'Data', logicalName: 'sales_1', path: expect.stringMatching(/\\sales_1\.ndf$/) }),
      expect.objectContaining({
        type: 'Log',
        logicalName: 'sales_log',
        path: expect.stringMatching(/\\sales_log\.ldf$/),
      }),
    ]);
    const ranges = chain.flatMap((c) => c.properties.timeRanges);
    expect(ranges.length).toBeGreaterThan(0);
    logEnd = new Date((ranges.at(-1) as { endTime: string }).endTime);
    expect(logEnd.getTime()).toBeGreaterThan(fullEnd.getTime());
    expect(shown.properties).toMatchObject({ protectionState: 'Protected', extendedInfo: { recoveryPointCount: 1 } });
    expect(new Date(shown.properties.extendedInfo.oldestRecoveryPoint)).toEqual(fullEnd);
    expect(new Date(shown.properties.lastRecoveryPoint)).toEqual(logEnd);
  }, 240_000);

  it('restores to the original location, elsewhere with file moves, to a point in time, and as files', async () => {
    const item = ['-c', containerName, '-i', itemName, ...workload];
    const config = async (name: string, args: string[]) => {
      const shown = await ok<Record<string, unknown>>(['backup', 'recoveryconfig', 'show', ...g(), ...item, ...args]);
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(shown));
      return { shown, file };
    };
    const elsewhere = (target: string) => [
      '--restore-mode',
      'AlternateWorkloadRestore',
      '--target-item-name',
      target,
      '--target-server-name',
      serverName,
      '--target-server-type',
      'SQLInstance',
      '--target-container-name',
      containerName,
    ];
    const pointInTime = new Date(Math.floor((fullEnd.getTime() + logEnd.getTime()) / 2000) * 1000);
    const [original, moved, inTime, asFiles] = await Promise.all([
      config('original', ['--restore-mode', 'OriginalWorkloadRestore', '--rp-name', fullPoint]),
      config('moved', [...elsewhere('sales_copy'), '--rp-name', fullPoint]),
      config('in-time', [...elsewhere('sales_then'), '--log-point-in-time', azTime(pointInTime)]),
      config('as-files', [
        '--restore-mode',
        'RestoreAsFiles',
        '--rp-name',
        fullPoint,
        '--filepath',
        'F:\\restored',
        '--target-container-name',
        containerName,
      ]),
    ]);
    expect(original.shown).toMatchObject({ restore_mode: 'OriginalLocation', recovery_point_id: fullPoint });
    // Every file moves: az pairs each of the point's files with the target instance's directories.
    expect(moved.shown.alternate_directory_paths).toHaveLength(3);
    expect(inTime.shown).toMatchObject({
      recovery_point_id: 'DefaultRangeRecoveryPoint',
      log_point_in_time: azTime(pointInTime),
    });
    expect(inTime.shown.alternate_directory_paths).toHaveLength(3);
    expect(asFiles.shown).toMatchObject({ recovery_mode: 'FileRecovery', filepath: 'F:\\restored' });

    // One restore at a time per database, as Azure has it.
    for (const { file } of [original, moved, inTime, asFiles]) {
      const job = await ok<Job>(['backup', 'restore', 'restore-azurewl', ...g(), '--recovery-config', file]);
      expect(job.properties.operation).toBe('Restore');
      const done = await waitFor(job);
      expect(done.properties.status, JSON.stringify(done.properties)).toBe('Completed');
    }
  }, 240_000);

  it('refuses to unregister a VM with protected items; stops, resumes and deletes protection', async () => {
    const refused = await az.run([
      'backup',
      'container',
      'unregister',
      ...g(),
      '-c',
      containerName,
      '--backup-management-type',
      'AzureWorkload',
      '--yes',
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/protected/i);

    const item = ['-c', containerName, '-i', itemName, ...workload];
    const stopped = await ok<Job>(['backup', 'protection', 'disable', ...g(), ...item, '--yes']);
    expect(stopped.properties).toMatchObject({ operation: 'DisableBackup', status: 'Completed' });
    const afterStop = await ok<Resource<{ protectionState: string }>>([
      'backup',
      'item',
      'show',
      ...g(),
      ...itemByName(),
    ]);
    expect(afterStop.properties.protectionState).toBe('ProtectionStopped');

    const resumed = await ok<Job>([
      'backup',
      'protection',
      'resume',
      ...g(),
      ...item,
      '--policy-name',
      'HourlyLogBackup',
    ]);
    expect(resumed.properties.status).toBe('Completed');
    const afterResume = await ok<Resource<{ protectionState: string }>>([
      'backup',
      'item',
      'show',
      ...g(),
      ...itemByName(),
    ]);
    expect(afterResume.properties.protectionState).toBe('Protected');

    const deleted = await ok<Job>([
      'backup',
      'protection',
      'disable',
      ...g(),
      ...item,
      '--delete-backup-data',
      'true',
      '--yes',
    ]);
    expect(deleted.properties.operation).toBe('DeleteBackupData');
    const items = await ok<Resource<{ friendlyName: string; isScheduledForDeferredDelete: boolean }>[]>([
      'backup',
      'item',
      'list',
      ...g(),
      ...workload,
    ]);
    // Soft delete (on by default): the item stays, scheduled for deletion.
    expect(items.find((i) => i.name === itemName)?.properties.isScheduledForDeferredDelete).toBe(true);
  }, 240_000);
});
