/**
 * Restores from backup streams: apply an ordered chain (Full or CopyOnlyFull, optionally a Differential based on it,
 * then Log backups) up to an optional point in time, or write the raw backup files plus a manifest ("restore as
 * files"). Every stream is fully verified (framing, CRCs, SHA-256, content vs. its META) and the chain is validated
 * as SQL Server would; any failure throws and leaves the target untouched.
 *
 * Output choice: the restored image is written to a file as the streams arrive (never the whole image in memory, so a
 * 1 GiB restore costs the same memory as a 1 MiB one). Full/Differential pages go straight to the file; log records,
 * small writes scattered over the pages, go through a bounded LRU page cache (default 64 MiB) that is flushed at the
 * end. The work happens in `<file>.partial-*`, renamed over the target only after everything verified; the image's
 * SHA-256 is computed by reading the finished file back.
 *
 * Point in time (`stopAt`): only log records with timestamp ≤ stopAt (epoch ms) are applied — the same rule as
 * `SimulatedDatabase.contentHashAt`, so restoring to t reproduces the source's content at t. Pass whole seconds to
 * restore "to the second" as Azure does. It must lie in [base backup time, end of the last log].
 */
import { readSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type BackupHeader, BackupReader, FrameKind, PAGES_PER_FRAME, RECORDS_PER_FRAME } from './backup-format.ts';
import { type BackupMetadata, metadataFromHeader } from './backup.ts';
import { type Instant, PAGE_SIZE, toMs } from './database.ts';
import { CorruptBackupError, RestoreChainError } from './errors.ts';

/** A backup stream, or a function opening it when the restore gets to it. */
export type RestorePart =
  | Readable
  | AsyncIterable<unknown>
  | (() => Readable | AsyncIterable<unknown> | Promise<Readable | AsyncIterable<unknown>>);

export interface RestoreOptions {
  parts: RestorePart[];
  /** Apply log records with timestamp ≤ stopAt only. Default: everything. */
  stopAt?: Instant;
  /** Directory of the restored image (created if missing). */
  targetDir: string;
  /**
   * Default `<source databaseGuid>-<restoredLsn>-<random>.img` (unique). An existing file of that name is replaced,
   * only on success — never restore over the image an active restored database is based on.
   */
  fileName?: string;
  /** Log-apply page cache budget. Default 64. */
  pageCacheMiB?: number;
}

export interface RestoreResult {
  imagePath: string;
  /** SHA-256 (hex) of the restored image: compare with `SimulatedDatabase.contentHashAt(stopAt)`. */
  sha256: string;
  pageCount: number;
  sizeBytes: number;
  databaseGuid: string;
  familyGuid: string;
  databaseName?: string;
  /** LSN of the last transaction contained in the image. */
  restoredLsn: string;
  /** The point in time the image represents (stopAt, or the end of the last part). */
  pointInTime: string;
  transactionsApplied: number;
  /** The verified parts, in order, with their stream sizes and SHA-256. */
  parts: BackupMetadata[];
}

// ---------------------------------------------------------------------------------------------------------------
// Chain validation (shared by both restore kinds)

class ChainValidator {
  full: BackupHeader | undefined;
  diff: BackupHeader | undefined;
  lastLog: BackupHeader | undefined;
  private readonly stopAt: number | undefined;

  constructor(stopAt: number | undefined) {
    this.stopAt = stopAt;
  }

  /** The backup the logs continue from. */
  get base(): BackupHeader {
    return this.diff ?? this.full!;
  }

