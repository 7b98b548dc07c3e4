/**
 * Backups of a simulated database as streams, in the format of `backup-format.ts`.
 *
 * A backup is a pure function of (database model, request): the same request always yields the same bytes, so an
 * agent that crashed mid-upload regenerates the identical stream and skips what the service already has.
 * Streams are produced frame by frame (≤ ~1 MiB each) on demand; memory stays flat whatever the database size.
 *
 * LSN conventions (N = index of the last transaction with timestamp ≤ the backup time):
 *   Full / CopyOnlyFull / Differential: firstLsn = checkpointLsn = lsn(N), lastLsn = lsn(N + 1) (the first LSN not
 *     in the backup); Full's databaseBackupLsn = the previous Full's checkpointLsn ("0" if none), a Differential's
 *     databaseBackupLsn = differentialBaseLsn = its base Full's checkpointLsn.
 *   Log from a previous backup P to time t: firstLsn = P.lastLsn, lastLsn = lsn(N + 1), holding transactions with
 *     LSN in [firstLsn, lastLsn); startTime = P.endTime, endTime = t; checkpointLsn = lsn(N); databaseBackupLsn = the
 *     current Full's checkpointLsn ("0" if unknown). A log with no new transactions has firstLsn = lastLsn.
 *   Backups are instantaneous: startTime = endTime = t for Full/CopyOnlyFull/Differential.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import {
  allocFrame,
  type BackupHeader,
  type BackupType,
  endFrame,
  FRAME_HEADER_SIZE,
  FRAME_OVERHEAD,
  FrameKind,
  metaFrame,
  PAGES_PER_FRAME,
  preamble,
  PREAMBLE_SIZE,
  RECORDS_PER_FRAME,
  sealFrame,
  END_PAYLOAD_SIZE,
} from './backup-format.ts';
import {
  indexOfLsn,
  type Instant,
  LOG_RECORD_SIZE,
  lsnOf,
  PAGE_SIZE,
  type SimulatedDatabase,
  toMs,
} from './database.ts';
import { lsnText } from '../../protocol/lsn.ts';
import { SimulationError } from './errors.ts';

export type { BackupType } from './backup-format.ts';

/** A point a backup continues from: a Full (for a Differential) or the previous backup in the log chain (for a Log). */
export interface FullRef {
  checkpointLsn: string;
  endTime: string;
}
export interface LogChainRef {
  lastLsn: string;
  endTime: string;
}

/** What to back up. JSON-serialisable (times ISO 8601), so an agent can persist it and regenerate the same stream. */
export type BackupRequest =
  | { type: 'Full' | 'CopyOnlyFull'; time: string; previousFullCheckpointLsn?: string; databaseName?: string }
  | { type: 'Differential'; time: string; base: FullRef; databaseName?: string }
  | { type: 'Log'; time: string; previous: LogChainRef; fullCheckpointLsn?: string; databaseName?: string };

/** A backup's metadata (the msdb.backupset facts), as the agent reports it at commit. */
export interface BackupMetadata {
  type: BackupType;
  databaseName?: string;
  databaseGuid: string;
  familyGuid: string;
  pageCount: number;
  firstLsn: string;
  lastLsn: string;
  checkpointLsn: string;
  databaseBackupLsn: string;
  differentialBaseLsn?: string;
  startTime: string;
  endTime: string;
  isCopyOnly: boolean;
  pagesInBackup: number;
  transactionCount: number;
  /** Exact size of the stream in bytes (known before streaming). */
  sizeBytes: number;
  /** SHA-256 (hex) of the stream bytes; present once the stream has been produced completely. */
  sha256?: string;
}

export interface BackupHandle {
  /** Everything but sha256, known up front. */
  metadata: BackupMetadata;
  stream: Readable;
  /** Resolves with the metadata including sha256 once the stream has been read to the end; rejects if it was not. */
  completed: Promise<BackupMetadata & { sha256: string }>;
}

/** ISO text of an instant. */
export function isoTime(t: Instant): string {
  return new Date(typeof t === 'string' ? parseTime(t) : toMs(t)).toISOString();
}

function parseTime(text: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new SimulationError('InvalidRequest', `invalid time ${JSON.stringify(text)}`);
  return ms;
}

