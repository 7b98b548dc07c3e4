import { createReadStream, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type BackupMetadata,
  type BackupRequest,
  backupRequest,
  CorruptBackupError,
  describeBackup,
  digestStream,
  DigestTap,
  FrameKind,
  MANIFEST_FILE,
  openBackup,
  restoreAsFiles,
  restoreDatabase,
  RestoreChainError,
  type RestorePart,
  SimulatedDatabase,
} from '../../../src/agent/simulation/index.ts';
import { bytesOf, choppy, collect, frames, prng, reseal, tempDir } from './helpers.ts';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const MIN = 60_000;
const DAY = 86_400_000;

/** Opens a backup lazily (the restore opens each part when it gets to it). */
function part(db: SimulatedDatabase, request: BackupRequest): RestorePart {
  return () => openBackup(db, request).stream;
}

async function expectRejects<T extends Error>(
  p: Promise<unknown>,
  type: new (...a: never[]) => T,
  message: RegExp,
): Promise<T> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    expect((e as Error).message).toMatch(message);
    return e as T;
  }
  throw new Error('expected a rejection');
}

// ---------------------------------------------------------------------------------------------------------------
// A simulated week of backups: Full at creation and on day 3, a Differential on every other day, a Log every 15 minutes.

interface Taken {
  request: BackupRequest;
  meta: BackupMetadata;
}

function week(db: SimulatedDatabase) {
  const fulls: Taken[] = [];
  const diffs: Taken[] = [];
  const logs: Taken[] = [];
  const take = (request: BackupRequest) => ({ request, meta: describeBackup(db, request) });
  fulls.push(take(backupRequest.full(T0)));
  let chain = { lastLsn: fulls[0]!.meta.lastLsn, endTime: fulls[0]!.meta.endTime };
  for (let k = 1; k <= 7 * 96; k++) {
    const t = T0 + k * 15 * MIN;
    const log = take(backupRequest.log(t, chain, fulls.at(-1)!.meta.checkpointLsn));
    logs.push(log);
    chain = { lastLsn: log.meta.lastLsn, endTime: log.meta.endTime };
    if (k % 96 === 40) {
      const day = Math.floor(k / 96);
      const at = t + 7 * MIN + 13_000;
      if (day === 3) fulls.push(take(backupRequest.full(at, fulls.at(-1)!.meta.checkpointLsn)));
      else diffs.push(take(backupRequest.differential(at, fulls.at(-1)!.meta)));
    }
  }
  return { fulls, diffs, logs };
}

/** The restore chain for point in time t (what issue 6's domain code will compute). */
function chainFor(w: ReturnType<typeof week>, t: number): Taken[] {
  const full = w.fulls.filter((f) => Date.parse(f.meta.endTime) <= t).at(-1)!;
  const diff = w.diffs
    .filter((d) => d.meta.differentialBaseLsn === full.meta.checkpointLsn && Date.parse(d.meta.endTime) <= t)
    .at(-1);
  const base = diff ?? full;
  const out: Taken[] = [full, ...(diff ? [diff] : [])];
  const baseLast = BigInt(base.meta.lastLsn);
  for (const log of w.logs) {
    if (BigInt(log.meta.lastLsn) < baseLast) continue;
    out.push(log);
    if (Date.parse(log.meta.endTime) >= t) break;
  }
  return out;
}

