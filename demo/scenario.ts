/**
 * The demo's story, step by step, through the same doors users have: the official Azure SDK clients for the
 * management API, reference agents (the library, speaking HTTP) for the two VMs, the emulator clock for time.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from '../src/agent/agent.ts';
import { parseCredentials } from '../src/agent/files.ts';
import { parseVmSpec } from '../src/agent/simulation/spec.ts';
import type { RunningServer } from '../src/server.ts';
// The same helpers the test suite uses to be an SDK user: a client-credentials token, the official clients, a poll.
import { fetchToken, sdkClients } from '../test/support/sdk.ts';
import { until } from '../test/support/vm.ts';
import { fetchVaultCredentials } from '../test/support/agent-process.ts';
import { dailyFullWithLogs } from '../test/support/policies.ts';

export const SUBSCRIPTION = '00000000-0000-0000-0000-000000000001';
export const RESOURCE_GROUP = 'demo-rg';
export const VAULT = 'demo-vault';
export const POLICY = 'DailyFullHourlyLog';
export const poll = { updateIntervalInMs: 50 };

/** sqlvm1: two instances, one of them without sysadmin for the backup plugin; sqlvm2: a target for restores. */
export const VM1 = {
  vmName: 'sqlvm1',
  resourceGroup: 'sql-rg',
  os: 'WindowsServer2022',
  instances: [
    {
      name: 'MSSQLSERVER',
      version: '2022',
      edition: 'Enterprise',
      pluginIsSysadmin: true,
      databases: [
        { name: 'sales', recoveryModel: 'FULL', sizeMiB: 8, files: 2, writesPerMinute: 120 },
        { name: 'inventory', recoveryModel: 'FULL', sizeMiB: 4, files: 2, writesPerMinute: 30 },
      ],
    },
    {
      name: 'REPORTING',
      version: '2019',
      edition: 'Standard',
      pluginIsSysadmin: false,
      databases: [{ name: 'reports', recoveryModel: 'SIMPLE', sizeMiB: 2, files: 2, writesPerMinute: 0 }],
    },
  ],
};
export const VM2 = {
  vmName: 'sqlvm2',
  resourceGroup: 'sql-rg',
  os: 'WindowsServer2022',
  instances: [
    {
      name: 'MSSQLSERVER',
      version: '2022',
      edition: 'Enterprise',
      pluginIsSysadmin: true,
      databases: [{ name: 'scratch', recoveryModel: 'SIMPLE', sizeMiB: 1, files: 2, writesPerMinute: 0 }],
    },
  ],
};
const PROTECTED = ['sales', 'inventory'];

export interface Timing {
  step: string;
  seconds: number;
}
export type DiscoveryRow = { vm: string; instance: string; databases: string; status: string };
export type PointsRow = { database: string; fulls: number; logs: number; ranges: string[] };

/** A point-in-time restore and its proof: the restored content against the source's at that second. */
export interface RestoreProof {
  database: string;
  pointInTime: string;
  target: string;
  restoredSha256: string;
  sourceSha256: string;
  proven: boolean;
}

/** The demo's estate after two simulated days: what the demo's restore and the console's browser test start from. */
export interface Estate {
  token: string;
  vaults: ReturnType<typeof sdkClients>['vaults'];
  backup: ReturnType<typeof sdkClients>['backup'];
  vaultId: string;
  /** When the simulated days began (the clock's start). */
  start: Date;
  agents: Agent[];
  timings: Timing[];
  timed: <T>(step: string, work: () => Promise<T>) => Promise<T>;
  /** A call to the service's own routes (the emulator controls) with the estate's token. */
  api: (method: string, path: string, body?: object) => Promise<Record<string, unknown>>;
  discovery: DiscoveryRow[];
  backupsStarted: number;
  points: PointsRow[];
}

export const containerOf = (spec: { vmName: string; resourceGroup: string }) =>
  `VMAppContainer;Compute;${spec.resourceGroup};${spec.vmName}`;
export const SOURCE_CONTAINER = containerOf(VM1);
export const TARGET_CONTAINER = containerOf(VM2);

/**
 * The proof of a restore: the restored image's SHA-256 (the target VM's agent) against the content of the source
 * database at that second (the source VM's agent).
 */
