import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import { startTestServer, type TestServer } from '../support/server.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';
import { spawnAgent } from '../support/agent-process.ts';

const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const poll = { updateIntervalInMs: 50 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls a Location-style result until it stops answering 202; returns every status code seen. */
async function pollResult(get: (onResponse: (raw: { status: number }) => void) => Promise<unknown>): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < 200; i++) {
    let status = 0;
    await get((raw) => {
      status = raw.status;
    });
    seen.push(status);
    if (status !== 202) return seen;
    await sleep(50);
  }
  throw new Error(`still 202 after ${seen.length} polls`);
}

function operationIdOf(url: string | undefined): string {
  return new URL(url ?? '').pathname.split('/').pop() ?? '';
}

const sqlVm = (secondIsSysadmin: boolean, databases: string[]) => ({
  vmName: 'sqlvm1',
  resourceGroup: 'sql-rg',
  os: 'WindowsServer2019',
  instances: [
    {
      name: 'MSSQLSERVER',
      version: '2019',
      edition: 'Enterprise',
      pluginIsSysadmin: true,
      databases: databases.map((name) => ({ name, recoveryModel: 'FULL', sizeMiB: 8, files: 2, writesPerMinute: 0 })),
    },
    {
      name: 'REPORTING',
      version: '2017',
      edition: 'Standard',
      pluginIsSysadmin: secondIsSysadmin,
      databases: [{ name: 'reports', recoveryModel: 'SIMPLE', sizeMiB: 8, files: 2, writesPerMinute: 0 }],
    },
  ],
});

/**
 * Registration and discovery as the official SDK and azure-cli drive them (docs/registration.md), with a real
 * reference-agent process on the VM side. Nothing here reaches into the database.
 */