  /** Validates a part's header against the chain so far; returns what to do with it. */
  accept(h: BackupHeader, index: number): void {
    const fail = (m: string) => new RestoreChainError('RestoreChainBroken', `part ${index + 1} (${h.type}): ${m}`);
    if (index === 0) {
      if (h.type !== 'Full' && h.type !== 'CopyOnlyFull')
        throw fail('a restore chain must start with a Full or CopyOnlyFull backup');
      this.full = h;
      if (this.stopAt !== undefined && this.stopAt < Date.parse(h.endTime)) {
        throw new RestoreChainError(
          'PointInTimeOutOfRange',
          `point in time ${new Date(this.stopAt).toISOString()} is before the full backup (${h.endTime})`,
        );
      }
      return;
    }
    const full = this.full!;
    if (h.databaseGuid !== full.databaseGuid || h.familyGuid !== full.familyGuid) {
      throw fail(`belongs to database ${h.databaseGuid}, the full backup to ${full.databaseGuid}`);
    }
    if (h.pageCount !== full.pageCount)
      throw fail(`page count ${h.pageCount} differs from the full backup's ${full.pageCount}`);
    if (h.type === 'Full' || h.type === 'CopyOnlyFull') throw fail('only the first part can be a full backup');
    if (h.type === 'Differential') {
      if (this.diff) throw fail('only one differential backup can be restored');
      if (this.lastLog) throw fail('a differential backup must come before the log backups');
      if (h.differentialBaseLsn !== full.checkpointLsn) {
        throw fail(
          `its differential base LSN ${h.differentialBaseLsn} is not the full backup's checkpoint LSN ${full.checkpointLsn}`,
        );
      }
      if (Date.parse(h.endTime) < Date.parse(full.endTime)) throw fail('taken before its base full backup');
      this.diff = h;
      if (this.stopAt !== undefined && this.stopAt < Date.parse(h.endTime)) {
        throw new RestoreChainError(
          'PointInTimeOutOfRange',
          `point in time ${new Date(this.stopAt).toISOString()} is before the differential backup (${h.endTime}); restore the full with logs instead`,
        );
      }
      return;
    }
    // Log
    const first = BigInt(h.firstLsn);
    const last = BigInt(h.lastLsn);
    if (!this.lastLog) {
      const baseLast = BigInt(this.base.lastLsn);
      if (last < baseLast) {
        throw fail(
          `ends at LSN ${h.lastLsn}, before the ${this.base.type} backup's last LSN ${this.base.lastLsn} (too early for this chain)`,
        );
      }
      if (first > baseLast) {
        throw fail(
          `starts at LSN ${h.firstLsn}, after the ${this.base.type} backup's last LSN ${this.base.lastLsn}: the log chain has a gap`,
        );
      }
    } else if (first !== BigInt(this.lastLog.lastLsn)) {
      throw fail(
        first > BigInt(this.lastLog.lastLsn)
          ? `starts at LSN ${h.firstLsn} but the previous log ends at ${this.lastLog.lastLsn}: the log chain is broken (LSN gap)`
          : `starts at LSN ${h.firstLsn}, before the previous log's end ${this.lastLog.lastLsn} (overlap or wrong order)`,
      );
    }
    this.lastLog = h;
  }

  /** After the last part: the point in time must be covered. Returns the point in time restored to. */
  finish(): number {
    const end = Date.parse((this.lastLog ?? this.base).endTime);
    if (this.stopAt === undefined) return end;
    if (this.stopAt > end) {
      throw new RestoreChainError(
        'PointInTimeOutOfRange',
        `point in time ${new Date(this.stopAt).toISOString()} is after the end of the chain (${new Date(end).toISOString()})`,
      );
    }
    return this.stopAt;
  }
}

async function openPart(part: RestorePart): Promise<Readable | AsyncIterable<unknown>> {
  return typeof part === 'function' ? await part() : part;
}

function destroyPart(stream: Readable | AsyncIterable<unknown>): void {
  const d = (stream as { destroy?: () => void }).destroy;
  if (typeof d === 'function') d.call(stream);
}

interface PartSink {
  pages(firstPage: number, count: number, data: Buffer): Promise<void> | void;
  record(lsn: bigint, time: number, page: number, offset: number, data: Buffer, lsnBytes: Buffer): void;
}

/**
 * Reads one part completely, validating content against the header and the chain, feeding pages/records to the sink.
 * Records with lsn < applyFrom or time > stopAt are verified but not applied. Returns the verified metadata.
 */
