import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type DatabaseModel,
  indexOfLsn,
  lsnOf,
  PAGE_SIZE,
  SimulatedDatabase,
  SimulationError,
} from '../../../src/agent/simulation/index.ts';
import { prng, tempDir } from './helpers.ts';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const DAY = 86_400_000;

function model(pageCount: number, writesPerMinute: number, seed = 'm'): DatabaseModel {
  return {
    databaseGuid: '00000000-0000-4000-8000-000000000001',
    familyGuid: '00000000-0000-4000-8000-000000000001',
    pageCount,
    base: { kind: 'seed', seed, marker: 'MARK' },
    writes: { seed, writesPerMinute, startTime: new Date(T0).toISOString() },
  };
}

function image(db: SimulatedDatabase, index: number): Buffer {
  const b = Buffer.alloc(db.pageCount * PAGE_SIZE);
  db.renderPages(0, db.pageCount, index, b, 0);
  return b;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('LSNs', () => {
  it('are strictly increasing, SQL-looking and invertible (across VLF boundaries)', () => {
    expect(lsnOf(0).toString()).toBe('34000000001600001');
    let prev = -1n;
    for (const i of [0, 1, 2, 999_998, 999_999, 1_000_000, 1_000_001, 123_456_789, 9_999_999_999]) {
      const l = lsnOf(i);
      expect(l).toBeGreaterThan(prev);
      expect(indexOfLsn(l)).toBe(i);
      expect(indexOfLsn(l.toString())).toBe(i);
      prev = l;
    }
  });

  it('reject values this simulation never produces', () => {
    for (const bad of ['34000000001600002', '34000000001700001', '1', 'abc', '-5']) {
      expect(() => indexOfLsn(bad)).toThrow(SimulationError);
    }
  });
});

describe('SimulatedDatabase: content', () => {
  it('is deterministic: same seed → same hash, different seed → different hash', () => {
    const a = SimulatedDatabase.create({ seed: 'alpha', sizeMiB: 2, writesPerMinute: 600, createdAt: T0 });
    const a2 = SimulatedDatabase.create({ seed: 'alpha', sizeMiB: 2, writesPerMinute: 600, createdAt: T0 });
    const b = SimulatedDatabase.create({ seed: 'beta', sizeMiB: 2, writesPerMinute: 600, createdAt: T0 });
    for (const t of [T0, T0 + 1234, T0 + DAY + 17_000]) {
      expect(a.contentHashAt(t)).toBe(a2.contentHashAt(t));
      expect(a.contentHashAt(t)).not.toBe(b.contentHashAt(t));
    }
    expect(a.contentHashAt(T0)).not.toBe(a.contentHashAt(T0 + DAY));
  });

  it('hash equals the sha256 of the rendered image; the marker sits in page 0', () => {
    const db = SimulatedDatabase.create({
      seed: 's',
      sizeMiB: 1,
      writesPerMinute: 60,
      createdAt: T0,
      marker: 'FIND-ME-42',
    });
    const img = image(db, db.txIndexAt(T0 + 3_600_000));
    expect(sha(img)).toBe(db.contentHashAt(T0 + 3_600_000));
    expect(img.indexOf('FIND-ME-42')).toBe(32);
    expect(img.readUInt32LE(PAGE_SIZE * 5)).toBe(5); // page number in the header
  });

  it('transaction timing: tx i at start + floor(i × 60000 / wpm), the first one period after start', () => {
    const db = SimulatedDatabase.create({ seed: 't', sizeMiB: 1, writesPerMinute: 7, createdAt: T0 });
    expect(db.txIndexAt(T0)).toBe(0);
    for (let i = 1; i < 200; i++) {
      const t = db.txTime(i);
      expect(t).toBe(T0 + Math.floor((i * 60000) / 7));
      expect(db.txIndexAt(t)).toBe(i);
      expect(db.txIndexAt(t - 1)).toBe(i - 1);
    }
    const still = SimulatedDatabase.create({ seed: 't', sizeMiB: 1, writesPerMinute: 0, createdAt: T0 });
    expect(still.txIndexAt(T0 + 365 * DAY)).toBe(0);
    expect(still.contentHashAt(T0 + 365 * DAY)).toBe(still.contentHashAt(T0));
    expect(() => db.contentHashAt(T0 - 1)).toThrow(/before the database came online/);
  });

  it('lsnAt is the LSN of the last transaction at or before t', () => {
    const db = SimulatedDatabase.create({ seed: 't', sizeMiB: 1, writesPerMinute: 600, createdAt: T0 });
    expect(db.lsnAt(T0 + 99)).toBe(lsnOf(0));
    expect(db.lsnAt(T0 + 100)).toBe(lsnOf(1));
    expect(db.lsnAt(T0 + DAY)).toBe(lsnOf(864_000));
  });

  // Applying the transaction stream to the initial image must give the directly rendered image, including after the
  // hot and cold slot cycles wrap around (small page counts make them wrap quickly).
  it.each([
    [2, 6000],
    [3, 4000],
    [17, 9000],
    [128, 12000],
  ])('replaying transactions reproduces the rendered image (pages %i, %i writes)', (pages, n) => {
    const db = new SimulatedDatabase(model(pages, 600));
    const img = image(db, 0);
    const lastWriter = new Map<number, bigint>();
    for (const tx of db.transactions(0, n)) {
      expect(tx.page).toBeGreaterThan(0);
      expect(tx.data.length).toBe(32);
      tx.data.copy(img, tx.page * PAGE_SIZE + tx.offset);
      img.writeBigUInt64LE(tx.lsn, tx.page * PAGE_SIZE + 8);
      lastWriter.set(tx.page, tx.lsn);
      if (tx.index % 997 === 0 || tx.index === n) expect(sha(img)).toBe(sha(image(db, tx.index)));
    }
    const rendered = image(db, n);
    for (const [page, lsn] of lastWriter) expect(rendered.readBigUInt64LE(page * PAGE_SIZE + 8)).toBe(lsn);
  });

  it('changedPages = exactly the pages written in (since, index]', () => {
    const rnd = prng(7);
    for (const pages of [2, 9, 128, 256]) {
      const db = new SimulatedDatabase(model(pages, 600, `c${pages}`));
      for (let trial = 0; trial < 4; trial++) {
        const since = Math.floor(rnd() * 20000);
        const upTo = since + Math.floor(rnd() * 3000);
        const expected = new Uint8Array(pages);
        for (const tx of db.transactions(since, upTo)) expected[tx.page] = 1;
        expect(db.changedPages(since, upTo)).toEqual(expected);
      }
    }
  });

  it('differentials stay small: most pages of a 16 MiB database are untouched by a day at 60 writes/min', () => {
    const db = SimulatedDatabase.create({ seed: 'd', sizeMiB: 16, writesPerMinute: 60, createdAt: T0 });
    const changed = db.changedPages(db.txIndexAt(T0 + DAY), db.txIndexAt(T0 + 2 * DAY)).reduce((a, b) => a + b, 0);
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThan(db.pageCount / 3);
  });

  it('a database on an image continues from it: hash at start = image hash; writes then change it', () => {
    const dir = tempDir();
    const src = SimulatedDatabase.create({ seed: 'src', sizeMiB: 1, writesPerMinute: 600, createdAt: T0 });
    const at = T0 + 5 * 60_000;
    const img = image(src, src.txIndexAt(at));
    const path = join(dir, 'x.img');
    writeFileSync(path, img);
    const restored = SimulatedDatabase.fromImage({
      path,
      sha256: sha(img),
      pageCount: src.pageCount,
      lsn: src.lsnAt(at).toString(),
      familyGuid: src.familyGuid,
      databaseGuid: '00000000-0000-4000-8000-000000000002',
      writeSeed: 'new',
      writesPerMinute: 60,
      startTime: at + 1000,
    });
    expect(restored.contentHashAt(at + 1000)).toBe(sha(img));
    expect(restored.contentHashAt(at + 61_000)).not.toBe(sha(img));
    expect(restored.txIndexAt(at + 2000)).toBe(src.txIndexAt(at) + 1); // LSNs continue from the image's
  });
});