/** Convenience constructors for requests. */
export const backupRequest = {
  full: (time: Instant, previousFullCheckpointLsn?: string): BackupRequest =>
    previousFullCheckpointLsn === undefined
      ? { type: 'Full', time: isoTime(time) }
      : { type: 'Full', time: isoTime(time), previousFullCheckpointLsn },
  copyOnlyFull: (time: Instant): BackupRequest => ({ type: 'CopyOnlyFull', time: isoTime(time) }),
  differential: (time: Instant, base: FullRef): BackupRequest => ({
    type: 'Differential',
    time: isoTime(time),
    base: { checkpointLsn: base.checkpointLsn, endTime: base.endTime },
  }),
  log: (time: Instant, previous: LogChainRef, fullCheckpointLsn?: string): BackupRequest => {
    const r: BackupRequest = {
      type: 'Log',
      time: isoTime(time),
      previous: { lastLsn: previous.lastLsn, endTime: previous.endTime },
    };
    if (fullCheckpointLsn !== undefined) r.fullCheckpointLsn = fullCheckpointLsn;
    return r;
  },
};

interface Plan {
  header: BackupHeader;
  sizeBytes: number;
  /** Frames after META, produced lazily. */
  content: (seqStart: number) => Generator<Buffer>;
  contentFrames: number;
}

function lsnOrZero(text: string | undefined, what: string): string {
  if (text === undefined) return '0';
  if (!/^\d{1,20}$/.test(text))
    throw new SimulationError('InvalidRequest', `${what} is not an LSN: ${JSON.stringify(text)}`);
  return text;
}

function plan(db: SimulatedDatabase, request: BackupRequest): Plan {
  const time = parseTime(request.time);
  const endTime = new Date(time).toISOString();
  const n = db.txIndexAt(time);
  const common = {
    format: 'rv-sql-backup' as const,
    version: 1 as const,
    databaseGuid: db.databaseGuid,
    familyGuid: db.familyGuid,
    pageSize: PAGE_SIZE,
    pageCount: db.pageCount,
  };
  const named = request.databaseName === undefined ? {} : { databaseName: request.databaseName };

  if (request.type === 'Full' || request.type === 'CopyOnlyFull') {
    const header: BackupHeader = {
      ...common,
      type: request.type,
      ...named,
      firstLsn: lsnText(lsnOf(n)),
      lastLsn: lsnText(lsnOf(n + 1)),
      checkpointLsn: lsnText(lsnOf(n)),
      databaseBackupLsn: lsnOrZero(request.previousFullCheckpointLsn, 'previousFullCheckpointLsn'),
      startTime: endTime,
      endTime,
      pagesInBackup: db.pageCount,
      transactionCount: 0,
    };
    const frames = Math.ceil(db.pageCount / PAGES_PER_FRAME);
    return {
      header,
      contentFrames: frames,
      sizeBytes: frames * (FRAME_OVERHEAD + 8) + db.pageCount * PAGE_SIZE,
      content: (seq) => pageFrames(db, n, allPageRuns(db.pageCount), seq),
    };
  }

  if (request.type === 'Differential') {
    const baseIndex = indexOfLsnChecked(request.base.checkpointLsn, 'base.checkpointLsn');
    const baseTime = parseTime(request.base.endTime);
    if (baseIndex < db.baseIndex) {
      throw new SimulationError(
        'InvalidRequest',
        `differential base ${request.base.checkpointLsn} predates this database incarnation`,
      );
    }
    if (time < baseTime)
      throw new SimulationError(
        'InvalidRequest',
        `differential time ${endTime} is before its base (${request.base.endTime})`,
      );
    if (db.txIndexAt(baseTime) !== baseIndex) {
      throw new SimulationError(
        'InvalidRequest',
        `base checkpointLsn ${request.base.checkpointLsn} does not match the database at ${request.base.endTime}`,
      );
    }
    const map = db.changedPages(baseIndex, n);
    const runs = changedRuns(map);
    let pages = 0;
    let frames = 0;
    for (const [, count] of runs) {
      pages += count;
      frames += Math.ceil(count / PAGES_PER_FRAME);
    }
    const header: BackupHeader = {
      ...common,
      type: 'Differential',
      ...named,
      firstLsn: lsnText(lsnOf(n)),
      lastLsn: lsnText(lsnOf(n + 1)),
      checkpointLsn: lsnText(lsnOf(n)),
      databaseBackupLsn: request.base.checkpointLsn,
      differentialBaseLsn: request.base.checkpointLsn,
      startTime: endTime,
      endTime,
      pagesInBackup: pages,
      transactionCount: 0,
    };
    return {
      header,
      contentFrames: frames,
      sizeBytes: frames * (FRAME_OVERHEAD + 8) + pages * PAGE_SIZE,
      content: (seq) => pageFrames(db, n, runs, seq),
    };
  }

  if (request.type === 'Log') {
    const firstIndex = indexOfLsnChecked(request.previous.lastLsn, 'previous.lastLsn');
    const after = firstIndex - 1;
    const prevTime = parseTime(request.previous.endTime);
    if (after < db.baseIndex) {
      throw new SimulationError(
        'InvalidRequest',
        `log chain start ${request.previous.lastLsn} predates this database incarnation`,
      );
    }
    if (time < prevTime)
      throw new SimulationError(
        'InvalidRequest',
        `log backup time ${endTime} is before the previous backup (${request.previous.endTime})`,
      );
    if (db.txIndexAt(prevTime) !== after) {
      throw new SimulationError(
        'InvalidRequest',
        `previous.lastLsn ${request.previous.lastLsn} does not match the database at ${request.previous.endTime}`,
      );
    }
    const count = n - after;
    const frames = Math.ceil(count / RECORDS_PER_FRAME);
    const header: BackupHeader = {
      ...common,
      type: 'Log',
      ...named,
      firstLsn: request.previous.lastLsn,
      lastLsn: lsnText(lsnOf(n + 1)),
      checkpointLsn: lsnText(lsnOf(n)),
      databaseBackupLsn: lsnOrZero(request.fullCheckpointLsn, 'fullCheckpointLsn'),
      startTime: new Date(prevTime).toISOString(),
      endTime,
      pagesInBackup: 0,
      transactionCount: count,
    };
    return {
      header,
      contentFrames: frames,
      sizeBytes: frames * (FRAME_OVERHEAD + 4) + count * LOG_RECORD_SIZE,
      content: (seq) => logFrames(db, after, n, seq),
    };
  }
  throw new SimulationError('InvalidRequest', `unknown backup type ${(request as { type: unknown }).type}`);
}

