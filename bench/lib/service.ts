// What the data-plane benchmarks share (bench/ingest.ts, bench/restore-read.ts): the compiled service as its own
// process, started as `npm start` starts it, against an Azurite of the bench's own; /proc readings of the processes
// at work; a vault whose VM (the reference agent, a library in the bench process) protects one database; backups
// through the agent; the figures and their summary lines.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { Agent, type AgentLogEntry } from '../../src/agent/agent.ts';
import { parseCredentials } from '../../src/agent/files.ts';
import { parseVmSpec } from '../../src/agent/simulation/spec.ts';
import { startAzurite } from '../../src/storage/azurite.ts';
import { azuritePid, memory, usage } from './proc.ts';
import { armCaller, devToken, freshBenchDatabase, type ArmCall } from './arm.ts';
import type { Floor } from './floor.ts';
import { dailyFull } from '../../test/support/policies.ts';

type Memory = ReturnType<typeof memory>;

const mib = (bytes: number) => bytes / (1024 * 1024);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * Runs per benchmark (each measures the baseline and the service path back to back, alternating which goes first):
 * three, so that the median is one run's figure, not the mean of two on a host where single runs differ by 2–3×.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/**
 * The environment settings, node flags and script of `npm start` (package.json: `[NAME=value …] node [flag …]
 * script`), so that the service runs here as it runs there.
 */
export function startCommand(): { env: Record<string, string>; args: string[] } {
  const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } };
  const words = scripts.start.trim().split(/\s+/);
  const env: Record<string, string> = {};
  for (let word = words[0]; word !== undefined && /^[A-Z_][A-Z0-9_]*=/.test(word); word = words[0]) {
    words.shift();
    env[word.slice(0, word.indexOf('='))] = word.slice(word.indexOf('=') + 1);
  }
  if (words.shift() !== 'node') throw new Error(`npm start runs '${scripts.start}', not node`);
  return { env, args: words };
}