describe('backup streams', () => {
  const db = SimulatedDatabase.create({
    seed: 'streams',
    sizeMiB: 2,
    writesPerMinute: 120,
    createdAt: T0,
    marker: 'PLAIN-MARKER-7d1f',
  });

  it('metadata follows the LSN conventions, and log backups chain', () => {
    const full = describeBackup(db, backupRequest.full(T0 + 10 * MIN));
    expect(full).toMatchObject({
      type: 'Full',
      isCopyOnly: false,
      pagesInBackup: db.pageCount,
      transactionCount: 0,
      databaseBackupLsn: '0',
    });
    expect(full.checkpointLsn).toBe(db.lsnAt(T0 + 10 * MIN).toString());
    expect(BigInt(full.lastLsn)).toBeGreaterThan(BigInt(full.checkpointLsn));
    expect(full.startTime).toBe(full.endTime);

    const log1 = describeBackup(db, backupRequest.log(T0 + 25 * MIN, full, full.checkpointLsn));
    const log2 = describeBackup(db, backupRequest.log(T0 + 40 * MIN, log1, full.checkpointLsn));
    expect(log1.firstLsn).toBe(full.lastLsn); // the first log continues from the full
    expect(log2.firstLsn).toBe(log1.lastLsn); // SQL Server's chain rule
    expect(log1.startTime).toBe(full.endTime);
    expect(log2.startTime).toBe(log1.endTime);
    expect(log1.transactionCount).toBe(db.txIndexAt(T0 + 25 * MIN) - db.txIndexAt(T0 + 10 * MIN));
    expect(log1.databaseBackupLsn).toBe(full.checkpointLsn);

    const diff = describeBackup(db, backupRequest.differential(T0 + 30 * MIN, full));
    expect(diff.differentialBaseLsn).toBe(full.checkpointLsn);
    expect(diff.databaseBackupLsn).toBe(full.checkpointLsn);
    expect(diff.pagesInBackup).toBeGreaterThan(0);
    expect(diff.pagesInBackup).toBeLessThan(db.pageCount);

    // No writes in between: the log is empty and first = last.
    const idle = describeBackup(db, backupRequest.log(T0 + 40 * MIN, log2));
    expect(idle.firstLsn).toBe(idle.lastLsn);
    expect(idle.transactionCount).toBe(0);
  });

  it('the same request always produces the same bytes; size and digest are as announced', async () => {
    const req = backupRequest.log(T0 + 30 * MIN, describeBackup(db, backupRequest.full(T0)));
    const a = openBackup(db, req);
    const tap = new DigestTap();
    const bytes = await collect(a.stream.pipe(tap));
    const done = await a.completed;
    const again = await digestStream(openBackup(db, req).stream);
    expect(bytes.length).toBe(a.metadata.sizeBytes);
    expect(done.sha256).toBe(again.sha256);
    expect((await tap.digest).sha256).toBe(done.sha256);
    expect(describeBackup(db, req)).toEqual(a.metadata);
    expect(a.metadata.sha256).toBeUndefined();
  });

  it('the marker is in the plaintext of Full and CopyOnlyFull backups', async () => {
    for (const req of [backupRequest.full(T0 + DAY), backupRequest.copyOnlyFull(T0 + DAY)]) {
      const bytes = await bytesOf(openBackup(db, req));
      expect(bytes.includes('PLAIN-MARKER-7d1f')).toBe(true);
    }
  });

  it('an abandoned stream rejects `completed` (and nothing goes unhandled)', async () => {
    const h = openBackup(db, backupRequest.full(T0));
    h.stream.once('readable', () => h.stream.destroy());
    await expect(h.completed).rejects.toThrow(/closed before it was read/);
  });

  it('invalid requests throw before any byte', () => {
    const full = describeBackup(db, backupRequest.full(T0 + 10 * MIN));
    expect(() => openBackup(db, backupRequest.log(T0 + 5 * MIN, full))).toThrow(/before the previous backup/);
    expect(() =>
      openBackup(
        db,
        backupRequest.log(T0 + 20 * MIN, { lastLsn: full.lastLsn, endTime: new Date(T0 + 12 * MIN).toISOString() }),
      ),
    ).toThrow(/does not match/);
    expect(() =>
      openBackup(db, backupRequest.differential(T0 + 20 * MIN, { checkpointLsn: '123', endTime: full.endTime })),
    ).toThrow(/not an LSN/);
    expect(() => openBackup(db, backupRequest.full(T0 - 1))).toThrow(/before the database came online/);
  });
});