function indexOfLsnChecked(lsn: string, what: string): number {
  try {
    return indexOfLsn(lsn);
  } catch {
    throw new SimulationError('InvalidRequest', `${what} ${JSON.stringify(lsn)} is not an LSN of this simulation`);
  }
}

function allPageRuns(pageCount: number): Array<[number, number]> {
  return [[0, pageCount]];
}

function changedRuns(map: Uint8Array): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let p = 0;
  while (p < map.length) {
    if (map[p] === 0) {
      p++;
      continue;
    }
    const start = p;
    while (p < map.length && map[p] === 1) p++;
    runs.push([start, p - start]);
  }
  return runs;
}

function* pageFrames(
  db: SimulatedDatabase,
  index: number,
  runs: Array<[number, number]>,
  seq: number,
): Generator<Buffer> {
  for (const [start, count] of runs) {
    for (let p = start; p < start + count; p += PAGES_PER_FRAME) {
      const n = Math.min(PAGES_PER_FRAME, start + count - p);
      const frame = allocFrame(FrameKind.Pages, seq++, 8 + n * PAGE_SIZE);
      frame.writeUInt32LE(p, FRAME_HEADER_SIZE);
      frame.writeUInt32LE(n, FRAME_HEADER_SIZE + 4);
      db.renderPages(p, n, index, frame, FRAME_HEADER_SIZE + 8);
      yield sealFrame(frame);
    }
  }
}

function* logFrames(db: SimulatedDatabase, after: number, upTo: number, seq: number): Generator<Buffer> {
  for (let i = after; i < upTo; i += RECORDS_PER_FRAME) {
    const n = Math.min(RECORDS_PER_FRAME, upTo - i);
    const frame = allocFrame(FrameKind.Log, seq++, 4 + n * LOG_RECORD_SIZE);
    frame.writeUInt32LE(n, FRAME_HEADER_SIZE);
    db.encodeLogRecords(i, i + n, frame, FRAME_HEADER_SIZE + 4);
    yield sealFrame(frame);
  }
}

