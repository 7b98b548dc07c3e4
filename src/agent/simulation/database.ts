/**
 * A simulated SQL Server database whose entire history is a pure function of its model:
 * (base content, write seed, writesPerMinute, start time). Nothing about its history is stored.
 *
 * ## Pages
 * The database is `pageCount` pages of 8 KiB. Every page:
 * ```
 *   [0, 4)     u32 LE  page number
 *   [4, 8)     "RVPG"
 *   [8, 16)    u64 LE  page LSN: the LSN of the last transaction that wrote the page (the base LSN if none)
 *   [16, 32)   filler
 *   [32, 8192) 255 row slots of 32 bytes
 * ```
 * A seed database's initial content is the AES-256-CTR keystream (key = sha256("rv-sim/pages/" + seed), counter =
 * byte offset / 16) with the header fields above written over it. Page 0 is the file-header page: it holds the
 * `marker` (UTF-8, at offset 32) and transactions never touch it. A restored database's base content is an image
 * file (the bytes a restore produced).
 *
 * ## Transactions
 * Transaction k (0-based within the database's write stream, global index i = baseIndex + 1 + k) happens at
 * `startTime + floor((k + 1) × 60 000 / writesPerMinute)` ms (so the first write comes one period after the start,
 * and timestamps strictly increase since writesPerMinute ≤ 60 000). It overwrites one 32-byte row slot with 32
 * bytes of a keyed PRF of k, and sets that page's LSN. Which slot:
 *  - 9 of 10 transactions are "hot": they go to the first ~10 % of the data pages, through an affine permutation of
 *    the hot slots (so consecutive hot writes scatter and each hot slot is rewritten once every |hot slots| hot writes);
 *  - every 10th is "cold": cold writes walk the slots of all data pages sequentially (an insert-heavy table).
 * Because the slot of write k is an arithmetic function of k, the *last* write to any slot before any moment is
 * computable in O(1): the image at any time costs O(size), independent of how much history lies behind it, and can
 * be produced page range by page range (full backups stream in constant memory). Differentials stay small (hot pages
 * plus the cold pages written since the base), like a real OLTP database.
 *
 * ## LSNs
 * `lsnOf(i)` maps the global transaction index to a SQL-Server-looking decimal LSN, VLF × 10^15 + block × 10^5 + slot
 * (`34000000001600001` for index 0, the "database created" record; +800 000 per transaction, a new VLF every
 * 10^6 transactions). LSNs are bigints in memory and decimal strings on the wire. Index 0 / the base LSN is the state
 * before the first write.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { lsnFromText } from '../../protocol/lsn.ts';
import { SimulationError } from './errors.ts';

export const PAGE_SIZE = 8192;
export const PAGE_HEADER_SIZE = 32;
export const SLOT_SIZE = 32;
export const SLOTS_PER_PAGE = (PAGE_SIZE - PAGE_HEADER_SIZE) / SLOT_SIZE; // 255
export const PAGES_PER_MIB = (1024 * 1024) / PAGE_SIZE; // 128
const PAGE_MAGIC = 0x47505652; // "RVPG" little-endian

/** A moment: epoch milliseconds, a Date, or an ISO 8601 date-time string. */
export type Instant = Date | number | string;

export function toMs(t: Instant): number {
  const ms = typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : t.getTime();
  if (!Number.isFinite(ms)) throw new SimulationError('InvalidRequest', `invalid time: ${String(t)}`);
  return Math.floor(ms);
}

// ---------------------------------------------------------------------------------------------------------------
// LSNs

const LSN_FIRST_VLF = 34n;
const TX_PER_VLF = 1_000_000;
const BLOCK_ORIGIN = 16;
const BLOCK_STEP = 8;
const E15 = 10n ** 15n;
const E10 = 10n ** 10n;
const E5 = 10n ** 5n;

