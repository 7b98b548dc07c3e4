/**
 * The simulated backup file format ("RVSQLBAK", version 1): what the reference agent streams to the vault and reads
 * back at restore. Little-endian throughout. Self-describing, framed, and checksummed twice (per frame and whole).
 *
 * ```
 * stream   := preamble frame*                    -- first frame META, last frame END, nothing after END
 * preamble := "RVSQLBAK" (8 bytes) | u16 version = 1 | u16 0 | u32 0          -- 16 bytes
 * frame    := u8 kind | u8 flags = 0 | u16 0 | u32 seq | u32 length | payload[length] | u32 crc32
 *             -- seq counts frames from 0 (META); crc32 (zlib) covers kind .. end of payload; length ≤ 2 MiB
 * kinds:
 *   1 META   payload = UTF-8 JSON `BackupHeader` (type, database GUIDs, page size/count, LSNs as decimal strings,
 *            ISO times, counts of the content frames that follow)
 *   2 PAGES  payload = u32 firstPage | u32 pageCount | pageCount × 8192 bytes     -- consecutive pages, ≤ 128
 *            Full / CopyOnlyFull: every page 0..pageCount-1 exactly once, ascending.
 *            Differential: the changed pages only, ascending.
 *   3 LOG    payload = u32 recordCount | recordCount × record                     -- ≤ 8192 records
 *            record := u64 LSN | u64 time (epoch ms) | u32 page | u16 offset | u16 length | data[length]
 *            LSNs strictly increase, within [firstLsn, lastLsn); times within (startTime, endTime].
 *            Applying a record: copy data to page × 8192 + offset, then set the page LSN (page bytes 8..15) to LSN.
 *  15 END    payload = u32 frameCount (frames before END) | u64 byteCount (bytes before END) | sha256 (32 bytes)
 *            of every byte before the END frame
 * ```
 * A reader rejects: bad magic/version, unknown kind, non-zero reserved fields, out-of-sequence frames, oversize
 * lengths, CRC mismatches, content that disagrees with META (page ranges, counts, LSN/time bounds), a missing END
 * (truncation), an END whose counts or SHA-256 disagree, and any byte after END.
 *
 * The stream's own SHA-256 (of all bytes, END included) is the digest the backup's metadata reports.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { CorruptBackupError } from './errors.ts';
import { PAGE_SIZE } from './database.ts';

export const MAGIC = Buffer.from('RVSQLBAK', 'ascii');
export const FORMAT_VERSION = 1;
export const PREAMBLE_SIZE = 16;
export const FRAME_HEADER_SIZE = 12;
export const FRAME_TRAILER_SIZE = 4;
export const FRAME_OVERHEAD = FRAME_HEADER_SIZE + FRAME_TRAILER_SIZE;
export const MAX_FRAME_PAYLOAD = 2 * 1024 * 1024;
export const PAGES_PER_FRAME = 128;
export const RECORDS_PER_FRAME = 8192;
export const END_PAYLOAD_SIZE = 4 + 8 + 32;

export const FrameKind = { Meta: 1, Pages: 2, Log: 3, End: 15 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export type BackupType = 'Full' | 'CopyOnlyFull' | 'Differential' | 'Log';
export const BACKUP_TYPES: readonly BackupType[] = ['Full', 'CopyOnlyFull', 'Differential', 'Log'];

/** The META frame's JSON. LSNs are decimal strings; times ISO 8601 (UTC, ms). */
export interface BackupHeader {
  format: 'rv-sql-backup';
  version: 1;
  type: BackupType;
  databaseName?: string;
  databaseGuid: string;
  familyGuid: string;
  pageSize: number;
  /** Pages of the whole database (the restored image's size). */
  pageCount: number;
  firstLsn: string;
  lastLsn: string;
  checkpointLsn: string;
  databaseBackupLsn: string;
  differentialBaseLsn?: string;
  /** Full/Diff/CopyOnly: the time of the image. Log: the end of the previous backup the log continues from. */
  startTime: string;
  endTime: string;
  /** Number of pages carried (Full: pageCount; Differential: changed pages; Log: 0). */
  pagesInBackup: number;
  /** Number of log records carried (Log only; 0 otherwise). */
  transactionCount: number;
}

export function preamble(): Buffer {
  const b = Buffer.alloc(PREAMBLE_SIZE);
  MAGIC.copy(b, 0);
  b.writeUInt16LE(FORMAT_VERSION, 8);
  return b;
}

/** A frame buffer with header filled in and room for `length` payload bytes (payload at FRAME_HEADER_SIZE). */
export function allocFrame(kind: FrameKind, seq: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_OVERHEAD + length);
  b.writeUInt8(kind, 0);
  b.writeUInt8(0, 1);
  b.writeUInt16LE(0, 2);
  b.writeUInt32LE(seq, 4);
  b.writeUInt32LE(length, 8);
  return b;
}

