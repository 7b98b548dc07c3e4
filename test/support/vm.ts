import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import { Agent, type AgentOptions } from '../../src/agent/agent.ts';
import { parseCredentials } from '../../src/agent/files.ts';
import { parseVmSpec, type VmSpec } from '../../src/agent/simulation/spec.ts';
import { fetchVaultCredentials } from './agent-process.ts';
import type { TestServer } from './server.ts';

/** Polls `probe` until it returns something other than undefined (or false). */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface SqlVm {
  agent: Agent;
  containerName: string;
  /** Changes the simulated VM (the next discovery reports it). */
  setSpec(spec: unknown): void;
}

/**
 * A simulated SQL Server VM, registered to a vault the way a user does it: vault credentials, a reference agent (the
 * library, speaking HTTP to the service), refreshContainers, register — and discovered (registration discovers).
 */
export async function registeredSqlVm(
  server: TestServer,
  backup: RecoveryServicesBackupClient,
  token: string,
  vaultArmId: string,
  specJson: unknown,
  /** Agent options over the test defaults (no retries: a test sees failures at once). */
  agentOptions: Partial<AgentOptions> = {},
): Promise<SqlVm> {
  const vaultName = vaultArmId.split('/').pop() ?? '';
  let spec: VmSpec = parseVmSpec(specJson);
  const agent = new Agent({
    serverUrl: server.httpsUrl,
    credentials: parseCredentials(await fetchVaultCredentials(server.httpsUrl, token, vaultArmId)),
    spec: () => spec,
    stateDir: mkdtempSync(join(tmpdir(), 'rv-vm-')),
    retry: { retries: 0, minDelayMs: 10, maxDelayMs: 50 },
    log: () => {},
    ...agentOptions,
  });
  await agent.start();
  try {
    return await registerAndDiscover();
  } catch (error) {
    await agent.stop();
    throw error;
  }
  async function registerAndDiscover(): Promise<SqlVm> {
    const containerName = `VMAppContainer;Compute;${spec.resourceGroup};${spec.vmName}`;
    await backup.protectionContainers.refresh(vaultName, 'rg', 'Azure');
    await until('the protectable container', async () => {
      for await (const c of backup.protectableContainers.list(vaultName, 'rg', 'Azure'))
        if (c.name === containerName) return true;
      return false;
    });
    await backup.protectionContainers.beginRegisterAndWait(
      vaultName,
      'rg',
      'Azure',
      containerName,
      { properties: { containerType: 'VMAppContainer' } as never },
      { updateIntervalInMs: 50 },
    );
    await until('the first discovery', async () => {
      const container = await backup.protectionContainers.get(vaultName, 'rg', 'Azure', containerName);
      return (
        (container.properties as { extendedInfo?: { inquiryInfo?: { status?: string } } }).extendedInfo?.inquiryInfo
          ?.status !== 'NotStarted' || undefined
      );
    });
    return {
      agent,
      containerName,
      setSpec(next) {
        spec = parseVmSpec(next);
      },
    };
  }
}

/** A Windows VM (resource group sql-rg) with one default SQL instance holding these database specs as they are. */
export function windowsSqlVm(vmName: string, databases: object[]) {
  return {
    vmName,
    resourceGroup: 'sql-rg',
    os: 'WindowsServer2022',
    instances: [{ name: 'MSSQLSERVER', version: '2022', edition: 'Enterprise', pluginIsSysadmin: true, databases }],
  };
}

/** A Windows VM with one SQL instance and the given databases (FULL unless `model` says otherwise). */
export function sqlVmSpec(vmName: string, databases: (string | { name: string; recoveryModel: string })[]) {
  return {
    vmName,
    resourceGroup: 'sql-rg',
    os: 'WindowsServer2022',
    instances: [
      {
        name: 'MSSQLSERVER',
        version: '2022',
        edition: 'Enterprise',
        pluginIsSysadmin: true,
        databases: databases.map((d) => ({
          ...(typeof d === 'string' ? { name: d, recoveryModel: 'FULL' } : d),
          sizeMiB: 1,
          files: 2,
          writesPerMinute: 0,
        })),
      },
    ],
  };
}

/** "Rediscover DBs": inquire a registered container through the SDK and wait for the inquiry to end. */
export async function rediscover(
  backup: RecoveryServicesBackupClient,
  vaultName: string,
  containerName: string,
  resourceGroup = 'rg',
): Promise<void> {
  let location: string | undefined;
  await backup.protectionContainers.inquire(vaultName, resourceGroup, 'Azure', containerName, {
    onResponse: (raw) => {
      location = raw.headers.get('location');
    },
  });
  const operationId = new URL(location!).pathname.split('/').pop()!;
  await until('the inquiry', async () => {
    let status = 0;
    await backup.protectionContainerOperationResults.get(
      vaultName,
      resourceGroup,
      'Azure',
      containerName,
      operationId,
      {
        onResponse: (raw) => {
          status = raw.status;
        },
      },
    );
    return status !== 202;
  });
}