/** The LSN of global transaction index `index` (0 = database creation / base). */
export function lsnOf(index: number): bigint {
  if (!Number.isSafeInteger(index) || index < 0)
    throw new SimulationError('InvalidRequest', `invalid transaction index ${index}`);
  const vlf = LSN_FIRST_VLF + BigInt(Math.floor(index / TX_PER_VLF));
  const block = BigInt((index % TX_PER_VLF) * BLOCK_STEP + BLOCK_ORIGIN);
  return vlf * E15 + block * E5 + 1n;
}

/** The transaction index of an LSN this simulation produced; throws for anything else. */
export function indexOfLsn(lsn: bigint | string): number {
  const value = typeof lsn === 'string' ? lsnFromText(lsn) : lsn;
  if (value === undefined) throw new SimulationError('InvalidRequest', `invalid LSN ${JSON.stringify(lsn)}`);
  const slot = value % E5;
  const block = (value / E5) % E10;
  const vlf = value / E15;
  const b = Number(block) - BLOCK_ORIGIN;
  // The wire allows 30 digits; an index past 2^53 (some 21+ digit LSNs) is no transaction this simulation made.
  const index = Number(vlf - LSN_FIRST_VLF) * TX_PER_VLF + b / BLOCK_STEP;
  if (slot !== 1n || vlf < LSN_FIRST_VLF || b < 0 || b % BLOCK_STEP !== 0 || b / BLOCK_STEP >= TX_PER_VLF) {
    throw new SimulationError('InvalidRequest', `${value} is not an LSN of a simulated database`);
  }
  if (!Number.isSafeInteger(index)) throw new SimulationError('InvalidRequest', `invalid LSN ${JSON.stringify(lsn)}`);
  return index;
}

// ---------------------------------------------------------------------------------------------------------------
// The model: everything that defines a database's history (JSON-serialisable; the state dir stores it).

export type DatabaseBase =
  /** Content generated from the seed, LSN index 0. */
  | { kind: 'seed'; seed: string; marker?: string }
  /** Content read from an image file (a restore's output) consistent with LSN `lsn`. */
  | { kind: 'image'; path: string; sha256: string; lsn: string };

export interface DatabaseModel {
  /** SQL Server's database_guid: one per incarnation (a restore makes a new one). */
  databaseGuid: string;
  /** SQL Server's family_guid: stays the same across restores of the same original database. */
  familyGuid: string;
  pageCount: number;
  base: DatabaseBase;
  /** The write stream on top of the base: seed of the written bytes, rate, and when it starts (ISO). */
  writes: { seed: string; writesPerMinute: number; startTime: string };
}

export interface CreateDatabaseOptions {
  seed: string;
  sizeMiB: number;
  writesPerMinute: number;
  createdAt: Instant;
  marker?: string;
  /** Default: derived from seed and createdAt. */
  databaseGuid?: string;
}

export interface FromImageOptions {
  /** The image file (e.g. `RestoreResult.imagePath`). It is read, never written. */
  path: string;
  sha256: string;
  pageCount: number;
  /** LSN the image is consistent with (`RestoreResult.restoredLsn`). */
  lsn: string;
  familyGuid: string;
  databaseGuid: string;
  /** Seed of the new write stream. */
  writeSeed: string;
  writesPerMinute: number;
  /** When the database came online; its writes start one period later. */
  startTime: Instant;
}

/** A transaction as a log backup carries it. */
export interface Transaction {
  index: number;
  lsn: bigint;
  time: number;
  page: number;
  offset: number;
  data: Buffer;
}

