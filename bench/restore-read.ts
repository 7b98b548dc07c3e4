// Restore-read benchmark (issue 8): a 1 GiB SQL Full backup (streamed in through the service first) read back
// decrypted and verified through the service's agent plane (GET /agent/v1/containers/{c}/restores/{id}/parts/0, with
// the reference agent's own client, as a restore reads it), against a download of the raw (encrypted) blob straight
// from the same Azurite with @azure/storage-blob, in the same run. Both readers hash what they receive, as an agent
// checks a part. Each of BENCH_RUNS runs (3) measures both back to back, alternating which goes first.
//   npm run bench -- restore-read            (BENCH_SIZE_MIB=256 for a shorter run)
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { AgentClient } from '../src/agent/client.ts';
import { BLOCK_OVERHEAD_BYTES } from '../src/storage/backup-blobs.ts';
import { startFloor } from './lib/floor.ts';
import { compare, protectedDatabase, sleep, startBenchService, type Measured } from './lib/service.ts';

/** The service's block size (RV_BACKUP_BLOCK_SIZE_BYTES, not set by the bench: its default). */
const BLOCK = 4 * 1024 * 1024;

const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 1024);

/** Reads a stream to its end: its length and SHA-256. */
async function drain(stream: Readable | NodeJS.ReadableStream): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

const service = await startBenchService('restore_read');
const floor = await startFloor(service.tls);
const stateDir = mkdtempSync(join(tmpdir(), 'rv-bench-agent-'));
try {
  const db = await protectedDatabase(service, { sizeMiB: SIZE_MIB, seed: 'bench/MSSQLSERVER/sales', stateDir });
  await db.backupFull();
  // The agent steps aside: the bench reads the restore itself, with the agent's token.
  const registration = db.agent.registration;
  await db.agent.stop();
  if (registration === null) throw new Error('the agent is not registered');

  const points = (await (await db.arm('GET', `${db.item}/recoveryPoints`)).json()) as { value: { name: string }[] };
  const point = points.value.find((p) => p.name !== 'DefaultRangeRecoveryPoint');
  if (point === undefined) throw new Error('no recovery point');
  const triggered = await db.arm('POST', `${db.item}/recoveryPoints/${point.name}/restore`, {
    properties: {
      objectType: 'AzureWorkloadSQLRestoreRequest',
      recoveryType: 'AlternateLocation',
      recoveryMode: 'FileRecovery',
      targetInfo: {
        overwriteOption: 'Overwrite',
        containerId: db.container,
        targetDirectoryForFileRestore: 'F:\\restore',
      },
    },
  });
  const restoreId = new URL(triggered.headers.get('azure-asyncoperation') ?? '').pathname.split('/').pop() ?? '';
  const agentPlane = new AgentClient({ serverUrl: service.httpsBase, ca: service.tls.cert }).container(
    registration.containerName,
    registration.agentToken,
  );
  for (let i = 0; ; i++) {
    const state = await agentPlane.restoreState(restoreId).catch(() => undefined);
    if (state !== undefined) break;
    if (i > 200) throw new Error(`restore ${restoreId} never appeared`);
    await sleep(100);
  }

  // The blob as stored: the recovery point's, the only one in this bench's own Azurite.
  const stored: { container: string; blob: string }[] = [];
  for await (const container of service.blobs.listContainers()) {
    for await (const blob of service.blobs.getContainerClient(container.name).listBlobsFlat())
      stored.push({ container: container.name, blob: blob.name });
  }
  if (stored.length !== 1) throw new Error(`expected the recovery point's blob alone, found ${stored.length} blobs`);
  const raw = service.blobs.getContainerClient(stored[0]!.container).getBlobClient(stored[0]!.blob);

  const directRead = async (): Promise<Measured> => {
    const c0 = service.cpu();
    const t0 = performance.now();
    const { bytes } = await drain((await raw.download()).readableStreamBody!);
    return { bytes, seconds: (performance.now() - t0) / 1000, cpu: service.cpuSince(c0) };
  };
  const throughService = async (): Promise<Measured> => {
    const c0 = service.cpu();
    const t0 = performance.now();
    const { body, headers } = await agentPlane.restorePart(restoreId, 0);
    const { bytes, sha256 } = await drain(body);
    const seconds = (performance.now() - t0) / 1000;
    if (sha256 !== headers.get('x-content-sha256') || bytes !== Number(headers.get('content-length'))) {
      throw new Error(
        `the part read back holds ${bytes} bytes with SHA-256 ${sha256}; the vault announced ${headers.get('content-length')}, ${headers.get('x-content-sha256')}`,
      );
    }
    return { bytes, seconds, cpu: service.cpuSince(c0) };
  };

  await compare(service, {
    name: 'restore read',
    baseline: { label: 'direct download of the stored blob (storage-blob)', run: directRead },
    ours: { label: 'Azurite → service (AES-256-GCM, SHA-256) → agent client', run: throughService },
    ratioTarget: 0.8,
    rssTargetMiB: 150,
    floor: { target: 1.5, measure: (bytes) => floor.restoreRead(bytes) },
    // The same backup both ways: the stored blob is the plaintext and each block's 32-byte frame.
    check: (baseline, ours) => {
      const frames = Math.ceil(ours.bytes / BLOCK) * BLOCK_OVERHEAD_BYTES;
      if (baseline.bytes !== ours.bytes + frames)
        throw new Error(
          `the stored blob holds ${baseline.bytes} bytes, the restore read ${ours.bytes} (+ ${frames} of framing expected)`,
        );
    },
  });
} finally {
  await floor.stop();
  await service.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