async function consumePart(
  reader: BackupReader,
  index: number,
  chain: ChainValidator,
  sink: PartSink | undefined,
  apply: { from: bigint; stopAt: number | undefined; applied: number; lastLsn: bigint },
): Promise<BackupMetadata> {
  const meta = await reader.next();
  if (!meta) throw new CorruptBackupError('empty backup stream');
  const h = reader.header!;
  chain.accept(h, index);
  const bad = (m: string, offset: number) => new CorruptBackupError(`part ${index + 1} (${h.type}): ${m}`, offset);
  let pages = 0;
  let nextPage = 0; // Full: expected next page; Differential: lowest allowed next page
  let records = 0;
  let prevLsn = -1n;
  const firstLsn = BigInt(h.firstLsn);
  const lastLsn = BigInt(h.lastLsn);
  const startTime = Date.parse(h.startTime);
  const endTime = Date.parse(h.endTime);
  for (;;) {
    const frame = await reader.next();
    if (!frame) break;
    const p = frame.payload;
    if (frame.kind === FrameKind.Pages) {
      if (h.type === 'Log') throw bad('a log backup contains a PAGES frame', frame.offset);
      if (p.length < 8) throw bad('short PAGES frame', frame.offset);
      const first = p.readUInt32LE(0);
      const count = p.readUInt32LE(4);
      if (count === 0 || count > PAGES_PER_FRAME || p.length !== 8 + count * PAGE_SIZE)
        throw bad('PAGES frame size disagrees with its page count', frame.offset);
      if (first + count > h.pageCount)
        throw bad(`pages ${first}..${first + count - 1} beyond the database's ${h.pageCount} pages`, frame.offset);
      if (h.type === 'Differential' ? first < nextPage : first !== nextPage) {
        throw bad(
          `pages out of order (frame starts at page ${first}, expected ${h.type === 'Differential' ? `≥ ${nextPage}` : nextPage})`,
          frame.offset,
        );
      }
      nextPage = first + count;
      pages += count;
      if (sink) await sink.pages(first, count, p.subarray(8));
    } else if (frame.kind === FrameKind.Log) {
      if (h.type !== 'Log') throw bad('a data backup contains a LOG frame', frame.offset);
      if (p.length < 4) throw bad('short LOG frame', frame.offset);
      const count = p.readUInt32LE(0);
      if (count === 0 || count > RECORDS_PER_FRAME) throw bad('bad LOG frame record count', frame.offset);
      let pos = 4;
      for (let r = 0; r < count; r++) {
        if (pos + 24 > p.length) throw bad('LOG frame shorter than its records', frame.offset);
        const lsnBytes = p.subarray(pos, pos + 8);
        const lsn = p.readBigUInt64LE(pos);
        const time = p.readUInt32LE(pos + 8) + p.readUInt32LE(pos + 12) * 4294967296;
        const page = p.readUInt32LE(pos + 16);
        const offset = p.readUInt16LE(pos + 20);
        const length = p.readUInt16LE(pos + 22);
        if (pos + 24 + length > p.length) throw bad('LOG frame shorter than its records', frame.offset);
        if (lsn <= prevLsn) throw bad(`log record LSNs do not increase (${lsn} after ${prevLsn})`, frame.offset);
        if (lsn < firstLsn || lsn >= lastLsn)
          throw bad(`log record LSN ${lsn} outside [${h.firstLsn}, ${h.lastLsn})`, frame.offset);
        if (time <= startTime || time > endTime)
          throw bad(`log record time ${new Date(time).toISOString()} outside the backup's time span`, frame.offset);
        if (page >= h.pageCount || length === 0 || offset + length > PAGE_SIZE)
          throw bad(`log record writes outside the database (page ${page})`, frame.offset);
        prevLsn = lsn;
        records++;
        if (sink && lsn >= apply.from && (apply.stopAt === undefined || time <= apply.stopAt)) {
          sink.record(lsn, time, page, offset, p.subarray(pos + 24, pos + 24 + length), lsnBytes);
          apply.applied++;
          apply.lastLsn = lsn;
        }
        pos += 24 + length;
      }
      if (pos !== p.length) throw bad('LOG frame longer than its records', frame.offset);
    }
  }
  if (h.type === 'Log') {
    if (records !== h.transactionCount)
      throw bad(`holds ${records} records, META says ${h.transactionCount}`, reader.offset);
  } else {
    if (pages !== h.pagesInBackup) throw bad(`holds ${pages} pages, META says ${h.pagesInBackup}`, reader.offset);
    if (h.type !== 'Differential' && pages !== h.pageCount)
      throw bad(`a full backup must hold all ${h.pageCount} pages, holds ${pages}`, reader.offset);
  }
  return metadataFromHeader(h, reader.offset, reader.digestHex());
}

// ---------------------------------------------------------------------------------------------------------------
// The restored image file with a bounded page cache for log records

class ImageWriter {
  private readonly cache = new Map<number, Buffer>();

  constructor(
    private readonly fh: FileHandle,
    private readonly capacity: number,
  ) {}