/** Deterministic GUID text from a string (sha256 → 8-4-4-4-12, version 4 bits set). */
export function deriveGuid(text: string): string {
  const h = createHash('sha256').update(text).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Arithmetic helpers (all values < 2^36, so doubles stay exact).

/** (a × x) mod m for 0 ≤ a, x < m ≤ 2^36, exact in doubles. */
function mulmod(a: number, x: number, m: number): number {
  const x2 = Math.floor(x / 16777216);
  const rest = x - x2 * 16777216;
  const x1 = Math.floor(rest / 4096);
  const x0 = rest - x1 * 4096;
  let r = (a * x2) % m;
  r = (r * 4096 + a * x1) % m;
  r = (r * 4096 + a * x0) % m;
  return r;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function modInverse(a: number, m: number): number {
  let [oldR, r] = [BigInt(a), BigInt(m)];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  const inv = ((oldS % BigInt(m)) + BigInt(m)) % BigInt(m);
  return Number(inv);
}

function mod(x: number, m: number): number {
  const r = x % m;
  return r < 0 ? r + m : r;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Writes a u64 (< 2^53) little-endian. */
function writeU64(buf: Buffer, value: number, pos: number): void {
  const hi = Math.floor(value / 4294967296);
  buf.writeUInt32LE(value - hi * 4294967296, pos);
  buf.writeUInt32LE(hi, pos + 4);
}

/** Iterates LSNs of consecutive indices as (hi, lo) u32 pairs without bigint arithmetic per step. */
class LsnCursor {
  hi = 0;
  lo = 0;
  private index = -1;
  seek(index: number): void {
    const v = lsnOf(index);
    this.hi = Number(v >> 32n);
    this.lo = Number(v & 0xffffffffn);
    this.index = index;
  }
  next(): void {
    const n = this.index + 1;
    if (n % TX_PER_VLF === 0) return this.seek(n);
    this.index = n;
    this.lo += BLOCK_STEP * 100000;
    if (this.lo >= 4294967296) {
      this.lo -= 4294967296;
      this.hi += 1;
    }
  }
  write(buf: Buffer, pos: number): void {
    buf.writeUInt32LE(this.lo, pos);
    buf.writeUInt32LE(this.hi, pos + 4);
  }
}

// ---------------------------------------------------------------------------------------------------------------

export class SimulatedDatabase {
  readonly model: DatabaseModel;
  readonly pageCount: number;
  readonly sizeBytes: number;
  /** Global index of the base content (0 for a seed database). */
  readonly baseIndex: number;
  /** Epoch ms at which the database (or this incarnation of it) came online. */
  readonly startTime: number;
  readonly writesPerMinute: number;

  private readonly dataPages: number;
  private readonly slots: number; // S: all data slots
  private readonly hotSlots: number; // SH: slots of the hot pages (global slots [0, SH))
  private readonly hotMul: number; // a
  private readonly hotMulInv: number; // a^-1 mod SH
  private readonly hotAdd: number; // b
  private readonly coldOffset: number; // c0
  private readonly txKey: Uint32Array;
  private readonly pageKey: Buffer | undefined;
  private readonly baseLsn: bigint;

  static create(options: CreateDatabaseOptions): SimulatedDatabase {
    if (!Number.isInteger(options.sizeMiB) || options.sizeMiB < 1) {
      throw new SimulationError('InvalidRequest', `sizeMiB must be a positive integer, got ${options.sizeMiB}`);
    }
    const createdAt = new Date(toMs(options.createdAt)).toISOString();
    const guid = options.databaseGuid ?? deriveGuid(`rv-sim/guid/${options.seed}/${createdAt}`);
    const base: DatabaseBase =
      options.marker === undefined
        ? { kind: 'seed', seed: options.seed }
        : { kind: 'seed', seed: options.seed, marker: options.marker };
    return new SimulatedDatabase({
      databaseGuid: guid,
      familyGuid: guid,
      pageCount: options.sizeMiB * PAGES_PER_MIB,
      base,
      writes: { seed: options.seed, writesPerMinute: options.writesPerMinute, startTime: createdAt },
    });
  }

  /** A database whose base content is an image file (a restored database), with its own write stream on top. */
  static fromImage(options: FromImageOptions): SimulatedDatabase {
    return new SimulatedDatabase({
      databaseGuid: options.databaseGuid,
      familyGuid: options.familyGuid,
      pageCount: options.pageCount,
      base: { kind: 'image', path: options.path, sha256: options.sha256, lsn: options.lsn },
      writes: {
        seed: options.writeSeed,
        writesPerMinute: options.writesPerMinute,
        startTime: new Date(toMs(options.startTime)).toISOString(),
      },
    });
  }

  constructor(model: DatabaseModel) {
    this.model = structuredClone(model);
    const { pageCount, writes } = model;
    if (!Number.isInteger(pageCount) || pageCount < 2 || pageCount > 2 ** 27) {
      throw new SimulationError('InvalidRequest', `pageCount must be an integer in [2, 2^27], got ${pageCount}`);
    }
    if (!Number.isInteger(writes.writesPerMinute) || writes.writesPerMinute < 0 || writes.writesPerMinute > 60_000) {
      throw new SimulationError(
        'InvalidRequest',
        `writesPerMinute must be an integer in [0, 60000], got ${writes.writesPerMinute}`,
      );
    }
    const start = Date.parse(writes.startTime);
    if (Number.isNaN(start)) throw new SimulationError('InvalidRequest', `invalid startTime ${writes.startTime}`);
    if (!LITTLE_ENDIAN) throw new SimulationError('InvalidRequest', 'the simulation assumes a little-endian host');
    this.pageCount = pageCount;
    this.sizeBytes = pageCount * PAGE_SIZE;
    this.startTime = start;
    this.writesPerMinute = writes.writesPerMinute;
    this.baseIndex = model.base.kind === 'seed' ? 0 : indexOfLsn(model.base.lsn);
    this.baseLsn = lsnOf(this.baseIndex);
    if (model.base.kind === 'seed') {
      this.pageKey = createHash('sha256').update(`rv-sim/pages/${model.base.seed}`).digest();
      if (model.base.marker !== undefined && Buffer.byteLength(model.base.marker) > PAGE_SIZE - PAGE_HEADER_SIZE) {
        throw new SimulationError('InvalidRequest', 'marker does not fit in a page');
      }
    }

    const txDigest = createHash('sha256').update(`rv-sim/tx/${writes.seed}`).digest();
    this.txKey = new Uint32Array(8);
    for (let w = 0; w < 8; w++) this.txKey[w] = txDigest.readUInt32LE(w * 4);
    const r = (n: number) => txDigest.readUInt32LE(n * 4);

    this.dataPages = pageCount - 1;
    this.slots = this.dataPages * SLOTS_PER_PAGE;
    const hotPages = Math.max(1, Math.ceil(this.dataPages / 10));
    this.hotSlots = hotPages * SLOTS_PER_PAGE;
    let a = Math.floor(this.hotSlots * 0.6180339887) + (r(0) % 64);
    while (a < 1 || gcd(a, this.hotSlots) !== 1) a = (a + 1) % this.hotSlots;
    this.hotMul = a;
    this.hotMulInv = modInverse(a, this.hotSlots);
    this.hotAdd = (r(1) * 65536 + r(2)) % this.hotSlots;
    this.coldOffset = (r(3) * 65536 + r(4)) % this.slots;
  }

  get databaseGuid(): string {
    return this.model.databaseGuid;
  }

  get familyGuid(): string {
    return this.model.familyGuid;
  }

  // --- time ↔ transactions -------------------------------------------------------------------------------------

  /** Global index of the last transaction with timestamp ≤ t (the base index if none). Throws for t before start. */
  txIndexAt(t: Instant): number {
    const ms = toMs(t);
    if (ms < this.startTime) {
      throw new SimulationError(
        'InvalidRequest',
        `${new Date(ms).toISOString()} is before the database came online (${new Date(this.startTime).toISOString()})`,
      );
    }
    if (this.writesPerMinute === 0) return this.baseIndex;
    const count = ((BigInt(ms - this.startTime) + 1n) * BigInt(this.writesPerMinute) - 1n) / 60000n;
    return this.baseIndex + Number(count);
  }

  /** Timestamp (epoch ms) of global transaction index > baseIndex. */
  txTime(index: number): number {
    const m = index - this.baseIndex;
    if (!Number.isSafeInteger(index) || m < 1 || this.writesPerMinute === 0) {
      throw new SimulationError('InvalidRequest', `transaction ${index} does not exist in this database`);
    }
    return this.startTime + Math.floor((m * 60000) / this.writesPerMinute);
  }

  /** The LSN of the last transaction with timestamp ≤ t (the base LSN before the first write). */
  lsnAt(t: Instant): bigint {
    return lsnOf(this.txIndexAt(t));
  }

  /** sha256 (hex) of the full page image after every transaction with timestamp ≤ t. */
  contentHashAt(t: Instant): string {
    return this.contentHashAtIndex(this.txIndexAt(t));
  }

  /** sha256 (hex) of the full page image after transactions up to global index `index`. Memory: one 1 MiB buffer. */
  contentHashAtIndex(index: number): string {
    const hash = createHash('sha256');
    const chunkPages = PAGES_PER_MIB;
    const buf = Buffer.allocUnsafe(chunkPages * PAGE_SIZE);
    for (let p = 0; p < this.pageCount; p += chunkPages) {
      const n = Math.min(chunkPages, this.pageCount - p);
      this.renderPages(p, n, index, buf, 0);
      hash.update(buf.subarray(0, n * PAGE_SIZE));
    }
    return hash.digest('hex');
  }

  /** One page as of time t (a copy). */
  pageAt(page: number, t: Instant): Buffer {
    const buf = Buffer.allocUnsafe(PAGE_SIZE);
    this.renderPages(page, 1, this.txIndexAt(t), buf, 0);
    return buf;
  }

  // --- page images ---------------------------------------------------------------------------------------------

  private checkIndex(index: number): void {
    if (!Number.isSafeInteger(index) || index < this.baseIndex) {
      throw new SimulationError(
        'InvalidRequest',
        `transaction index ${index} is before this database's base (${this.baseIndex})`,
      );
    }
  }

  /**
   * Writes pages [first, first + count) as of global transaction index `index` into target[offset ...].
   * Cost O(count × 8 KiB), independent of the index.
   */
  renderPages(first: number, count: number, index: number, target: Buffer, offset = 0): void {
    this.checkIndex(index);
    if (first < 0 || count < 0 || first + count > this.pageCount) {
      throw new SimulationError(
        'InvalidRequest',
        `pages [${first}, ${first + count}) out of range (0..${this.pageCount})`,
      );
    }
    if (offset + count * PAGE_SIZE > target.length)
      throw new SimulationError('InvalidRequest', 'target buffer too small');
    if (count === 0) return;
    const aligned = (target.byteOffset + offset) % 4 === 0;
    const out = aligned ? target : Buffer.allocUnsafe(count * PAGE_SIZE);
    const at = aligned ? offset : 0;
    this.renderBase(first, count, out, at);
    const words = new Uint32Array(out.buffer, out.byteOffset + at, (count * PAGE_SIZE) / 4);
    const m = index - this.baseIndex; // writes of this incarnation applied
    for (let k = 0; k < count; k++) {
      const page = first + k;
      if (page === 0) continue;
      const last = this.overlayPage(page, m, words, (k * PAGE_SIZE) / 4);
      if (last >= 0) out.writeBigUInt64LE(lsnOf(this.baseIndex + 1 + last), at + k * PAGE_SIZE + 8);
    }
    if (!aligned) out.copy(target, offset, 0, count * PAGE_SIZE);
  }

  private renderBase(first: number, count: number, out: Buffer, at: number): void {
    const len = count * PAGE_SIZE;
    const base = this.model.base;
    if (base.kind === 'image') {
      const fd = openSync(base.path, 'r');
      try {
        let done = 0;
        while (done < len) {
          const n = readSync(fd, out, at + done, len - done, first * PAGE_SIZE + done);
          if (n === 0)
            throw new SimulationError('InvalidRequest', `image ${base.path} is shorter than ${this.pageCount} pages`);
          done += n;
        }
      } finally {
        closeSync(fd);
      }
      return;
    }
    // AES-256-CTR keystream at byte offset first × 8192: counter block = offset / 16.
    const iv = Buffer.alloc(16);
    const counter = (first * PAGE_SIZE) / 16;
    iv.writeUInt32BE(Math.floor(counter / 4294967296), 8);
    iv.writeUInt32BE(counter % 4294967296, 12);
    const cipher = createCipheriv('aes-256-ctr', this.pageKey!, iv);
    out.fill(0, at, at + len);
    const n = cipher.update(out.subarray(at, at + len)).copy(out, at);
    if (n !== len) throw new Error('keystream length mismatch');
    for (let k = 0; k < count; k++) {
      const pos = at + k * PAGE_SIZE;
      out.writeUInt32LE(first + k, pos);
      out.writeUInt32LE(PAGE_MAGIC, pos + 4);
      out.writeBigUInt64LE(this.baseLsn, pos + 8);
      if (first + k === 0 && base.marker !== undefined) out.write(base.marker, pos + PAGE_HEADER_SIZE, 'utf8');
    }
  }

  /** Last write (layer-local k) to global data slot g among the first m writes, or -1. */
  private lastWriteOfSlot(g: number, m: number, rCold: number, rHot: number): number {
    const cn = Math.floor(m / 10);
    let best = -1;
    if (cn > 0) {
      const q = Math.floor(cn / this.slots);
      const rem = cn - q * this.slots;
      const c = rCold < rem ? q * this.slots + rCold : q > 0 ? (q - 1) * this.slots + rCold : -1;
      if (c >= 0) best = c * 10 + 9;
    }
    if (g < this.hotSlots) {
      const hn = m - cn;
      const q = Math.floor(hn / this.hotSlots);
      const rem = hn - q * this.hotSlots;
      const h = rHot < rem ? q * this.hotSlots + rHot : q > 0 ? (q - 1) * this.hotSlots + rHot : -1;
      if (h >= 0) {
        const k = Math.floor(h / 9) * 10 + (h % 9);
        if (k > best) best = k;
      }
    }
    return best;
  }

  /**
   * Writes the last write of each slot of `page` (among the first m writes) into words (page starts at word wp).
   * Returns the largest layer-local write index applied to the page, or -1.
   */
  private overlayPage(page: number, m: number, words: Uint32Array, wp: number): number {
    if (m <= 0) return -1;
    const g0 = (page - 1) * SLOTS_PER_PAGE;
    let rCold = mod(g0 - this.coldOffset, this.slots);
    let rHot = g0 < this.hotSlots ? mulmod(this.hotMulInv, mod(g0 - this.hotAdd, this.hotSlots), this.hotSlots) : 0;
    let pageMax = -1;
    const key = this.txKey;
    for (let s = 0; s < SLOTS_PER_PAGE; s++) {
      const g = g0 + s;
      const k = this.lastWriteOfSlot(g, m, rCold, rHot);
      if (k >= 0) {
        writeTxWords(key, k, words, wp + (PAGE_HEADER_SIZE + s * SLOT_SIZE) / 4);
        if (k > pageMax) pageMax = k;
      }
      rCold = rCold + 1 === this.slots ? 0 : rCold + 1;
      rHot += this.hotMulInv;
      if (rHot >= this.hotSlots) rHot -= this.hotSlots;
    }
    return pageMax;
  }

  /**
   * Pages changed after global index `since` up to `index` (a differential's content): a bitmap, 1 = changed.
   * Page 0 never changes.
   */
  changedPages(since: number, index: number): Uint8Array {
    this.checkIndex(since);
    this.checkIndex(index);
    if (since > index) throw new SimulationError('InvalidRequest', `base index ${since} is after ${index}`);
    const map = new Uint8Array(this.pageCount);
    const m = index - this.baseIndex;
    const ms = since - this.baseIndex;
    if (m === ms) return map;
    for (let page = 1; page < this.pageCount; page++) {
      const g0 = (page - 1) * SLOTS_PER_PAGE;
      let rCold = mod(g0 - this.coldOffset, this.slots);
      let rHot = g0 < this.hotSlots ? mulmod(this.hotMulInv, mod(g0 - this.hotAdd, this.hotSlots), this.hotSlots) : 0;
      for (let s = 0; s < SLOTS_PER_PAGE; s++) {
        if (this.lastWriteOfSlot(g0 + s, m, rCold, rHot) >= ms) {
          map[page] = 1;
          break;
        }
        rCold = rCold + 1 === this.slots ? 0 : rCold + 1;
        rHot += this.hotMulInv;
        if (rHot >= this.hotSlots) rHot -= this.hotSlots;
      }
    }
    return map;
  }

  // --- transactions --------------------------------------------------------------------------------------------

  /** Global data slot written by layer-local write k. */
  private slotOf(k: number): number {
    const q = Math.floor(k / 10);
    const r = k - q * 10;
    if (r === 9) return ((q % this.slots) + this.coldOffset) % this.slots;
    const h = q * 9 + r;
    return (mulmod(this.hotMul, h % this.hotSlots, this.hotSlots) + this.hotAdd) % this.hotSlots;
  }

  private checkRange(after: number, upTo: number): void {
    this.checkIndex(after);
    if (!Number.isSafeInteger(upTo) || upTo < after)
      throw new SimulationError('InvalidRequest', `invalid transaction range (${after}, ${upTo}]`);
  }

  /** Transactions with global index in (after, upTo], in order. */
  *transactions(after: number, upTo: number): Generator<Transaction> {
    this.checkRange(after, upTo);
    const words = new Uint32Array(8);
    for (let i = after + 1; i <= upTo; i++) {
      const k = i - this.baseIndex - 1;
      const g = this.slotOf(k);
      writeTxWords(this.txKey, k, words, 0);
      const page = 1 + Math.floor(g / SLOTS_PER_PAGE);
      yield {
        index: i,
        lsn: lsnOf(i),
        time: this.txTime(i),
        page,
        offset: PAGE_HEADER_SIZE + (g % SLOTS_PER_PAGE) * SLOT_SIZE,
        data: Buffer.from(words.buffer.slice(0)),
      };
    }
  }

  /**
   * Encodes log records for global indices (after, upTo] into target at pos (LOG_RECORD_SIZE bytes each):
   * u64 LSN | u64 time ms | u32 page | u16 offset | u16 length (32) | 32 data bytes.
   */
  encodeLogRecords(after: number, upTo: number, target: Buffer, pos: number): number {
    this.checkRange(after, upTo);
    if (pos + (upTo - after) * LOG_RECORD_SIZE > target.length)
      throw new SimulationError('InvalidRequest', 'target buffer too small');
    const words = new Uint32Array(8);
    const bytes = Buffer.from(words.buffer);
    const cursor = new LsnCursor();
    cursor.seek(after + 1);
    for (let i = after + 1; i <= upTo; i++) {
      if (i > after + 1) cursor.next();
      const k = i - this.baseIndex - 1;
      const g = this.slotOf(k);
      cursor.write(target, pos);
      writeU64(target, this.startTime + Math.floor(((k + 1) * 60000) / this.writesPerMinute), pos + 8);
      target.writeUInt32LE(1 + Math.floor(g / SLOTS_PER_PAGE), pos + 16);
      target.writeUInt16LE(PAGE_HEADER_SIZE + (g % SLOTS_PER_PAGE) * SLOT_SIZE, pos + 20);
      target.writeUInt16LE(SLOT_SIZE, pos + 22);
      writeTxWords(this.txKey, k, words, 0);
      bytes.copy(target, pos + 24);
      pos += LOG_RECORD_SIZE;
    }
    return pos;
  }
}

/** Size of one encoded log record (see `encodeLogRecords`). */
export const LOG_RECORD_SIZE = 56;

/** The 32 bytes written by layer-local write k: a keyed PRF of k (8 × u32). */
function writeTxWords(key: Uint32Array, k: number, out: Uint32Array, o: number): void {
  const lo = k >>> 0;
  const hi = Math.floor(k / 4294967296) >>> 0;
  let h = fmix(key[0]! ^ lo);
  h = fmix(h ^ key[1]! ^ Math.imul(hi, 0x9e3779b1));
  for (let w = 0; w < 8; w++) {
    h = fmix(((h ^ key[w]!) + Math.imul(w + 1, 0x9e3779b9)) | 0);
    out[o + w] = h;
  }
}
