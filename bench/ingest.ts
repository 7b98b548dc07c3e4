// Ingest benchmark (issues 5 and 8): a 1 GiB SQL Full backup streamed by the reference agent through the service into
// Azurite, against the same bytes uploaded straight to the same Azurite with @azure/storage-blob in 4 MiB blocks, in
// the same run. The service runs as its own process (as `npm start` runs it) so that its RSS and CPU are its own.
// Each of BENCH_RUNS runs (2) measures both paths back to back, alternating which goes first.
//   npm run bench -- ingest            (BENCH_SIZE_MIB=256 for a shorter run)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBackup } from '../src/agent/simulation/backup.ts';
import { planBackup } from '../src/agent/simulation/chain.ts';
import { mib, perGib, printTable, protectedDatabase, RUNS, spread, startBenchService, usage, type CpuSeconds } from './lib/service.ts';

const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
const BLOCK = 4 * 1024 * 1024;

const service = await startBenchService();
const stateDir = mkdtempSync(join(tmpdir(), 'rv-bench-agent-'));
try {
  const db = await protectedDatabase(service, { sizeMiB: SIZE_MIB, seed: 'bench/MSSQLSERVER/sales', stateDir });
  const direct = service.blobs.getContainerClient('bench-direct');
  await direct.createIfNotExists();

  // Baseline: the agent's own simulated database image planned as the agent plans it (same pages and size; only the
  // backup header's times differ), uploaded straight to Azurite in 4 MiB blocks, one at a time, as storage-blob does it.
  const directUpload = async () => {
    const store = db.agent.simulatedState!;
    const record = store.state.databases.find((d) => d.name === 'sales')!;
    const handle = openBackup(store.database(record), planBackup({ name: record.name, readOnly: record.readOnly }, record.chain, 'Full', new Date()));
    const blob = direct.getBlockBlobClient('full.bak');
    const c0 = service.cpu();
    const t0 = performance.now();
    await blob.uploadStream(handle.stream, BLOCK, 1);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = service.cpuSince(c0);
    const bytes = (await blob.getProperties()).contentLength ?? 0;
    await blob.delete(); // Azurite keeps blobs in memory
    return { bytes, seconds, cpu };
  };
  const throughService = async () => {
    const c0 = service.cpu();
    const { sizeBytes, seconds } = await db.backupFull();
    return { bytes: sizeBytes, seconds, cpu: service.cpuSince(c0) };
  };

  const idleRss = usage(service.pid).rss;
  const peakRss = service.watchRss();
  const rows = [['run', 'path', 'MiB', 'seconds', 'MiB/s', 'CPU-s/GiB: bench', 'service', 'Azurite']];
  const ratios: number[] = [];
  const rates: number[] = [];
  const serviceCpu: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const measured: Record<string, { bytes: number; seconds: number; cpu: CpuSeconds }> = {};
    for (const path of run % 2 === 1 ? ['direct', 'service'] : ['service', 'direct']) {
      measured[path] = path === 'direct' ? await directUpload() : await throughService();
    }
    const { direct: base, service: ours } = measured as Record<'direct' | 'service', { bytes: number; seconds: number; cpu: CpuSeconds }>;
    if (ours.bytes !== base.bytes) throw new Error(`the agent's backup holds ${ours.bytes} bytes, the baseline ${base.bytes}`);
    const rate = (m: { bytes: number; seconds: number }) => mib(m.bytes) / m.seconds;
    rows.push(
      [String(run), 'direct upload (storage-blob, 4 MiB blocks)', mib(base.bytes).toFixed(0), base.seconds.toFixed(2), rate(base).toFixed(1), ...perGib({ ...base.cpu, service: 0 }, base.bytes)],
      [String(run), 'agent → service (SHA-256, AES-256-GCM) → Azurite', mib(ours.bytes).toFixed(0), ours.seconds.toFixed(2), rate(ours).toFixed(1), ...perGib(ours.cpu, ours.bytes)],
    );
    ratios.push(rate(ours) / rate(base));
    rates.push(rate(ours));
    serviceCpu.push(ours.cpu.service / (ours.bytes / 1024 ** 3));
  }
  const peak = peakRss();
  await db.agent.stop();
  printTable(rows);
  console.log(`ingest MiB/s (agent → service → Azurite): ${spread(rates, 1)}`);
  console.log(`ingest service CPU-s/GiB: ${spread(serviceCpu, 2)}`);
  console.log(`ingest ratio (service / direct): ${spread(ratios, 2)} (target >= 0.8)`);
  console.log(`ingest service RSS: idle ${mib(idleRss).toFixed(0)} MiB, peak ${mib(peak).toFixed(0)} MiB (target < 200)`);
} finally {
  await service.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