describe('VM registration and discovery through the SDK', () => {
  let server: TestServer;
  let backup: RecoveryServicesBackupClient;
  let dir: string;
  const subscriptionId = randomUUID();
  const vaultName = 'sql-vault';

  beforeAll(async () => {
    server = await startTestServer({ RV_AGENT_HEARTBEAT_SECONDS: '1' });
    const token = await fetchToken(server.httpsUrl);
    const clients = sdkClients(server.httpsUrl, token, subscriptionId);
    backup = clients.backup;
    await clients.vaults.vaults.createOrUpdate(
      'rg',
      vaultName,
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    dir = mkdtempSync(join(tmpdir(), 'rv-registration-'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refresh → protectable containers → register → inquire → items → rediscover → unregister', async () => {
    // Vault credentials from the CLI, as a user would download them.
    const credentialsFile = join(dir, 'vault.credentials.json');
    // Asynchronously: the service under test runs in this very process.
    const cli = await promisify(execFile)(
      tsx,
      [
        'src/cli.ts',
        'credentials',
        '--subscription',
        subscriptionId,
        '--resource-group',
        'rg',
        '--vault',
        vaultName,
        '--out',
        credentialsFile,
        '--server',
        server.httpsUrl,
      ],
      {
        env: { ...process.env, RV_DATA_DIR: server.config.dataDir },
        encoding: 'utf8',
      },
    );
    expect(cli.stderr).toBe('');
    expect(cli.stdout).toContain(`wrote ${credentialsFile}`);
    expect(JSON.parse(readFileSync(credentialsFile, 'utf8'))).toMatchObject({ vaultName, subscriptionId });

    const specFile = join(dir, 'vm.json');
    writeFileSync(specFile, JSON.stringify(sqlVm(false, ['sales', 'hr'])));
    const agent = spawnAgent({ serverUrl: server.httpsUrl, credentialsFile, specFile, stateDir: join(dir, 'state') });
    try {
      await agent.waitForLine(/registered/i, 30_000);

      // refresh: 202, then the Location answers 202 … 204 (never 200, which the 12.0.0 SDK rejects).
      let refreshLocation: string | undefined;
      await backup.protectionContainers.refresh(vaultName, 'rg', 'Azure', {
        filter: "backupManagementType eq 'AzureWorkload'",
        onResponse: (raw) => {
          expect(raw.status).toBe(202);
          refreshLocation = raw.headers.get('location');
        },
      });
      expect(refreshLocation).toContain('/backupFabrics/Azure/operationResults/');
      const refreshStatuses = await pollResult((onResponse) =>
        backup.protectionContainerRefreshOperationResults.get(
          vaultName,
          'rg',
          'Azure',
          operationIdOf(refreshLocation),
          { onResponse },
        ),
      );
      expect(refreshStatuses.at(-1)).toBe(204);

      // azure-cli finds the container by matching containerId to the VM id, case-insensitively.
      const protectable = [];
      for await (const c of backup.protectableContainers.list(vaultName, 'rg', 'Azure', {
        filter: "backupManagementType eq 'AzureWorkload'",
      }))
        protectable.push(c);
      const vmId = `/subscriptions/${subscriptionId}/resourceGroups/sql-rg/providers/Microsoft.Compute/virtualMachines/sqlvm1`;
      const found = protectable.find(
        (c) => (c.properties as { containerId?: string }).containerId?.toLowerCase() === vmId.toLowerCase(),
      );
      expect(found?.name).toBe('VMAppContainer;Compute;sql-rg;sqlvm1');
      expect(found?.properties).toMatchObject({
        protectableContainerType: 'VMAppContainer',
        friendlyName: 'sqlvm1',
        healthStatus: 'Healthy',
      });
      const containerName = found?.name ?? '';

      // register: a long-running operation the SDK completes itself, ending with a GET of the container.
      const registered = await backup.protectionContainers.beginRegisterAndWait(
        vaultName,
        'rg',
        'Azure',
        containerName,
        {
          properties: {
            containerType: 'VMAppContainer',
            backupManagementType: 'AzureWorkload',
            sourceResourceId: vmId,
            workloadType: 'SQLDataBase',
          } as never,
        },
        poll,
      );
      expect(registered.properties).toMatchObject({
        containerType: 'VMAppContainer',
        registrationStatus: 'Registered',
        healthStatus: 'Healthy',
        sourceResourceId: vmId,
      });

      // inquire: 202 + Location polled 202 … 204.
      const inquire = async () => {
        let location: string | undefined;
        await backup.protectionContainers.inquire(vaultName, 'rg', 'Azure', containerName, {
          filter: "backupManagementType eq 'AzureWorkload' and workloadType eq 'SQLDataBase'",
          onResponse: (raw) => {
            location = raw.headers.get('location');
          },
        });
        const statuses = await pollResult((onResponse) =>
          backup.protectionContainerOperationResults.get(
            vaultName,
            'rg',
            'Azure',
            containerName,
            operationIdOf(location),
            { onResponse },
          ),
        );
        expect(statuses.at(-1)).toBe(204);
      };
      await inquire();

      const protectableItems = async () => {
        const items = [];
        for await (const item of backup.backupProtectableItems.list(vaultName, 'rg', {
          filter: "backupManagementType eq 'AzureWorkload' and workloadType eq 'SQLDataBase'",
        }))
          items.push(item);
        return items.map((i) => [
          i.name,
          (i.properties as { protectableItemType: string }).protectableItemType,
          (i.properties as { isProtectable?: boolean }).isProtectable,
        ]);
      };
      const firstItems = await protectableItems();
      expect(firstItems).toContainEqual(['SQLDataBase;MSSQLSERVER;sales', 'SQLDataBase', true]);
      expect(firstItems).toContainEqual(['SQLDataBase;MSSQLSERVER;hr', 'SQLDataBase', true]);
      expect(firstItems).toContainEqual(['SQLInstance;MSSQLSERVER', 'SQLInstance', true]);
      expect(firstItems).toContainEqual(['SQLInstance;REPORTING', 'SQLInstance', false]);
      expect(firstItems.map((i) => i[0])).not.toContain('SQLDataBase;REPORTING;reports');

      // The instance without sysadmin is reported in the container's inquiry info.
      const container = await backup.protectionContainers.get(vaultName, 'rg', 'Azure', containerName);
      const inquiryInfo = (
        container.properties as {
          extendedInfo?: { inquiryInfo?: { status?: string; errorDetail?: { code?: string; message?: string } } };
        }
      ).extendedInfo?.inquiryInfo;
      expect(inquiryInfo?.status).toBe('Failed');
      expect(inquiryInfo?.errorDetail?.code).toBe('UserErrorSQLNoSysadminMembership');
      expect(inquiryInfo?.errorDetail?.message).toContain('REPORTING');

      // Workload items carry the instances' data directories (for alternate-location restores).
      const workloadItems = [];
      for await (const item of backup.backupWorkloadItems.list(vaultName, 'rg', 'Azure', containerName, {
        filter: "backupManagementType eq 'AzureWorkload' and workloadItemType eq 'SQLInstance'",
      }))
        workloadItems.push(item);
      expect(workloadItems.map((i) => i.name).sort()).toEqual(['SQLInstance;MSSQLSERVER', 'SQLInstance;REPORTING']);
      const paths = (
        workloadItems.find((i) => i.name === 'SQLInstance;MSSQLSERVER')?.properties as {
          dataDirectoryPaths?: { type: string; path: string }[];
        }
      ).dataDirectoryPaths;
      expect(paths?.map((p) => p.type).sort()).toEqual(['Data', 'Log']);

      // The DBA grants sysadmin and drops a database; "Rediscover DBs" lists the instance's databases and forgets hr.
      writeFileSync(specFile, JSON.stringify(sqlVm(true, ['sales'])));
      await inquire();
      const secondItems = await protectableItems();
      expect(secondItems).toContainEqual(['SQLDataBase;REPORTING;reports', 'SQLDataBase', true]);
      expect(secondItems).toContainEqual(['SQLInstance;REPORTING', 'SQLInstance', true]);
      expect(secondItems.map((i) => i[0])).not.toContain('SQLDataBase;MSSQLSERVER;hr');
      const rediscovered = await backup.protectionContainers.get(vaultName, 'rg', 'Azure', containerName);
      expect(
        (rediscovered.properties as { extendedInfo?: { inquiryInfo?: { status?: string } } }).extendedInfo?.inquiryInfo
          ?.status,
      ).toBe('Success');

      const registeredContainers = [];
      for await (const c of backup.backupProtectionContainers.list(vaultName, 'rg', {
        filter: "backupManagementType eq 'AzureWorkload' and friendlyName eq 'sqlvm1'",
      }))
        registeredContainers.push(c.name);
      expect(registeredContainers).toEqual([containerName]);

      // Re-register (e.g. after the extension broke): the same PUT with operationType Reregister.
      const reregistered = await backup.protectionContainers.beginRegisterAndWait(
        vaultName,
        'rg',
        'Azure',
        containerName,
        {
          properties: { containerType: 'VMAppContainer', operationType: 'Reregister' } as never,
        },
        poll,
      );
      expect(reregistered.properties?.registrationStatus).toBe('Registered');

      // unregister: 202 + Location polled 202 … 204; the container is gone and so is the agent's registration.
      let unregisterLocation: string | undefined;
      await backup.protectionContainers.unregister(vaultName, 'rg', 'Azure', containerName, {
        onResponse: (raw) => {
          unregisterLocation = raw.headers.get('location');
        },
      });
      const unregisterStatuses = await pollResult((onResponse) =>
        backup.protectionContainerOperationResults.get(
          vaultName,
          'rg',
          'Azure',
          containerName,
          operationIdOf(unregisterLocation),
          { onResponse },
        ),
      );
      expect(unregisterStatuses.at(-1)).toBe(204);
      await expect(backup.protectionContainers.get(vaultName, 'rg', 'Azure', containerName)).rejects.toMatchObject({
        statusCode: 404,
      });
      await agent.waitForLine(/unregister/i, 10_000);

      const jobs = [];
      for await (const job of backup.backupJobs.list(vaultName, 'rg', {
        filter: "backupManagementType eq 'AzureWorkload'",
      }))
        jobs.push([job.properties?.operation, job.properties?.status, job.properties?.entityFriendlyName]);
      expect(jobs).toEqual([
        ['UnRegister', 'Completed', 'sqlvm1'],
        ['Register', 'Completed', 'sqlvm1'],
        ['Register', 'Completed', 'sqlvm1'],
      ]);
      const registerJobs = [];
      for await (const job of backup.backupJobs.list(vaultName, 'rg', {
        filter: "operation eq 'Register' and status eq 'Completed'",
      }))
        registerJobs.push(job.name);
      expect(registerJobs).toHaveLength(2);
      const firstJob = await backup.jobDetails.get(vaultName, 'rg', registerJobs[0] ?? '');
      expect(firstJob.properties).toMatchObject({
        jobType: 'AzureWorkloadJob',
        operation: 'Register',
        status: 'Completed',
      });
      await expect(backup.jobCancellations.trigger(vaultName, 'rg', registerJobs[0] ?? '')).rejects.toMatchObject({
        statusCode: 400,
        code: 'BMSUserErrorJobNotCancellable',
      });
    } finally {
      await agent.stop();
    }
  });

  it('turns a silent container Unhealthy', async () => {
    const quick = await startTestServer({ RV_AGENT_HEARTBEAT_SECONDS: '1', RV_AGENT_UNHEALTHY_AFTER_SECONDS: '2' });
    const stateDir = mkdtempSync(join(tmpdir(), 'rv-health-'));
    try {
      const token = await fetchToken(quick.httpsUrl);
      const sub = randomUUID();
      const clients = sdkClients(quick.httpsUrl, token, sub);
      const vault = await clients.vaults.vaults.createOrUpdate(
        'rg',
        'health-vault',
        { location: 'westeurope', sku: { name: 'Standard' } },
        poll,
      );
      const response = await fetch(
        `${quick.httpsUrl}${vault.id}/backupRegistrationCredentials?api-version=2023-06-01`,
        { method: 'POST', headers: { authorization: `Bearer ${token}` } },
      );
      const credentialsFile = join(stateDir, 'credentials.json');
      writeFileSync(credentialsFile, JSON.stringify(((await response.json()) as { properties: object }).properties));
      const specFile = join(stateDir, 'vm.json');
      writeFileSync(specFile, JSON.stringify({ ...sqlVm(true, ['sales']), vmName: 'quietvm' }));
      const agent = spawnAgent({
        serverUrl: quick.httpsUrl,
        credentialsFile,
        specFile,
        stateDir: join(stateDir, 'state'),
      });
      await agent.waitForLine(/registered/i, 30_000);
      await clients.backup.protectionContainers.refresh('health-vault', 'rg', 'Azure');
      const health = async () => {
        for await (const c of clients.backup.protectableContainers.list('health-vault', 'rg', 'Azure'))
          return (c.properties as { healthStatus?: string }).healthStatus;
        return undefined;
      };
      await sleep(300);
      expect(await health()).toBe('Healthy');
      agent.kill();
      await sleep(3_000);
      expect(await health()).toBe('Unhealthy');
    } finally {
      await quick.stop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
