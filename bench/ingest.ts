// Ingest benchmark (issues 5 and 8): a 1 GiB SQL Full backup streamed by the reference agent through the service into
// Azurite, against the same bytes uploaded straight to the same Azurite with @azure/storage-blob in 4 MiB blocks, in
// the same run. The service runs as its own process (as `npm start` runs it) so that its RSS and CPU are its own.
// Each of BENCH_RUNS runs (3) measures both paths back to back, alternating which goes first.
//   npm run bench -- ingest            (BENCH_SIZE_MIB=256 for a shorter run)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBackup } from '../src/agent/simulation/backup.ts';
import { planBackup } from '../src/agent/simulation/chain.ts';
import { startFloor } from './lib/floor.ts';
import { compare, protectedDatabase, startBenchService, type Measured } from './lib/service.ts';

const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
const BLOCK = 4 * 1024 * 1024;

const service = await startBenchService('ingest');
const floor = await startFloor(service.tls);
const stateDir = mkdtempSync(join(tmpdir(), 'rv-bench-agent-'));
try {
  const db = await protectedDatabase(service, { sizeMiB: SIZE_MIB, seed: 'bench/MSSQLSERVER/sales', stateDir });
  const direct = service.blobs.getContainerClient('bench-direct');
  await direct.createIfNotExists();

  // Baseline: the agent's own simulated database image planned as the agent plans it (same pages and size; only the
  // backup header's times differ), uploaded straight to Azurite in 4 MiB blocks, one at a time, as storage-blob does it.
  const directUpload = async (): Promise<Measured> => {
    const store = db.agent.simulatedState!;
    const record = store.state.databases.find((d) => d.name === 'sales')!;
    const handle = openBackup(
      store.database(record),
      planBackup({ name: record.name, readOnly: record.readOnly }, record.chain, 'Full', new Date()),
    );
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
  const throughService = async (): Promise<Measured> => {
    const c0 = service.cpu();
    const { sizeBytes, seconds } = await db.backupFull();
    const cpu = service.cpuSince(c0);
    // As the baseline does with its blob: Azurite keeps blobs in memory and slows as it fills, so no run leaves one.
    for await (const container of service.blobs.listContainers()) {
      if (container.name === direct.containerName) continue;
      const blobs = service.blobs.getContainerClient(container.name);
      for await (const blob of blobs.listBlobsFlat()) await blobs.deleteBlob(blob.name);
    }
    return { bytes: sizeBytes, seconds, cpu };
  };

  await compare(service, {
    name: 'ingest',
    baseline: { label: 'direct upload (storage-blob, 4 MiB blocks)', run: directUpload },
    ours: { label: 'agent → service (SHA-256, AES-256-GCM) → Azurite', run: throughService },
    ratioTarget: 0.8,
    rssTargetMiB: 150,
    floor: { target: 1.5, measure: (bytes) => floor.ingest(bytes) },
    check: (baseline, ours) => {
      if (ours.bytes !== baseline.bytes)
        throw new Error(`the agent's backup holds ${ours.bytes} bytes, the baseline ${baseline.bytes}`);
    },
  });
  await db.agent.stop();
} finally {
  await floor.stop();
  await service.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
