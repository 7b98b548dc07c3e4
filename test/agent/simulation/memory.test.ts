import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backupRequest, openBackup, restoreDatabase, SimulatedDatabase } from '../../../src/agent/simulation/index.ts';
import { tempDir } from './helpers.ts';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const MiB = 1024 * 1024;

/** Runs fn while sampling RSS; returns the largest growth over the starting RSS. */
async function rssGrowth(fn: () => Promise<void>): Promise<number> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return peak - start;
}

describe('memory stays flat', () => {
  // 256 MiB with a simulated week of writes behind it (600 writes/min: ~6 million transactions).
  const db = SimulatedDatabase.create({
    seed: 'big',
    sizeMiB: 256,
    writesPerMinute: 600,
    createdAt: T0,
    marker: 'BIG-MARKER',
  });
  const at = T0 + 7 * 86_400_000;

  it('streaming a 256 MiB full backup into a hash', async () => {
    // Warm up code paths and allocator first.
    for await (const _ of openBackup(
      SimulatedDatabase.create({ seed: 'w', sizeMiB: 8, writesPerMinute: 600, createdAt: T0 }),
      backupRequest.full(at),
    ).stream);
    let bytes = 0;
    const handle = openBackup(db, backupRequest.full(at));
    const growth = await rssGrowth(async () => {
      const hash = createHash('sha256');
      for await (const chunk of handle.stream) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      expect(hash.digest('hex')).toBe((await handle.completed).sha256);
    });
    expect(bytes).toBe(handle.metadata.sizeBytes);
    expect(bytes).toBeGreaterThan(256 * MiB);
    expect(growth).toBeLessThan(64 * MiB);
  });

  it('restoring it (written to a file as it arrives)', async () => {
    const dir = tempDir();
    let sha = '';
    const growth = await rssGrowth(async () => {
      const r = await restoreDatabase({
        parts: [() => openBackup(db, backupRequest.full(at)).stream],
        targetDir: dir,
        fileName: 'big.img',
      });
      sha = r.sha256;
    });
    expect(sha).toBe(db.contentHashAt(at));
    expect(growth).toBeLessThan(64 * MiB);
  });
});