  async pages(first: number, count: number, data: Buffer): Promise<void> {
    for (let p = first; p < first + count; p++) this.cache.delete(p);
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, first * PAGE_SIZE + done);
      done += bytesWritten;
    }
  }

  private page(p: number): Buffer {
    let buf = this.cache.get(p);
    if (buf) {
      this.cache.delete(p);
      this.cache.set(p, buf);
      return buf;
    }
    buf = Buffer.allocUnsafe(PAGE_SIZE);
    const n = readSync(this.fh.fd, buf, 0, PAGE_SIZE, p * PAGE_SIZE);
    if (n !== PAGE_SIZE) buf.fill(0, n);
    this.cache.set(p, buf);
    if (this.cache.size > this.capacity) {
      const [oldest, old] = this.cache.entries().next().value as [number, Buffer];
      this.cache.delete(oldest);
      writeSync(this.fh.fd, old, 0, PAGE_SIZE, oldest * PAGE_SIZE);
    }
    return buf;
  }

  record(_lsn: bigint, _time: number, page: number, offset: number, data: Buffer, lsnBytes: Buffer): void {
    const buf = this.page(page);
    data.copy(buf, offset);
    lsnBytes.copy(buf, 8);
  }

  async flush(): Promise<void> {
    const pages = [...this.cache.keys()].sort((a, b) => a - b);
    for (const p of pages) writeSync(this.fh.fd, this.cache.get(p)!, 0, PAGE_SIZE, p * PAGE_SIZE);
    this.cache.clear();
    await this.fh.sync();
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1024 * 1024);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

function stopAtOf(stopAt: Instant | undefined): number | undefined {
  return stopAt === undefined ? undefined : toMs(stopAt);
}

