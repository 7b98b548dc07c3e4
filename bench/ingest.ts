// Ingest benchmark (issue 5 / 8): a 1 GiB SQL Full backup streamed by the reference agent through the service into
// Azurite, against the same kind of bytes uploaded straight to the same Azurite with @azure/storage-blob in 4 MiB
// blocks, in the same run. The service runs as its own process so its RSS and CPU are its own.
//   npm run bench -- ingest            (BENCH_SIZE_MIB=256 for a shorter run)
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { Agent, type AgentLogEntry } from '../src/agent/agent.ts';
import { parseCredentials } from '../src/agent/files.ts';
import { parseVmSpec } from '../src/agent/simulation/spec.ts';
import { openBackup } from '../src/agent/simulation/backup.ts';
import { planBackup } from '../src/agent/simulation/chain.ts';
import { startAzurite } from '../src/storage/azurite.ts';
import { DEV_PRINCIPAL } from '../src/config.ts';

const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
const SEED = 'bench/MSSQLSERVER/sales';
const BLOCK = 4 * 1024 * 1024;
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/recovery_vault_bench';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => bytes / 1024 / 1024;

/** RSS (bytes) and CPU seconds of a process, from /proc. */
function usage(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const cpu = (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100/s)
  return { rss, cpu };
}

/** The pid of this process's child running Azurite (startAzurite spawns it). */
function azuritePid(): number {
  for (const task of readdirSync('/proc/self/task')) {
    for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('azurite')) return Number(pid);
    }
  }
  throw new Error('no Azurite child process found');
}