export function restoredContent(agents: Agent[], database: string, restoredAs: string, pointInTime: Date) {
  const [source, target] = agents;
  const sourceStore = source!.simulatedState!;
  const sourceDb = sourceStore.state.databases.find((d) => d.name === database)!;
  const restored = target!.simulatedState!.state.databases.find((d) => d.name === restoredAs);
  return {
    sourceSha256: sourceStore.database(sourceDb).contentHashAt(pointInTime),
    restoredSha256: restored?.restoredFrom?.sha256 ?? '(not restored)',
  };
}

/** Vault, policy, two VMs registered and discovered, two databases protected, two simulated days of backups. */
export async function buildEstate(
  server: RunningServer,
  ca: string,
  stateRoot: string,
  log: (line: string) => void,
): Promise<Estate> {
  const timings: Timing[] = [];
  const timed = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const value = await work();
    timings.push({ step, seconds: (performance.now() - t0) / 1000 });
    log(`  ✓ ${step} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return value;
  };
  const base = server.httpsUrl;
  const token = await fetchToken(base);
  const { vaults, backup } = sdkClients(base, token, SUBSCRIPTION);
  const api = async (method: string, path: string, body?: object) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.json() as Promise<Record<string, unknown>>;
  };

  const vaultId = await timed('vault and policy created (SDK)', async () => {
    const vault = await vaults.vaults.createOrUpdate(
      RESOURCE_GROUP,
      VAULT,
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    await backup.protectionPolicies.createOrUpdate(VAULT, RESOURCE_GROUP, POLICY, dailyFullWithLogs(60));
    return vault.id ?? '';
  });
  // The clock starts a minute before tomorrow's 22:00 UTC Full.
  const start = new Date(Date.now() + 86_400_000);
  start.setUTCHours(21, 59, 0, 0);
  await api('POST', '/emulator/v1/clock', { to: start.toISOString() });

  const agents = await timed('two reference agents registered their VMs', async () => {
    const credentials = parseCredentials(await fetchVaultCredentials(base, token, vaultId));
    return Promise.all(
      [VM1, VM2].map(async (spec) => {
        const stateDir = join(stateRoot, spec.vmName);
        mkdirSync(stateDir, { recursive: true });
        const agent = new Agent({ serverUrl: base, credentials, spec: parseVmSpec(spec), stateDir, ca, log: () => {} });
        await agent.start();
        return agent;
      }),
    );
  });
  const discovery = await timed('refresh, register and discover (SDK: refresh → register → inquire)', async () => {
    await backup.protectionContainers.refresh(VAULT, RESOURCE_GROUP, 'Azure');
    await until('both VMs in protectableContainers', async () => {
      const found = new Set<string>();
      for await (const c of backup.protectableContainers.list(VAULT, RESOURCE_GROUP, 'Azure')) found.add(c.name ?? '');
      return [VM1, VM2].every((vm) => found.has(containerOf(vm)));
    });
    for (const vm of [VM1, VM2]) {
      await backup.protectionContainers.beginRegisterAndWait(
        VAULT,
        RESOURCE_GROUP,
        'Azure',
        containerOf(vm),
        { properties: { containerType: 'VMAppContainer' } as never },
        poll,
      );
    }
    const rows: DiscoveryRow[] = [];
    for (const vm of [VM1, VM2]) {
      const container = await until('the discovery of the VM', async () => {
        const c = await backup.protectionContainers.get(VAULT, RESOURCE_GROUP, 'Azure', containerOf(vm));
        const info = (
          c.properties as { extendedInfo?: { inquiryInfo?: { status?: string; errorDetail?: { code?: string } } } }
        ).extendedInfo?.inquiryInfo;
        return info?.status === 'NotStarted' ? undefined : info;
      });
      for (const instance of vm.instances) {
        rows.push({
          vm: vm.vmName,
          instance: instance.name,
          databases: instance.databases.map((db) => db.name).join(', '),
          status: instance.pluginIsSysadmin ? 'discovered' : `not discovered: ${container.errorDetail?.code ?? '?'}`,
        });
      }
    }
    return rows;
  });

  await timed(`protected ${PROTECTED.join(' and ')} with ${POLICY}`, async () => {
    for (const db of PROTECTED) {
      await backup.protectedItems.createOrUpdate(
        VAULT,
        RESOURCE_GROUP,
        'Azure',
        containerOf(VM1),
        `SQLDataBase;MSSQLSERVER;${db}`,
        {
          properties: {
            protectedItemType: 'AzureVmWorkloadSQLDatabase',
            policyId: `${vaultId}/backupPolicies/${POLICY}`,
          } as never,
        },
      );
    }
    await until('both databases protected', async () => {
      for (const db of PROTECTED) {
        const item = await backup.protectedItems
          .get(VAULT, RESOURCE_GROUP, 'Azure', containerOf(VM1), `SQLDataBase;MSSQLSERVER;${db}`)
          .catch(() => undefined);
        if ((item?.properties as { policyName?: string } | undefined)?.policyName !== POLICY) return false;
      }
      const jobs: string[] = [];
      for await (const job of backup.backupJobs.list(VAULT, RESOURCE_GROUP, {
        filter: "operation eq 'ConfigureBackup'",
      }))
        jobs.push(job.properties?.status ?? '');
      return jobs.length === PROTECTED.length && jobs.every((s) => s === 'Completed');
    });
  });

  const backupsStarted = await timed('played two simulated days on the emulator clock', async () => {
    const played = await api('POST', '/emulator/v1/clock', { advanceSeconds: 2 * 86_400 });
    return Number(played.backupsStarted ?? 0);
  });

  const points: PointsRow[] = [];
  for (const db of PROTECTED) {
    let fulls = 0;
    let ranges: string[] = [];
    for await (const p of backup.recoveryPoints.list(
      VAULT,
      RESOURCE_GROUP,
      'Azure',
      containerOf(VM1),
      `SQLDataBase;MSSQLSERVER;${db}`,
    )) {
      const props = p.properties as { type?: string; timeRanges?: { startTime: Date; endTime: Date }[] };
      if (p.name === 'DefaultRangeRecoveryPoint')
        ranges = (props.timeRanges ?? []).map((r) => `${iso(r.startTime)} → ${iso(r.endTime)}`);
      else if (props.type === 'Full') fulls += 1;
    }
    const logs = await server.app.db.recoveryPoint.count({
      where: { type: 'Log', protectedItem: { friendlyName: db, container: { friendlyName: VM1.vmName } } },
    });
    points.push({ database: db, fulls, logs, ranges });
  }
  return { token, vaults, backup, vaultId, start, agents, timings, timed, api, discovery, backupsStarted, points };
}

/**
 * Restores `database` (protected as `itemName` on `container`) to a random whole second in [from, to] on sqlvm2 as
 * `<database>_restored` (SDK: restores.beginTriggerAndWait), and proves the restored content against the source's.
 */
export async function restoreAndProve(
  estate: Estate,
  {
    container,
    itemName,
    database,
    from,
    to,
  }: { container: string; itemName: string; database: string; from: Date; to: Date },
): Promise<RestoreProof> {
  const first = Math.ceil(from.getTime() / 1000);
  const last = Math.floor(to.getTime() / 1000);
  const pointInTime = new Date((first + Math.floor(Math.random() * (last - first + 1))) * 1000);
  await estate.backup.restores.beginTriggerAndWait(
    VAULT,
    RESOURCE_GROUP,
    'Azure',
    container,
    itemName,
    'DefaultRangeRecoveryPoint',
    {
      properties: {
        objectType: 'AzureWorkloadSQLPointInTimeRestoreRequest',
        recoveryType: 'AlternateLocation',
        shouldUseAlternateTargetLocation: true,
        pointInTime,
        targetInfo: {
          overwriteOption: 'FailOnConflict',
          containerId: `${estate.vaultId}/backupFabrics/Azure/protectionContainers/${containerOf(VM2)}`,
          databaseName: `MSSQLSERVER/${database}_restored`,
        },
      } as never,
    },
    poll,
  );
  const { sourceSha256, restoredSha256 } = restoredContent(
    estate.agents,
    database,
    `${database}_restored`,
    pointInTime,
  );
  return {
    database,
    pointInTime: pointInTime.toISOString(),
    target: `sqlvm2 MSSQLSERVER/${database}_restored`,
    restoredSha256,
    sourceSha256,
    proven: restoredSha256 === sourceSha256,
  };
}

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');