/** Computes and writes the frame CRC; call after the payload is complete. */
export function sealFrame(frame: Buffer): Buffer {
  const end = frame.length - FRAME_TRAILER_SIZE;
  frame.writeUInt32LE(crc32(frame.subarray(0, end)), end);
  return frame;
}

export function metaFrame(header: BackupHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const f = allocFrame(FrameKind.Meta, 0, json.length);
  json.copy(f, FRAME_HEADER_SIZE);
  return sealFrame(f);
}

export function endFrame(seq: number, byteCount: number, sha256: Buffer): Buffer {
  const f = allocFrame(FrameKind.End, seq, END_PAYLOAD_SIZE);
  f.writeUInt32LE(seq, FRAME_HEADER_SIZE);
  f.writeBigUInt64LE(BigInt(byteCount), FRAME_HEADER_SIZE + 4);
  sha256.copy(f, FRAME_HEADER_SIZE + 12);
  return sealFrame(f);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

export interface Frame {
  kind: FrameKind;
  seq: number;
  /** The payload (a view; valid until the next frame is read). */
  payload: Buffer;
  /** Stream offset of the frame's first byte. */
  offset: number;
}

/**
 * Reads a backup stream frame by frame, verifying preamble, framing, CRCs and the END frame. `next()` returns the
 * next content frame (META first), or undefined after a verified END. Throws CorruptBackupError on anything wrong.
 */
export class BackupReader {
  private readonly iterator: AsyncIterator<unknown>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private position = 0; // stream offset of the first buffered byte
  private readonly hash: Hash = createHash('sha256');
  private seq = 0;
  private started = false;
  private ended = false;
  header: BackupHeader | undefined;

  constructor(
    stream: Readable | AsyncIterable<unknown>,
    private readonly label = 'backup stream',
  ) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  /** Total bytes consumed so far. */
  get offset(): number {
    return this.position;
  }

  private corrupt(message: string, offset = this.position): CorruptBackupError {
    return new CorruptBackupError(`${this.label}: ${message}`, offset);
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n) {
      const r = await this.iterator.next();
      if (r.done) return false;
      const value: unknown = r.value;
      let chunk: Buffer;
      if (Buffer.isBuffer(value)) chunk = value;
      else if (value instanceof Uint8Array) chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      else if (typeof value === 'string') chunk = Buffer.from(value);
      else throw this.corrupt('stream yielded a non-byte chunk');
      if (chunk.length === 0) continue;
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    return true;
  }

  /** Takes exactly n bytes (n ≤ buffered), hashing them. */
  private take(n: number, hashIt = true): Buffer {
    let out: Buffer;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let done = 0;
      while (done < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - done);
        c.copy(out, done, 0, k);
        done += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    this.position += n;
    if (hashIt) this.hash.update(out);
    return out;
  }

  private async readPreamble(): Promise<void> {
    if (!(await this.fill(PREAMBLE_SIZE))) throw this.corrupt(`truncated: ${this.buffered} bytes, no preamble`);
    const p = this.take(PREAMBLE_SIZE);
    if (!p.subarray(0, 8).equals(MAGIC)) throw this.corrupt('not a simulated SQL backup (bad magic)', 0);
    const version = p.readUInt16LE(8);
    if (version !== FORMAT_VERSION) throw this.corrupt(`unsupported format version ${version}`, 8);
    if (p.readUInt16LE(10) !== 0 || p.readUInt32LE(12) !== 0)
      throw this.corrupt('non-zero reserved preamble bytes', 10);
  }

  /** Next content frame, or undefined once END has been read and verified. */
  async next(): Promise<Frame | undefined> {
    if (this.ended) return undefined;
    if (!this.started) {
      this.started = true;
      await this.readPreamble();
    }
    const at = this.position;
    if (!(await this.fill(FRAME_HEADER_SIZE))) {
      throw this.corrupt(
        this.buffered === 0 ? 'truncated: the stream ends without an END frame' : 'truncated frame header',
      );
    }
    // Peek the header without consuming so the END frame's hash excludes the END frame itself.
    const head = this.peek(FRAME_HEADER_SIZE);
    const kind = head.readUInt8(0);
    if (kind !== FrameKind.Meta && kind !== FrameKind.Pages && kind !== FrameKind.Log && kind !== FrameKind.End) {
      throw this.corrupt(`bad framing: unknown frame kind ${kind}`);
    }
    if (head.readUInt8(1) !== 0 || head.readUInt16LE(2) !== 0)
      throw this.corrupt('bad framing: non-zero reserved frame bytes');
    const seq = head.readUInt32LE(4);
    if (seq !== this.seq) throw this.corrupt(`bad framing: frame sequence ${seq}, expected ${this.seq}`);
    const length = head.readUInt32LE(8);
    if (length > MAX_FRAME_PAYLOAD)
      throw this.corrupt(`bad framing: frame length ${length} exceeds ${MAX_FRAME_PAYLOAD}`);
    if (this.seq === 0 && kind !== FrameKind.Meta) throw this.corrupt('bad framing: the first frame is not META');
    if (this.seq > 0 && kind === FrameKind.Meta) throw this.corrupt('bad framing: a second META frame');
    const total = FRAME_OVERHEAD + length;
    if (!(await this.fill(total)))
      throw this.corrupt(`truncated: frame ${seq} needs ${total} bytes, ${this.buffered} left`);

    let innerDigest: Buffer | undefined;
    if (kind === FrameKind.End) innerDigest = this.hash.copy().digest();
    const frame = this.take(total);
    const crc = frame.readUInt32LE(total - FRAME_TRAILER_SIZE);
    if (crc32(frame.subarray(0, total - FRAME_TRAILER_SIZE)) !== crc)
      throw this.corrupt(`frame ${seq}: CRC mismatch`, at);
    const payload = frame.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + length);
    this.seq++;

    if (kind === FrameKind.End) {
      if (length !== END_PAYLOAD_SIZE) throw this.corrupt('bad END frame length', at);
      const frames = payload.readUInt32LE(0);
      const bytes = Number(payload.readBigUInt64LE(4));
      if (frames !== seq) throw this.corrupt(`END says ${frames} frames, read ${seq}`, at);
      if (bytes !== at) throw this.corrupt(`END says ${bytes} bytes, read ${at}`, at);
      if (!payload.subarray(12, 44).equals(innerDigest!))
        throw this.corrupt('SHA-256 mismatch: the stream content was altered', at);
      // Nothing may follow END.
      if (this.buffered > 0 || (await this.fill(1)))
        throw this.corrupt('trailing bytes after the END frame', this.position);
      this.ended = true;
      return undefined;
    }
    if (kind === FrameKind.Meta) {
      this.header = parseHeader(payload, (m) => this.corrupt(m, at));
    }
    return { kind: kind as FrameKind, seq, payload, offset: at };
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let done = 0;
    for (const c of this.chunks) {
      const k = Math.min(c.length, n - done);
      c.copy(out, done, 0, k);
      done += k;
      if (done === n) break;
    }
    return out;
  }

  /** The SHA-256 (hex) of everything consumed, valid once next() returned undefined. */
  digestHex(): string {
    return this.hash.digest('hex');
  }

  /** Stops reading (destroys nothing; the caller owns the stream). */
  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

const LSN_RE = /^\d{1,20}$/;
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function parseHeader(payload: Buffer, fail: (m: string) => Error): BackupHeader {
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw fail('META is not valid JSON');
  }
  if (typeof h !== 'object' || h === null) throw fail('META is not an object');
  const str = (k: string, re?: RegExp): string => {
    const v = h[k];
    if (typeof v !== 'string' || (re && !re.test(v))) throw fail(`META.${k} is invalid`);
    return v;
  };
  const int = (k: string): number => {
    const v = h[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw fail(`META.${k} is invalid`);
    return v;
  };
  const time = (k: string): string => {
    const v = str(k);
    if (Number.isNaN(Date.parse(v))) throw fail(`META.${k} is not a time`);
    return v;
  };
  if (h.format !== 'rv-sql-backup' || h.version !== 1) throw fail('META.format/version is not rv-sql-backup 1');
  const type = h.type;
  if (typeof type !== 'string' || !(BACKUP_TYPES as readonly string[]).includes(type))
    throw fail('META.type is invalid');
  const header: BackupHeader = {
    format: 'rv-sql-backup',
    version: 1,
    type: type as BackupType,
    databaseGuid: str('databaseGuid', GUID_RE),
    familyGuid: str('familyGuid', GUID_RE),
    pageSize: int('pageSize'),
    pageCount: int('pageCount'),
    firstLsn: str('firstLsn', LSN_RE),
    lastLsn: str('lastLsn', LSN_RE),
    checkpointLsn: str('checkpointLsn', LSN_RE),
    databaseBackupLsn: str('databaseBackupLsn', LSN_RE),
    startTime: time('startTime'),
    endTime: time('endTime'),
    pagesInBackup: int('pagesInBackup'),
    transactionCount: int('transactionCount'),
  };
  if (h.databaseName !== undefined) header.databaseName = str('databaseName');
  if (h.differentialBaseLsn !== undefined) header.differentialBaseLsn = str('differentialBaseLsn', LSN_RE);
  if (header.pageSize !== PAGE_SIZE) throw fail(`META.pageSize ${header.pageSize} is not ${PAGE_SIZE}`);
  if (header.pageCount < 2 || header.pageCount > 2 ** 27) throw fail('META.pageCount is invalid');
  if (BigInt(header.lastLsn) < BigInt(header.firstLsn)) throw fail('META.lastLsn is before firstLsn');
  if (Date.parse(header.endTime) < Date.parse(header.startTime)) throw fail('META.endTime is before startTime');
  if (header.type === 'Differential' && header.differentialBaseLsn === undefined)
    throw fail('META.differentialBaseLsn missing');
  return header;
}