async function main() {
  const azurite = await startAzurite({ port: 0 });
  const dataDir = mkdtempSync(join(tmpdir(), 'rv-bench-'));
  // The compiled service, as `npm start` runs it (tsx's compiler would count against the service's memory).
  const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  // BENCH_SERVICE_NODE_ARGS: extra node flags for the service (e.g. `--cpu-prof`), for investigations only.
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(/\s+/).filter((arg) => arg.length > 0);
  const service = spawn(process.execPath, [...nodeArgs, 'dist/server.js'], {
    env: {
      ...process.env, RV_DATA_DIR: dataDir, RV_HTTPS_PORT: '0', RV_HTTP_PORT: '0', DATABASE_URL,
      RV_BLOB_CONNECTION_STRING: azurite.connectionString, RV_LOG_LEVEL: 'warn', RV_QUEUE_PREFIX: `rv-bench-${randomUUID()}`,
      RV_SCHEDULER_TICK_SECONDS: '3600',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // CPU seconds of the three processes at work: this one (generator and agent, or the baseline's client), the
  // service, Azurite.
  const azuritePidValue = azuritePid();
  const cpu = () => ({ bench: process.cpuUsage(), service: usage(service.pid ?? 0).cpu, azurite: usage(azuritePidValue).cpu });
  const cpuSince = (start: ReturnType<typeof cpu>) => {
    const now = cpu();
    const bench = process.cpuUsage(start.bench);
    return { bench: (bench.user + bench.system) / 1e6, service: now.service - start.service, azurite: now.azurite - start.azurite };
  };
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      service.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /(http:\/\/\S+) \(HTTP\)/.exec(out);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      service.once('exit', (code) => reject(new Error(`service exited (${code}): ${out}`)));
    });
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);

    // Through the service: a vault, a VM, a protected database, an on-demand Full.
    const token = ((await (await fetch(`${base}/oauth2/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: DEV_PRINCIPAL.clientId ?? '', client_secret: DEV_PRINCIPAL.clientSecret ?? '' }),
    })).json()) as { access_token: string }).access_token;
    const vault = `/subscriptions/${randomUUID()}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/bench`;
    const arm = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${base}${path}${path.includes('?') ? '&' : '?'}api-version=2023-06-01`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return response;
    };
    await arm('PUT', vault, { location: 'westeurope' });
    await arm('PUT', `${vault}/backupPolicies/daily`, { properties: {
      backupManagementType: 'AzureWorkload', workLoadType: 'SQLDataBase', settings: { timeZone: 'UTC', issqlcompression: false },
      subProtectionPolicy: [{ policyType: 'Full', schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: ['2026-01-01T22:00:00Z'] },
        retentionPolicy: { retentionPolicyType: 'LongTermRetentionPolicy', dailySchedule: { retentionTimes: ['2026-01-01T22:00:00Z'], retentionDuration: { count: 30, durationType: 'Days' } } } }],
    } });
    const credentials = ((await (await arm('POST', `${vault}/backupRegistrationCredentials`)).json()) as { properties: object }).properties;
    let waitForBackup: (entry: AgentLogEntry) => void = () => {};
    const agent = new Agent({
      serverUrl: base, credentials: parseCredentials(credentials), stateDir: join(dataDir, 'agent'),
      log: (entry) => {
        if (entry.event === 'backupCompleted' || entry.event === 'backupFailed') waitForBackup(entry);
      },
      spec: parseVmSpec({ vmName: 'benchvm', resourceGroup: 'rg', os: 'WindowsServer2022', instances: [{ name: 'MSSQLSERVER', version: '2022', edition: 'Enterprise', pluginIsSysadmin: true,
        databases: [{ name: 'sales', recoveryModel: 'FULL', sizeMiB: SIZE_MIB, files: 2, writesPerMinute: 0, seed: SEED }] }] }),
    });
    await agent.start();
    const container = `${vault}/backupFabrics/Azure/protectionContainers/VMAppContainer;Compute;rg;benchvm`;
    await arm('POST', `${vault}/backupFabrics/Azure/refreshContainers`);
    await sleep(500);
    await arm('PUT', container, { properties: { containerType: 'VMAppContainer' } });
    const item = `${container}/protectedItems/SQLDataBase;MSSQLSERVER;sales`;
    for (let i = 0; ; i++) {
      const response = await fetch(`${base}${item}?api-version=2023-06-01`, { headers: { authorization: `Bearer ${token}` } });
      if (response.status === 404 && i < 200) {
        await arm('PUT', item, { properties: { protectedItemType: 'AzureVmWorkloadSQLDatabase', policyId: `${vault}/backupPolicies/daily` } }).catch(() => undefined);
        await sleep(100);
        continue;
      }
      break;
    }

    // Baseline: the agent's own simulated database image planned as the agent plans it (same pages and size; only the
    // backup header's times differ), uploaded straight to the same Azurite in 4 MiB blocks, one at a time, as storage-blob does it.
    const record = agent.simulatedState?.state.databases.find((d) => d.name === 'sales');
    if (record === undefined) throw new Error('the agent has no database sales');
    const db = agent.simulatedState!.database(record);
    const direct = blobs.getContainerClient('bench-direct');
    await direct.createIfNotExists();
    const handle = openBackup(db, planBackup({ name: record.name, readOnly: record.readOnly }, record.chain, 'Full', new Date()));
    const d0 = cpu();
    const t0 = performance.now();
    await direct.getBlockBlobClient('full.bak').uploadStream(handle.stream, BLOCK, 1);
    const directSeconds = (performance.now() - t0) / 1000;
    const directCpu = cpuSince(d0);
    const bytes = (await direct.getBlockBlobClient('full.bak').getProperties()).contentLength ?? 0;
    // Azurite keeps blobs in memory: drop the baseline's before the service's run.
    await direct.getBlockBlobClient('full.bak').delete();

    const before = usage(service.pid ?? 0);
    const s0 = cpu();
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, usage(service.pid ?? 0).rss);
    }, 50);
    const finished = new Promise<AgentLogEntry>((resolve) => {
      waitForBackup = (entry) => resolve(entry);
    });
    const t1 = performance.now();
    await arm('POST', `${item}/backup`, { properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Full' } });
    // The end: the agent's commit answered (the job is completed by then; checked below, outside the timing).
    const outcome = await finished;
    const serviceSeconds = (performance.now() - t1) / 1000;
    const serviceCpu = cpuSince(s0);
    clearInterval(sampler);
    if (outcome.event !== 'backupCompleted') throw new Error(`the backup failed: ${outcome.message}`);
    const jobs = (await (await arm('GET', `${vault}/backupJobs?$filter=${encodeURIComponent("operation eq 'Backup'")}`)).json()) as { value: { properties: { status: string } }[] };
    if (jobs.value[0]?.properties.status !== 'Completed') throw new Error(`the backup job is ${jobs.value[0]?.properties.status}`);
    const stored = Number(outcome.data?.sizeBytes);
    if (stored !== bytes) throw new Error(`the agent's backup holds ${stored} bytes, the baseline ${bytes}`);
    await agent.stop();

    const gib = bytes / 1024 ** 3;
    const directRate = mib(bytes) / directSeconds;
    const serviceRate = mib(bytes) / serviceSeconds;
    const perGib = (c: { bench: number; service: number; azurite: number }) => [c.bench, c.service, c.azurite].map((v) => (v / gib).toFixed(2));
    const rows = [
      ['path', 'MiB', 'seconds', 'MiB/s', 'CPU-s/GiB: bench', 'service', 'Azurite'],
      ['direct upload (storage-blob, 4 MiB blocks)', mib(bytes).toFixed(0), directSeconds.toFixed(2), directRate.toFixed(1), ...perGib({ ...directCpu, service: 0 })],
      ['agent → service (SHA-256, AES-256-GCM) → Azurite', mib(bytes).toFixed(0), serviceSeconds.toFixed(2), serviceRate.toFixed(1), ...perGib(serviceCpu)],
    ];
    for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(i === 0 ? 52 : i === 4 ? 18 : 10)).join(''));
    console.log(`service CPU: ${(serviceCpu.service / gib).toFixed(2)} s/GiB; service RSS before the run (idle): ${mib(before.rss).toFixed(0)} MiB; peak: ${mib(peakRss).toFixed(0)} MiB`);
    console.log(`ingest ratio (service / direct): ${(serviceRate / directRate).toFixed(2)} (target >= 0.8)`);
    console.log(`ingest peak RSS: ${mib(peakRss).toFixed(0)} MiB (target < 200)`);
  } finally {
    service.kill('SIGTERM');
    await new Promise((resolve) => service.once('exit', resolve));
    await azurite.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