function toMetadata(header: BackupHeader, sizeBytes: number): BackupMetadata {
  const m: BackupMetadata = {
    type: header.type,
    databaseGuid: header.databaseGuid,
    familyGuid: header.familyGuid,
    pageCount: header.pageCount,
    firstLsn: header.firstLsn,
    lastLsn: header.lastLsn,
    checkpointLsn: header.checkpointLsn,
    databaseBackupLsn: header.databaseBackupLsn,
    startTime: header.startTime,
    endTime: header.endTime,
    isCopyOnly: header.type === 'CopyOnlyFull',
    pagesInBackup: header.pagesInBackup,
    transactionCount: header.transactionCount,
    sizeBytes,
  };
  if (header.databaseName !== undefined) m.databaseName = header.databaseName;
  if (header.differentialBaseLsn !== undefined) m.differentialBaseLsn = header.differentialBaseLsn;
  return m;
}

/** Metadata from a verified stream header (restore side). */
export function metadataFromHeader(header: BackupHeader, sizeBytes: number, sha256?: string): BackupMetadata {
  const m = toMetadata(header, sizeBytes);
  if (sha256 !== undefined) m.sha256 = sha256;
  return m;
}

/**
 * The metadata a backup would have, without producing it (sha256 absent). Cheap except for a Differential (one pass
 * over the slot map, no page content). Use it for backups "taken by another tool" that the vault never receives.
 */
export function describeBackup(db: SimulatedDatabase, request: BackupRequest): BackupMetadata {
  const p = plan(db, request);
  return toMetadata(
    p.header,
    PREAMBLE_SIZE + metaFrame(p.header).length + p.sizeBytes + FRAME_OVERHEAD + END_PAYLOAD_SIZE,
  );
}

/** Opens a backup as a stream. Validation errors throw here, before any byte is produced. */
export function openBackup(db: SimulatedDatabase, request: BackupRequest): BackupHandle {
  const p = plan(db, request);
  const meta = metaFrame(p.header);
  const sizeBytes = PREAMBLE_SIZE + meta.length + p.sizeBytes + FRAME_OVERHEAD + END_PAYLOAD_SIZE;
  const metadata = toMetadata(p.header, sizeBytes);

  let resolve!: (m: BackupMetadata & { sha256: string }) => void;
  let reject!: (e: Error) => void;
  const completed = new Promise<BackupMetadata & { sha256: string }>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  completed.catch(() => {}); // an abandoned stream must not become an unhandled rejection
  let done = false;

  function* generate(): Generator<Buffer> {
    const hash = createHash('sha256');
    let bytes = 0;
    const emit = (b: Buffer) => {
      hash.update(b);
      bytes += b.length;
      return b;
    };
    yield emit(preamble());
    yield emit(meta);
    let seq = 1;
    for (const frame of p.content(1)) {
      seq++;
      yield emit(frame);
    }
    const end = endFrame(seq, bytes, hash.copy().digest());
    emit(end);
    if (bytes !== sizeBytes) throw new Error(`internal: produced ${bytes} bytes, planned ${sizeBytes}`);
    sha256 = hash.digest('hex');
    yield end;
  }

  let sha256: string | undefined;
  const stream = Readable.from(generate(), { objectMode: false, highWaterMark: 1 });
  stream.once('end', () => {
    done = true;
    resolve({ ...metadata, sha256: sha256! });
  });
  stream.once('close', () => {
    if (!done)
      reject(new SimulationError('InvalidRequest', 'the backup stream was closed before it was read to the end'));
  });
  stream.once('error', (e) => reject(e));
  return { metadata, stream, completed };
}

// ---------------------------------------------------------------------------------------------------------------
// Digest helpers for callers that move backup bytes around.

export interface StreamDigest {
  sha256: string;
  sizeBytes: number;
}

/** Consumes a stream, returning its SHA-256 and size. */
export async function digestStream(stream: AsyncIterable<unknown>): Promise<StreamDigest> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    hash.update(b);
    sizeBytes += b.length;
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}

/** A pass-through that hashes what flows through it; `digest` resolves when the stream ends. */
export class DigestTap extends Transform {
  private readonly hash = createHash('sha256');
  private size = 0;
  readonly digest: Promise<StreamDigest>;
  private settle!: (d: StreamDigest) => void;

  constructor() {
    super();
    this.digest = new Promise((res) => {
      this.settle = res;
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.settle({ sha256: this.hash.digest('hex'), sizeBytes: this.size });
    cb();
  }
}