describe('restore: the proof', () => {
  const dir = tempDir();
  // 4 MiB, 60 writes/min: a week is ~605 000 transactions and 672 log backups.
  const db = SimulatedDatabase.create({ seed: 'proof', sizeMiB: 4, writesPerMinute: 60, createdAt: T0 });
  const w = week(db);
  const end = Date.parse(w.logs.at(-1)!.meta.endTime);

  async function restoreAt(t: number, name: string) {
    const chain = chainFor(w, t);
    return restoreDatabase({
      parts: chain.map((c) => part(db, c.request)),
      stopAt: t,
      targetDir: dir,
      fileName: `${name}.img`,
    });
  }

  it('restore(full + diff + logs, stopAt t) reproduces contentHashAt(t) for random seconds of a week', async () => {
    const rnd = prng(20240101);
    const times = Array.from({ length: 24 }, () => T0 + Math.floor((rnd() * (end - T0)) / 1000) * 1000);
    for (const [k, t] of times.entries()) {
      const r = await restoreAt(t, `random-${k}`);
      expect(r.sha256, `t = ${new Date(t).toISOString()}`).toBe(db.contentHashAt(t));
      expect(r.restoredLsn).toBe(db.lsnAt(t).toString());
      expect(r.pointInTime).toBe(new Date(t).toISOString());
    }
  });

  it('edge points: before the first write, exactly on log boundaries, on the full/diff times, the very end', async () => {
    const diff = w.diffs[1]!.meta;
    const edges = [
      T0, // the full itself, before any write
      T0 + 500, // after the full, before the first write (at T0 + 1 s)
      T0 + 1000, // exactly the first write
      Date.parse(w.logs[0]!.meta.endTime), // exactly a log boundary
      Date.parse(w.logs[200]!.meta.endTime),
      Date.parse(w.logs[200]!.meta.endTime) + 1000, // first second of the next log
      Date.parse(diff.endTime), // exactly the differential
      Date.parse(w.fulls[1]!.meta.endTime), // exactly the second full
      end,
    ];
    for (const [k, t] of edges.entries()) {
      const r = await restoreAt(t, `edge-${k}`);
      expect(r.sha256, `t = ${new Date(t).toISOString()}`).toBe(db.contentHashAt(t));
    }
  });

  it('without stopAt a chain restores to its end; a discrete point restores alone', async () => {
    const r = await restoreDatabase({
      parts: w.logs
        .slice(0, 8)
        .reduce<RestorePart[]>((acc, l) => [...acc, part(db, l.request)], [part(db, w.fulls[0]!.request)]),
      targetDir: dir,
      fileName: 'to-end.img',
    });
    expect(r.sha256).toBe(db.contentHashAt(Date.parse(w.logs[7]!.meta.endTime)));
    expect(r.transactionsApplied).toBe(db.txIndexAt(Date.parse(w.logs[7]!.meta.endTime)));
    const d = w.diffs[2]!;
    const full = w.fulls.find((f) => f.meta.checkpointLsn === d.meta.differentialBaseLsn)!;
    const r2 = await restoreDatabase({
      parts: [part(db, full.request), part(db, d.request)],
      targetDir: dir,
      fileName: 'diff.img',
    });
    // A tiny page cache (16 pages) forces evictions while applying a day of logs: same result.
    const t = Date.parse(w.logs[95]!.meta.endTime) + 1000;
    const small = await restoreDatabase({
      parts: chainFor(w, t).map((c) => part(db, c.request)),
      stopAt: t,
      targetDir: dir,
      fileName: 'small-cache.img',
      pageCacheMiB: 0,
    });
    expect(small.sha256).toBe(db.contentHashAt(t));
    expect(r2.sha256).toBe(db.contentHashAt(Date.parse(d.meta.endTime)));
    expect(r2.parts.map((p) => p.type)).toEqual(['Full', 'Differential']);
    expect(r2.parts.every((p) => /^[0-9a-f]{64}$/.test(p.sha256!))).toBe(true);
    expect(readFileSync(r2.imagePath).length).toBe(db.sizeBytes);
  });

  it('restores from files on disk and from choppy streams alike', async () => {
    const t = Date.parse(w.logs[30]!.meta.endTime) - 7000;
    const chain = chainFor(w, t);
    const files = await restoreAsFiles({
      parts: chain.map((c) => part(db, c.request)),
      targetDir: join(dir, 'files'),
      stopAt: t,
      databaseName: 'proof',
    });
    const manifest = JSON.parse(readFileSync(files.manifestPath, 'utf8'));
    expect(manifest.files.map((f: { type: string }) => f.type)).toEqual(chain.map((c) => c.meta.type));
    expect(manifest.pointInTime).toBe(new Date(t).toISOString());
    expect(manifest.restoreScript).toContain(
      "RESTORE DATABASE [proof] FROM DISK = N'01-Full-20240101T000000Z.bak' WITH NORECOVERY;",
    );
    expect(manifest.restoreScript).toMatch(/RESTORE LOG .* WITH RECOVERY, STOPAT = N'/);
    for (const [k, f] of manifest.files.entries()) {
      const d = await digestStream(createReadStream(files.paths[k]!));
      expect(d.sha256).toBe(f.sha256);
    }
    const fromFiles = await restoreDatabase({
      parts: files.paths.map((p) => () => createReadStream(p)),
      stopAt: t,
      targetDir: dir,
      fileName: 'from-files.img',
    });
    expect(fromFiles.sha256).toBe(db.contentHashAt(t));
    const rnd = prng(3);
    const choppyParts = files.paths.map((p) => () => choppy(readFileSync(p), rnd));
    const fromChoppy = await restoreDatabase({ parts: choppyParts, stopAt: t, targetDir: dir, fileName: 'choppy.img' });
    expect(fromChoppy.sha256).toBe(db.contentHashAt(t));
    expect(readdirSync(join(dir, 'files')).sort()).toEqual(
      [...manifest.files.map((f: { fileName: string }) => f.fileName), MANIFEST_FILE].sort(),
    );
  });
});

describe('restore: chain validation', () => {
  const dir = tempDir();
  const db = SimulatedDatabase.create({ seed: 'chain', sizeMiB: 1, writesPerMinute: 60, createdAt: T0 });
  const other = SimulatedDatabase.create({ seed: 'other', sizeMiB: 1, writesPerMinute: 60, createdAt: T0 });
  const full1 = backupRequest.full(T0 + MIN);
  const f1 = describeBackup(db, full1);
  const logReqs: BackupRequest[] = [];
  let prev: { lastLsn: string; endTime: string } = f1;
  for (let k = 1; k <= 4; k++) {
    const r = backupRequest.log(T0 + MIN + k * 15 * MIN, prev);
    logReqs.push(r);
    prev = describeBackup(db, r);
  }
  const full2 = backupRequest.full(T0 + 40 * MIN, f1.checkpointLsn);
  const f2 = describeBackup(db, full2);
  const diffOn2 = backupRequest.differential(T0 + 50 * MIN, f2);
  const diffOn1 = backupRequest.differential(T0 + 50 * MIN, f1);
  const [l1, l2, l3, l4] = logReqs.map((r) => part(db, r)) as [RestorePart, RestorePart, RestorePart, RestorePart];
  const P = (r: BackupRequest) => part(db, r);

  const broken: Array<[string, RestorePart[], RegExp]> = [
    ['a log gap (a log the vault never received)', [P(full1), l1, l3], /log chain is broken \(LSN gap\)/],
    ['logs out of order', [P(full1), l2, l1], /gap|before the previous log/],
    ['the same log twice', [P(full1), l1, l1], /overlap or wrong order/],
    ['a first log that does not reach the full', [P(full2), l1], /too early/],
    ['a first log that starts after the full', [P(full1), l2], /the log chain has a gap/],
    [
      'a differential of another full',
      [P(full2), P(diffOn1)],
      /differential base LSN .* is not the full backup's checkpoint LSN/,
    ],
    ['two differentials', [P(full2), P(diffOn2), P(diffOn2)], /only one differential/],
    ['a differential after logs', [P(full1), l1, P(diffOn1)], /must come before the log backups/],
    ['starting with a log', [l1], /must start with a Full/],
    ['starting with a differential', [P(diffOn1)], /must start with a Full/],
    ['two fulls', [P(full1), P(full2)], /only the first part can be a full/],
    [
      'another database',
      [P(full1), part(other, backupRequest.log(T0 + 16 * MIN, describeBackup(other, backupRequest.full(T0 + MIN))))],
      /belongs to database/,
    ],
  ];

  it.each(broken)('rejects %s, leaving the target untouched', async (_name, parts, message) => {
    const target = join(dir, 'target.img');
    writeFileSync(target, 'previous content');
    const e = await expectRejects(
      restoreDatabase({ parts, targetDir: dir, fileName: 'target.img' }),
      RestoreChainError,
      message,
    );
    expect(e.code).toBe('RestoreChainBroken');
    expect(readFileSync(target, 'utf8')).toBe('previous content');
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it('rejects points in time outside the chain', async () => {
    const last = describeBackup(db, logReqs[1]!);
    await expectRejects(
      restoreDatabase({ parts: [P(full1), l1, l2], stopAt: T0 + 30_000, targetDir: dir }),
      RestoreChainError,
      /before the full backup/,
    );
    await expectRejects(
      restoreDatabase({ parts: [P(full1), l1, l2], stopAt: Date.parse(last.endTime) + 1000, targetDir: dir }),
      RestoreChainError,
      /after the end of the chain/,
    );
    await expectRejects(
      restoreDatabase({ parts: [P(full1)], stopAt: T0 + 2 * MIN, targetDir: dir }),
      RestoreChainError,
      /after the end of the chain/,
    );
    await expectRejects(
      restoreDatabase({ parts: [P(full2), P(diffOn2), l4], stopAt: T0 + 45 * MIN, targetDir: dir }),
      RestoreChainError,
      /before the differential/,
    );
    // A log that ends exactly where the full ends is allowed (it adds nothing); later logs may follow past stopAt.
    const ok = await restoreDatabase({
      parts: [P(full1), l1, l2, l3, l4],
      stopAt: T0 + 20 * MIN,
      targetDir: dir,
      fileName: 'ok.img',
    });
    expect(ok.sha256).toBe(db.contentHashAt(T0 + 20 * MIN));
    const ok2 = await restoreDatabase({
      parts: [P(full2), P(diffOn2), l4],
      stopAt: T0 + 55 * MIN,
      targetDir: dir,
      fileName: 'ok2.img',
    });
    expect(ok2.sha256).toBe(db.contentHashAt(T0 + 55 * MIN));
  });

  it('restore as files validates the chain too and leaves nothing behind', async () => {
    const target = join(dir, 'asfiles');
    await expectRejects(restoreAsFiles({ parts: [P(full1), l1, l3], targetDir: target }), RestoreChainError, /LSN gap/);
    expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);
  });
});

describe('restore: corrupted streams', () => {
  const dir = tempDir();
  const db = SimulatedDatabase.create({ seed: 'corrupt', sizeMiB: 2, writesPerMinute: 600, createdAt: T0 });
  const fullReq = backupRequest.full(T0 + MIN);
  const fullMeta = describeBackup(db, fullReq);
  const logReq = backupRequest.log(T0 + 3 * MIN, fullMeta);
  let full: Buffer;
  let log: Buffer;

  async function restoreBytes(fullBytes: Buffer, logBytes?: Buffer) {
    const parts: RestorePart[] = [Readable.from([fullBytes])];
    if (logBytes) parts.push(Readable.from([logBytes]));
    const target = join(dir, 'victim.img');
    writeFileSync(target, 'untouched');
    try {
      return await restoreDatabase({ parts, targetDir: dir, fileName: 'victim.img' });
    } catch (e) {
      expect(readFileSync(target, 'utf8')).toBe('untouched');
      expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
      throw e;
    }
  }

  function flip(buf: Buffer, at: number): Buffer {
    const b = Buffer.from(buf);
    b[at] = b[at]! ^ 0x40;
    return b;
  }

  beforeAll(async () => {
    full = await bytesOf(openBackup(db, fullReq));
    log = await bytesOf(openBackup(db, logReq));
  });

  it('intact bytes restore fine', async () => {
    const r = await restoreBytes(full, log);
    expect(r.sha256).toBe(db.contentHashAt(T0 + 3 * MIN));
  });

  const flips: Array<[string, (f: Buffer) => number]> = [
    ['a page byte', (f) => Math.floor(f.length / 2)],
    ['the META JSON', () => 16 + 12 + 5],
    ['a frame length', () => 16 + 8],
    ['a frame kind', (f) => frames(f)[1]!.offset],
    ['a frame CRC', (f) => frames(f)[1]!.offset + 12 + frames(f)[1]!.payload.length],
    ['the magic', () => 0],
    ['the END digest', (f) => f.length - 10],
  ];
  it.each(flips)('a flipped bit in %s of the full is detected', async (_name, where) => {
    const e = await expectRejects(restoreBytes(flip(full, where(full)), log), CorruptBackupError, /./);
    expect(e.code).toBe('CorruptBackupStream');
  });

  it('a flipped bit in a log record is detected', async () => {
    await expectRejects(restoreBytes(full, flip(log, log.length - 200)), CorruptBackupError, /CRC mismatch/);
  });

  it.each([0, 10, 16 + 5, 40_000, 'end-1', 'end-frame'] as const)('truncation at %s is detected', async (at) => {
    const cut = at === 'end-1' ? full.length - 1 : at === 'end-frame' ? frames(full).at(-1)!.offset : at;
    await expectRejects(restoreBytes(full.subarray(0, cut), log), CorruptBackupError, /truncated/);
  });

  it('trailing bytes after END are rejected', async () => {
    await expectRejects(
      restoreBytes(Buffer.concat([full, Buffer.from('x')]), log),
      CorruptBackupError,
      /trailing bytes/,
    );
  });

  it('a tamperer who recomputes the CRCs is caught by the SHA-256 in END', async () => {
    const b = flip(full, Math.floor(full.length / 2));
    const f = frames(b);
    const page = f.find((x) => x.offset < b.length / 2 && x.offset + x.payload.length > b.length / 2)!;
    const end = page.offset + 12 + page.payload.length;
    const { crc32 } = await import('node:zlib');
    b.writeUInt32LE(crc32(b.subarray(page.offset, end)), end);
    await expectRejects(restoreBytes(b, log), CorruptBackupError, /SHA-256 mismatch/);
  });

  // Fully resealed (CRCs and END recomputed): only content validation against META can catch these.
  const rewrites: Array<[string, () => [Buffer, Buffer], RegExp]> = [
    [
      'a dropped PAGES frame',
      () => {
        const f = frames(full);
        const drop = f[1]!; // the first of two PAGES frames
        const b = Buffer.concat([full.subarray(0, drop.offset), full.subarray(drop.offset + 16 + drop.payload.length)]);
        // renumber the sequence of following frames
        for (const x of frames(b))
          if (x.offset >= drop.offset) b.writeUInt32LE(b.readUInt32LE(x.offset + 4) - 1, x.offset + 4);
        return [reseal(b), log];
      },
      /pages out of order/,
    ],
    [
      'a page number beyond the database',
      () => {
        const b = Buffer.from(full);
        frames(b)[1]!.payload.writeUInt32LE(db.pageCount, 0);
        return [reseal(b), log];
      },
      /beyond the database|out of order/,
    ],
    [
      'a record LSN outside the log range',
      () => {
        const b = Buffer.from(log);
        const lf = frames(b).find((x) => x.kind === FrameKind.Log)!;
        lf.payload.writeBigUInt64LE(1n, 4);
        return [full, reseal(b)];
      },
      /outside \[/,
    ],
    [
      'a record time outside the log span',
      () => {
        const b = Buffer.from(log);
        const lf = frames(b).find((x) => x.kind === FrameKind.Log)!;
        lf.payload.writeUInt32LE(0, 4 + 8);
        lf.payload.writeUInt32LE(0, 4 + 12);
        return [full, reseal(b)];
      },
      /outside the backup's time span/,
    ],
    [
      'a record writing past the page',
      () => {
        const b = Buffer.from(log);
        const lf = frames(b).find((x) => x.kind === FrameKind.Log)!;
        lf.payload.writeUInt16LE(8180, 4 + 20);
        return [full, reseal(b)];
      },
      /writes outside the database/,
    ],
    [
      'a META transaction count that lies',
      () => {
        const f = frames(log);
        const meta = JSON.parse(f[0]!.payload.toString('utf8'));
        meta.transactionCount += 1;
        const json = Buffer.from(JSON.stringify(meta));
        const head = Buffer.alloc(12);
        head.writeUInt8(1, 0);
        head.writeUInt32LE(json.length, 8);
        const rest = log.subarray(f[0]!.offset + 16 + f[0]!.payload.length);
        return [full, reseal(Buffer.concat([log.subarray(0, 16), head, json, Buffer.alloc(4), rest]))];
      },
      /holds \d+ records, META says/,
    ],
  ];
  it.each(rewrites)('content validation catches %s', async (_name, make, message) => {
    const [f, l] = make();
    await expectRejects(restoreBytes(f, l), CorruptBackupError, message);
  });
});