/** The memory of a Node process that loads nothing, started as `npm start` starts the service: what any Node costs. */
async function bareNodeMemory(): Promise<Memory> {
  const { env, args } = startCommand();
  const bare = spawn(process.execPath, [...args.slice(0, -1), '-e', 'setInterval(() => {}, 1000)'], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  await sleep(500);
  const reading = memory(bare.pid ?? 0);
  bare.kill();
  return reading;
}

export interface CpuSeconds {
  bench: number;
  service: number;
  azurite: number;
}

export interface BenchService {
  /** Plain HTTP (the management calls of the bench). */
  base: string;
  /** HTTPS, as agents reach the service (the agent plane of the bench). */
  httpsBase: string;
  /** The service's TLS certificate and key (PEM): the agent trusts the one, the floor serves with both. */
  tls: { cert: string; key: string };
  blobs: BlobServiceClient;
  pid: number;
  /** CPU seconds of the three processes at work so far: this one (agent or baseline client), the service, Azurite. */
  cpu(): CpuSeconds;
  cpuSince(start: CpuSeconds): CpuSeconds;
  /** Its memory once it listens, before the bench has asked anything of it. */
  started: Memory;
  /** Samples the service's memory every 50 ms until the returned function is called; that returns the peak reading. */
  watchMemory(): () => Memory;
  stop(): Promise<void>;
}

/**
 * Builds the service, starts it on its own Azurite and a fresh bench database (`name`: its master key is this run's,
 * which the database records), and waits until it listens.
 */
export async function startBenchService(name: string): Promise<BenchService> {
  const DATABASE_URL = await freshBenchDatabase(name);
  const azurite = await startAzurite({ port: 0 });
  const dataDir = mkdtempSync(join(tmpdir(), 'rv-bench-'));
  // The compiled service, as `npm start` runs it (tsx's compiler would count against the service's memory).
  const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  // BENCH_SERVICE_NODE_ARGS: extra node flags for the service (e.g. `--cpu-prof`), for investigations only.
  // BENCH_SERVICE_STDOUT: a file to append the service's standard output to (e.g. with --trace-gc).
  const stdoutFile = process.env.BENCH_SERVICE_STDOUT;
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(/\s+/).filter((arg) => arg.length > 0);
  const start = startCommand();
  console.log(
    `service: ${Object.entries(start.env)
      .map(([name, value]) => `${name}=${value} `)
      .join('')}node ${[...start.args.slice(0, -1), ...nodeArgs, ...start.args.slice(-1)].join(' ')}`,
  );
  const service: ChildProcessByStdio<null, Readable, null> = spawn(
    process.execPath,
    [...start.args.slice(0, -1), ...nodeArgs, ...start.args.slice(-1)],
    {
      env: {
        ...process.env,
        ...start.env,
        RV_DATA_DIR: dataDir,
        RV_HTTPS_PORT: '0',
        RV_HTTP_PORT: '0',
        DATABASE_URL,
        RV_BLOB_CONNECTION_STRING: azurite.connectionString,
        RV_LOG_LEVEL: 'warn',
        RV_QUEUE_PREFIX: `rv-bench-${randomUUID()}`,
        RV_SCHEDULER_TICK_SECONDS: '3600',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const pid = service.pid ?? 0;
  const stop = async () => {
    if (service.exitCode === null) {
      service.kill('SIGTERM');
      await new Promise((resolve) => service.once('exit', resolve));
    }
    await azurite.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const [httpsBase, base] = await new Promise<[string, string]>((resolve, reject) => {
      let out = '';
      service.stdout.on('data', (chunk: Buffer) => {
        if (stdoutFile !== undefined) appendFileSync(stdoutFile, chunk);
        out += chunk.toString();
        const match = /(https:\/\/\S+) \(HTTPS\), (http:\/\/\S+) \(HTTP\)/.exec(out);
        if (match?.[1] !== undefined && match[2] !== undefined) resolve([match[1], match[2]]);
      });
      service.once('exit', (code) => reject(new Error(`service exited (${code}): ${out}`)));
    });
    const started = memory(pid);
    const azuriteProcess = azuritePid();
    const cpu = (): CpuSeconds => {
      const bench = process.cpuUsage();
      return { bench: (bench.user + bench.system) / 1e6, service: usage(pid).cpu, azurite: usage(azuriteProcess).cpu };
    };
    const tls = {
      cert: readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8'),
      key: readFileSync(join(dataDir, 'tls', 'key.pem'), 'utf8'),
    };
    return {
      base,
      httpsBase,
      tls,
      blobs: BlobServiceClient.fromConnectionString(azurite.connectionString),
      pid,
      cpu,
      cpuSince(start) {
        const now = cpu();
        return {
          bench: now.bench - start.bench,
          service: now.service - start.service,
          azurite: now.azurite - start.azurite,
        };
      },
      started,
      watchMemory() {
        let peak = memory(pid);
        const sample = () => {
          const now = memory(pid);
          if (now.rss > peak.rss) peak = now;
        };
        const sampler = setInterval(sample, 50);
        return () => {
          clearInterval(sampler);
          sample();
          return peak;
        };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface ProtectedDatabase {
  agent: Agent;
  /** A management call (api-version added); throws on an error status. */
  arm: ArmCall;
  container: string;
  item: string;
  /** An on-demand Full through the management API, streamed by the agent; resolves once it is committed. */
  backupFull(): Promise<{ sizeBytes: number; seconds: number }>;
}

/**
 * A vault, a policy without compression, the reference agent (a library in this process) on a simulated VM whose one
 * database of `sizeMiB` (seed `seed`) it protects.
 */
export async function protectedDatabase(
  service: BenchService,
  options: { sizeMiB: number; seed: string; stateDir: string },
): Promise<ProtectedDatabase> {
  const { base } = service;
  const token = await devToken(base);
  const vault = `/subscriptions/${randomUUID()}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/bench`;
  const arm = armCaller(base, token);
  await arm('PUT', vault, { location: 'westeurope' });
  await arm('PUT', `${vault}/backupPolicies/daily`, { properties: dailyFull() });
  const credentials = (
    (await (await arm('POST', `${vault}/backupRegistrationCredentials`)).json()) as { properties: object }
  ).properties;
  let onBackup: (entry: AgentLogEntry) => void = () => {};
  const agent = new Agent({
    serverUrl: service.httpsBase,
    ca: service.tls.cert,
    credentials: parseCredentials(credentials),
    stateDir: options.stateDir,
    log: (entry) => {
      if (entry.event === 'backupCompleted' || entry.event === 'backupFailed') onBackup(entry);
    },
    spec: parseVmSpec({
      vmName: 'benchvm',
      resourceGroup: 'rg',
      os: 'WindowsServer2022',
      instances: [
        {
          name: 'MSSQLSERVER',
          version: '2022',
          edition: 'Enterprise',
          pluginIsSysadmin: true,
          databases: [
            {
              name: 'sales',
              recoveryModel: 'FULL',
              sizeMiB: options.sizeMiB,
              files: 2,
              writesPerMinute: 0,
              seed: options.seed,
            },
          ],
        },
      ],
    }),
  });
  await agent.start();
  const container = `${vault}/backupFabrics/Azure/protectionContainers/VMAppContainer;Compute;rg;benchvm`;
  await arm('POST', `${vault}/backupFabrics/Azure/refreshContainers`);
  await sleep(500);
  await arm('PUT', container, { properties: { containerType: 'VMAppContainer' } });
  const item = `${container}/protectedItems/SQLDataBase;MSSQLSERVER;sales`;
  // Protect it once discovery has listed it (the PUT is refused until then), and say why if that never happens.
  let refused: unknown;
  for (let i = 0; ; i++) {
    const response = await fetch(`${base}${item}?api-version=2023-06-01`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (response.ok) break;
    if (response.status !== 404 || i >= 200)
      throw new Error(`the protected item never appeared (GET ${response.status}; last PUT: ${String(refused)})`);
    refused = await arm('PUT', item, {
      properties: { protectedItemType: 'AzureVmWorkloadSQLDatabase', policyId: `${vault}/backupPolicies/daily` },
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    await sleep(100);
  }
  return {
    agent,
    arm,
    container,
    item,
    async backupFull() {
      const finished = new Promise<AgentLogEntry>((resolve) => {
        onBackup = resolve;
      });
      const t0 = performance.now();
      await arm('POST', `${item}/backup`, {
        properties: { objectType: 'AzureWorkloadBackupRequest', backupType: 'Full' },
      });
      // The end: the agent's commit answered (the job is completed by then; checked below, outside the timing).
      const outcome = await finished;
      const seconds = (performance.now() - t0) / 1000;
      if (outcome.event !== 'backupCompleted') throw new Error(`the backup failed: ${outcome.message}`);
      const jobs = (await (
        await arm('GET', `${vault}/backupJobs?$filter=${encodeURIComponent("operation eq 'Backup'")}`)
      ).json()) as { value: { properties: { status: string } }[] };
      if (jobs.value[0]?.properties.status !== 'Completed')
        throw new Error(`the backup job is ${jobs.value[0]?.properties.status}`);
      return { sizeBytes: Number(outcome.data?.sizeBytes), seconds };
    },
  };
}

/** A table, one row per measurement: numbers aligned right, text left. */
function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  const numeric = rows[0]!.map((_, i) => rows.slice(1).every((row) => /^-?[0-9.]+$/.test(row[i] ?? '')));
  for (const row of rows)
    console.log(row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  '));
}

/** CPU seconds per GiB of each process, for a table row. */
const perGib = (cpu: CpuSeconds, bytes: number) =>
  [cpu.bench, cpu.service, cpu.azurite].map((seconds) => (seconds / (bytes / 1024 ** 3)).toFixed(2));

/** One measurement: bytes moved, wall seconds, CPU seconds per process. */
export interface Measured {
  bytes: number;
  seconds: number;
  cpu: CpuSeconds;
}

/**
 * RUNS runs of the baseline and the service path back to back (alternating which goes first), then the table and one
 * summary line per figure: the service path's MiB/s, its CPU per GiB, the ratio to the baseline, the service's RSS.
 */
export async function compare(
  service: BenchService,
  options: {
    name: string;
    baseline: { label: string; run(): Promise<Measured> };
    ours: { label: string; run(): Promise<Measured> };
    ratioTarget: number;
    rssTargetMiB?: number;
    /** The floor of the service path's work (bench/lib/floor.ts), measured after each run with the same bytes. */
    floor?: { target: number; measure(bytes: number): Promise<Floor> };
    /** Throws when the two did not move the same data. */
    check?(baseline: Measured, ours: Measured): void;
  },
): Promise<void> {
  const idle = memory(service.pid);
  const peakMemory = service.watchMemory();
  const rows = [['run', 'path', 'MiB', 'seconds', 'MiB/s', 'CPU-s/GiB: bench', 'service', 'Azurite']];
  const ratios: number[] = [];
  const rates: number[] = [];
  const serviceCpu: number[] = [];
  const floors: Floor[] = [];
  const rate = (m: Measured) => mib(m.bytes) / m.seconds;
  for (let run = 1; run <= RUNS; run++) {
    const base = run % 2 === 1 ? await options.baseline.run() : undefined;
    const ours = await options.ours.run();
    const baseline = base ?? (await options.baseline.run());
    options.check?.(baseline, ours);
    rows.push(
      [
        String(run),
        options.baseline.label,
        mib(baseline.bytes).toFixed(0),
        baseline.seconds.toFixed(2),
        rate(baseline).toFixed(1),
        ...perGib(baseline.cpu, baseline.bytes),
      ],
      [
        String(run),
        options.ours.label,
        mib(ours.bytes).toFixed(0),
        ours.seconds.toFixed(2),
        rate(ours).toFixed(1),
        ...perGib(ours.cpu, ours.bytes),
      ],
    );
    ratios.push(rate(ours) / rate(baseline));
    rates.push(rate(ours));
    serviceCpu.push(ours.cpu.service / (ours.bytes / 1024 ** 3));
    if (options.floor !== undefined) floors.push(await options.floor.measure(ours.bytes));
  }
  const peak = peakMemory();
  printTable(rows);
  if (options.floor !== undefined && floors.length > 0) {
    console.log(`\n${options.name} floor (this process, the same bytes through the unavoidable steps alone):`);
    printTable([
      ['step', ...floors.map((_, i) => `run ${i + 1} CPU-s/GiB`), 'median'],
      ...floors[0]!.steps.map((step, s) => {
        const values = floors.map((f) => f.steps[s]!.cpuPerGib);
        return [step.step, ...values.map((v) => v.toFixed(2)), median(values).toFixed(2)];
      }),
      ['floor', ...floors.map((f) => f.cpuPerGib.toFixed(2)), median(floors.map((f) => f.cpuPerGib)).toFixed(2)],
    ]);
    const overFloor = serviceCpu.map((cpu, i) => cpu / floors[i]!.cpuPerGib);
    console.log(
      `${options.name} service CPU-s/GiB ÷ floor: ${spread(overFloor, 2)} (target <= ${options.floor.target}); service ${median(serviceCpu).toFixed(2)}, floor ${median(floors.map((f) => f.cpuPerGib)).toFixed(2)} CPU-s/GiB; throughput ratio ${median(ratios).toFixed(2)}`,
    );
  }
  const rssTarget = options.rssTargetMiB === undefined ? '' : ` (target < ${options.rssTargetMiB})`;
  console.log(`${options.name} MiB/s (${options.ours.label}): ${spread(rates, 1)}`);
  console.log(`${options.name} service CPU-s/GiB: ${spread(serviceCpu, 2)}`);
  console.log(`${options.name} ratio (service / baseline): ${spread(ratios, 2)} (target >= ${options.ratioTarget})`);
  const bare = await bareNodeMemory();
  // Where the resident memory is: the process as started, what the bench's set-up added, what the runs added; and
  // how much of it is the node binary's pages rather than the service's own allocations.
  const split = (m: Memory) =>
    `${mib(m.rss).toFixed(0)} MiB (anonymous ${mib(m.anonymous).toFixed(0)}, file-backed ${mib(m.fileBacked).toFixed(0)})`;
  console.log(
    `${options.name} service RSS: ${split(service.started)} once listening, ${split(idle)} before the runs, peak ${split(peak)}${rssTarget}; a bare node with npm start's flags: ${split(bare)}`,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 === 1
    ? sorted[(sorted.length - 1) / 2]!
    : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
}

/** "median x (min–max over n runs)". */
function spread(values: number[], digits: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${median(values).toFixed(digits)} (${sorted[0]!.toFixed(digits)}–${sorted.at(-1)!.toFixed(digits)} over ${sorted.length} run${sorted.length === 1 ? '' : 's'})`;
}