/** Restores a chain into an image file. See the module comment. */
export async function restoreDatabase(options: RestoreOptions): Promise<RestoreResult> {
  if (options.parts.length === 0) throw new RestoreChainError('RestoreChainBroken', 'no backups to restore');
  const stopAt = stopAtOf(options.stopAt);
  const chain = new ChainValidator(stopAt);
  await mkdir(options.targetDir, { recursive: true });
  const cachePages = Math.max(16, Math.floor(((options.pageCacheMiB ?? 64) * 1024 * 1024) / PAGE_SIZE));

  let tempPath: string | undefined;
  let fh: FileHandle | undefined;
  let writer: ImageWriter | undefined;
  const verified: BackupMetadata[] = [];
  const apply = { from: 0n, stopAt, applied: 0, lastLsn: 0n };
  let current: Readable | AsyncIterable<unknown> | undefined;
  try {
    for (let i = 0; i < options.parts.length; i++) {
      current = await openPart(options.parts[i]!);
      const reader = new BackupReader(current, `part ${i + 1}`);
      // The sink needs the header (image size, file name) before the first page: create it lazily.
      const sink: PartSink = {
        pages: async (first, count, data) => {
          if (!writer) {
            const h = reader.header!;
            tempPath = join(
              options.targetDir,
              `${options.fileName ?? h.databaseGuid}.partial-${process.pid}-${randomBytes(4).toString('hex')}`,
            );
            fh = await open(tempPath, 'w+');
            await fh.truncate(h.pageCount * PAGE_SIZE);
            writer = new ImageWriter(fh, cachePages);
          }
          await writer.pages(first, count, data);
        },
        record: (lsn, time, page, offset, data, lsnBytes) => writer!.record(lsn, time, page, offset, data, lsnBytes),
      };
      const meta = await consumePart(reader, i, chain, sink, apply);
      verified.push(meta);
      if (meta.type !== 'Log') {
        apply.from = BigInt(meta.lastLsn);
        apply.lastLsn = BigInt(meta.checkpointLsn);
      }
      current = undefined;
    }
    const pointInTime = chain.finish();
    if (!writer || !fh || !tempPath) throw new CorruptBackupError('the full backup held no pages');
    await writer.flush();
    await fh.close();
    fh = undefined;
    const full = chain.full!;
    const fileName = options.fileName ?? `${full.databaseGuid}-${apply.lastLsn}-${randomBytes(4).toString('hex')}.img`;
    const imagePath = join(options.targetDir, fileName);
    const sha256 = await hashFile(tempPath);
    await rename(tempPath, imagePath);
    tempPath = undefined;
    const result: RestoreResult = {
      imagePath,
      sha256,
      pageCount: full.pageCount,
      sizeBytes: full.pageCount * PAGE_SIZE,
      databaseGuid: full.databaseGuid,
      familyGuid: full.familyGuid,
      restoredLsn: apply.lastLsn.toString(),
      pointInTime: new Date(pointInTime).toISOString(),
      transactionsApplied: apply.applied,
      parts: verified,
    };
    if (full.databaseName !== undefined) result.databaseName = full.databaseName;
    return result;
  } finally {
    if (current) destroyPart(current);
    if (fh) await fh.close().catch(() => {});
    if (tempPath) await rm(tempPath, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Restore as files

export interface RestoreAsFilesOptions {
  parts: RestorePart[];
  targetDir: string;
  /** Recorded in the manifest and the T-SQL script (STOPAT); must be covered by the chain. */
  stopAt?: Instant;
  /** Name used in the script; default the backups' databaseName or "restored". */
  databaseName?: string;
}

export interface RestoredFile extends BackupMetadata {
  fileName: string;
  sha256: string;
}

export interface FilesManifest {
  format: 'rv-sql-restore-files';
  version: 1;
  databaseName: string;
  databaseGuid: string;
  familyGuid: string;
  pointInTime: string | null;
  /** In restore order. */
  files: RestoredFile[];
  /** T-SQL a DBA would run against the files (paths relative to the directory). */
  restoreScript: string;
}

export interface RestoreAsFilesResult {
  manifestPath: string;
  manifest: FilesManifest;
  /** Absolute paths of the written backup files, in restore order. */
  paths: string[];
}

export const MANIFEST_FILE = 'manifest.json';

function compactTime(iso: string): string {
  return iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Writes each part's raw bytes (verified) to `targetDir` plus `manifest.json`. Nothing is left behind on failure. */
export async function restoreAsFiles(options: RestoreAsFilesOptions): Promise<RestoreAsFilesResult> {
  if (options.parts.length === 0) throw new RestoreChainError('RestoreChainBroken', 'no backups to restore');
  const stopAt = stopAtOf(options.stopAt);
  const chain = new ChainValidator(stopAt);
  await mkdir(options.targetDir, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const temps: string[] = [];
  const files: RestoredFile[] = [];
  let current: Readable | AsyncIterable<unknown> | undefined;
  const apply = { from: 0n, stopAt, applied: 0, lastLsn: 0n };
  try {
    for (let i = 0; i < options.parts.length; i++) {
      current = await openPart(options.parts[i]!);
      const temp = join(options.targetDir, `.part-${i + 1}.partial-${tag}`);
      temps.push(temp);
      const out = await open(temp, 'w');
      try {
        const source = current;
        const tee = (async function* () {
          for await (const chunk of source) {
            const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
            let done = 0;
            while (done < b.length) done += (await out.write(b, done, b.length - done)).bytesWritten;
            yield b;
          }
        })();
        const meta = await consumePart(new BackupReader(tee, `part ${i + 1}`), i, chain, undefined, apply);
        const ext = meta.type === 'Log' ? 'trn' : 'bak';
        const fileName = `${String(i + 1).padStart(2, '0')}-${meta.type}-${compactTime(meta.endTime)}.${ext}`;
        files.push({ ...meta, fileName, sha256: meta.sha256! });
        await out.sync();
      } finally {
        await out.close();
      }
      current = undefined;
    }
    const end = chain.finish();
    const pointInTime = stopAt === undefined ? null : new Date(end).toISOString();
    const full = chain.full!;
    const databaseName = options.databaseName ?? full.databaseName ?? 'restored';
    const manifest: FilesManifest = {
      format: 'rv-sql-restore-files',
      version: 1,
      databaseName,
      databaseGuid: full.databaseGuid,
      familyGuid: full.familyGuid,
      pointInTime,
      files,
      restoreScript: restoreScript(databaseName, files, pointInTime),
    };
    const paths: string[] = [];
    for (let i = 0; i < files.length; i++) {
      const path = join(options.targetDir, files[i]!.fileName);
      await rename(temps[i]!, path);
      paths.push(path);
    }
    temps.length = 0;
    const manifestPath = join(options.targetDir, MANIFEST_FILE);
    const manifestTemp = `${manifestPath}.partial-${tag}`;
    temps.push(manifestTemp);
    const mf = await open(manifestTemp, 'w');
    try {
      await mf.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
      await mf.sync();
    } finally {
      await mf.close();
    }
    await rename(manifestTemp, manifestPath);
    temps.length = 0;
    return { manifestPath, manifest, paths };
  } finally {
    if (current) destroyPart(current);
    for (const t of temps) await rm(t, { force: true });
  }
}

function restoreScript(db: string, files: RestoredFile[], pointInTime: string | null): string {
  const name = db.replace(/]/g, ']]');
  const lines = files.map((f, i) => {
    const last = i === files.length - 1;
    const opts = [last ? 'RECOVERY' : 'NORECOVERY'];
    if (pointInTime && f.type === 'Log') opts.push(`STOPAT = N'${pointInTime}'`);
    const verb = f.type === 'Log' ? 'LOG' : 'DATABASE';
    return `RESTORE ${verb} [${name}] FROM DISK = N'${f.fileName}' WITH ${opts.join(', ')};`;
  });
  return lines.join('\n');
}
