/**
 * The restore chain (docs/data-plane.md, "SQL Server backup chains"): which committed recovery points a restore
 * applies, in order — the base Full (`WITH NORECOVERY`), optionally a Differential based on it, then the log backups
 * through the one that contains the point in time (`STOPAT`, `RECOVERY`).
 *
 * Rules and decisions (LSN conventions and "covers" as in backup-chain.ts):
 * - Time ranges are exactly `logTimeRanges`'s: logs walked in (endTime, firstLsn, lastLsn) order; a log continuing the
 *   previous one extends the open range, any other log starts a range only when it covers the lastLsn of a Full or
 *   Differential (never a CopyOnlyFull), from max(log.startTime, earliest covered base's endTime). A point after a
 *   break is therefore only restorable from the range after it, with that range's logs.
 * - Ranges are inclusive at both ends (Azure restores "to the second" inside a range; the range start is the base's
 *   consistency point, the end the last log's endTime). The instant is compared as given (millisecond precision,
 *   UTC epoch: time zones play no part); the API carries whole seconds, and every whole second in [start, end] works.
 *   When two ranges share a boundary instant (a break exactly at a second), the later range is used: its base is newer.
 * - The log containing the point is the first log of the range whose endTime ≥ the point, so on a boundary between
 *   two logs (log i ends where log i+1 starts) the earlier log is the last one (one log fewer).
 * - Base: the latest Full (by endTime, then lastLsn, then commit order; CopyOnlyFull never) with endTime ≤ the point,
 *   then the latest Differential based on it (`differentialBaseLsn ?? databaseBackupLsn` = the Full's checkpointLsn)
 *   with endTime ≤ the point. A Full or Differential exactly at the point is used. The start point (the Differential,
 *   else the Full) must lie in the range's LSN span up to the last log ([first log's firstLsn, last log's lastLsn]);
 *   when it does not (a Differential that restarted a chain after a SIMPLE → FULL switch makes its Full lie before the
 *   range, which is fine; pathological clocks are not) an earlier Differential of that Full, then the Full itself,
 *   then earlier Fulls are tried. A Full in the middle of a log chain is thus preferred over an older one: fewer logs.
 * - The first log is the *last* log (up to the point's log) whose firstLsn ≤ the start point's lastLsn: lastLsn is
 *   the first LSN not in a backup, so a log ending exactly at the base's lastLsn holds nothing the base lacks and is
 *   skipped unless it is the point's log itself. Every plan for a point in time has at least one log.
 * - A point outside every range → ArmError 400 `UserErrorRestorePointNotInRange` (an emulator code: Azure's own is not
 *   documented), whose message lists every range (ISO, UTC) or says there is none. A range whose start point has no
 *   Full in the vault (a Differential whose Full is gone) → 400 `UserErrorParentFullBackupMissing`.
 * - Discrete restore (`restoreChainForPoint`): Full or CopyOnlyFull → itself; Differential → its base Full (the latest
 *   non-copy-only Full with that checkpointLsn, at or before it) and itself; a Log is not a discrete point → 400
 *   `BMSUserErrorInvalidInput`; an unknown id → 404 `ResourceNotFound`.
 *
 * Cost: `indexRestorePoints` sorts once (O(n log n); input already ordered by endTime — e.g. `ORDER BY endTime` — only
 * costs a linear check per list); a query on an index is O(log n) plus the plan's length (plus a short step-back in
 * pathological data). Passing a plain array builds the index on every call (milliseconds for ~7,500 shuffled points):
 * fine for one restore, but callers answering many queries over the same points should build the index once.
 * A discrete restore finds its point by a linear scan of the points (O(n), no index needed).
 *
 * Pure logic: no I/O, no clock.
 */
import { type CommittedPoint, logTimeRanges, PARENT_FULL_MISSING } from './backup-chain.ts';
import { errors } from './errors.ts';

export interface RestorePlan {
  /** In restore order: a Full (or, for a discrete restore, a CopyOnlyFull), an optional Differential, then Logs. */
  parts: CommittedPoint[];
  /** Set for a point-in-time restore: the `STOPAT` of the last log. */
  pointInTime?: Date;
}

export const POINT_NOT_IN_RANGE = 'UserErrorRestorePointNotInRange';

/** A contiguous log chain (one `logTimeRanges` range) with its logs in chain order. */
export interface Segment {
  start: number;
  end: number;
  logs: CommittedPoint[];
  /** endTime (ms) of each log, ascending. */
  ends: number[];
}

/** The points sorted and grouped once, for any number of queries. Treat as opaque and immutable. */
export interface RestoreIndex {
  readonly kind: 'RestoreIndex';
  /** Ranges sorted by start, then end (as logTimeRanges sorts them). */
  readonly segments: readonly Segment[];
  readonly starts: readonly number[];
  /** Running maximum of `segments[i].end`, to detect overlapping ranges. */
  readonly maxEnd: readonly number[];
  /** Non-copy-only Fulls, ordered "latest last" (endTime, lastLsn, commit order). */
  readonly fulls: readonly CommittedPoint[];
  readonly fullEnds: readonly number[];
  /** Differentials by their base checkpoint LSN, each list ordered like `fulls`. */
  readonly diffsByBase: ReadonlyMap<bigint, { points: CommittedPoint[]; ends: number[] }>;
  readonly points: readonly CommittedPoint[];
}

const cmpBig = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
const diffBase = (d: CommittedPoint) => d.differentialBaseLsn ?? d.databaseBackupLsn;

/** Sorts in place unless already sorted (a linear check: input ordered by time costs n comparisons, not n log n). */
function sortIfNeeded<T>(list: T[], cmp: (a: T, b: T) => number): T[] {
  for (let i = 1; i < list.length; i++) if (cmp(list[i - 1]!, list[i]!) > 0) return list.sort(cmp);
  return list;
}

const byEndThenLastLsn = (a: CommittedPoint, b: CommittedPoint) =>
  a.endTime.getTime() - b.endTime.getTime() || cmpBig(a.lastLsn, b.lastLsn);

/** Sorts by endTime, then lastLsn, then position in `points` (stable sort): "latest" is last. */
function latestLast(list: CommittedPoint[]): CommittedPoint[] {
  return sortIfNeeded(list, byEndThenLastLsn);
}

/** Index of the last element ≤ x in an ascending array, or -1. */
function lastAtOrBefore(sorted: readonly number[], x: number, hi = sorted.length - 1): number {
  let lo = 0;
  let result = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) {
      result = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return result;
}

/** Index of the first element ≥ x in an ascending array, or length. */
function firstAtOrAfter(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sort and group the points once (O(n log n)); the result answers many queries. The points must not change after. */
export function indexRestorePoints(points: readonly CommittedPoint[]): RestoreIndex {
  const fulls = latestLast(points.filter((p) => p.type === 'Full'));
  const diffsByBase = new Map<bigint, { points: CommittedPoint[]; ends: number[] }>();
  for (const d of latestLast(points.filter((p) => p.type === 'Differential'))) {
    const key = diffBase(d);
    let entry = diffsByBase.get(key);
    if (!entry) diffsByBase.set(key, (entry = { points: [], ends: [] }));
    entry.points.push(d);
    entry.ends.push(d.endTime.getTime());
  }

  // The Full or Differential with the earliest endTime whose lastLsn a log covers. Only a log that does not continue
  // the previous one asks, usually a handful of times: scan the bases for the first few, then sort them by lastLsn
  // once and binary-search (so many breaks stay O(log n) each).
  const bases = points.filter((p) => p.type === 'Full' || p.type === 'Differential');
  let scans = 0;
  let basesByLsn = false;
  const earliestCoveredBase = (log: CommittedPoint): CommittedPoint | undefined => {
    if (!basesByLsn && ++scans <= 8) {
      let found: CommittedPoint | undefined;
      for (const b of bases) {
        if (
          log.firstLsn <= b.lastLsn &&
          b.lastLsn <= log.lastLsn &&
          (!found || b.endTime.getTime() < found.endTime.getTime())
        )
          found = b;
      }
      return found;
    }
    if (!basesByLsn) {
      sortIfNeeded(bases, (a, b) => cmpBig(a.lastLsn, b.lastLsn));
      basesByLsn = true;
    }
    let lo = 0;
    let hi = bases.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bases[mid]!.lastLsn < log.firstLsn) lo = mid + 1;
      else hi = mid;
    }
    let base: CommittedPoint | undefined;
    for (let i = lo; i < bases.length && bases[i]!.lastLsn <= log.lastLsn; i++) {
      const b = bases[i]!;
      if (!base || b.endTime.getTime() < base.endTime.getTime()) base = b;
    }
    return base;
  };

  // The walk of logTimeRanges, keeping each range's logs.
  const logs = sortIfNeeded(
    points.filter((p) => p.type === 'Log' && p.firstLsn <= p.lastLsn),
    (a, b) =>
      a.endTime.getTime() - b.endTime.getTime() || cmpBig(a.firstLsn, b.firstLsn) || cmpBig(a.lastLsn, b.lastLsn),
  );
  const segments: Segment[] = [];
  let open: Segment | undefined;
  let previous: CommittedPoint | undefined;
  for (const log of logs) {
    if (open && previous && log.firstLsn === previous.lastLsn) {
      open.logs.push(log);
      open.ends.push(log.endTime.getTime());
      open.end = log.endTime.getTime();
    } else {
      open = undefined;
      const base = earliestCoveredBase(log);
      if (base) {
        open = {
          start: Math.max(log.startTime.getTime(), base.endTime.getTime()),
          end: log.endTime.getTime(),
          logs: [log],
          ends: [log.endTime.getTime()],
        };
        segments.push(open);
      }
    }
    previous = log;
  }
  segments.sort((a, b) => a.start - b.start || a.end - b.end);
  const maxEnd: number[] = [];
  for (const s of segments) maxEnd.push(Math.max(s.end, maxEnd[maxEnd.length - 1] ?? -Infinity));

  return {
    kind: 'RestoreIndex',
    segments,
    starts: segments.map((s) => s.start),
    maxEnd,
    fulls,
    fullEnds: fulls.map((f) => f.endTime.getTime()),
    diffsByBase,
    points,
  };
}

function asIndex(points: readonly CommittedPoint[] | RestoreIndex): RestoreIndex {
  return 'kind' in points && points.kind === 'RestoreIndex'
    ? points
    : indexRestorePoints(points as readonly CommittedPoint[]);
}

/** The range containing t: the latest-starting one; earlier ones only when ranges overlap. */
function segmentAt(index: RestoreIndex, t: number): Segment | undefined {
  for (let i = lastAtOrBefore(index.starts, t); i >= 0 && index.maxEnd[i]! >= t; i--) {
    const s = index.segments[i]!;
    if (s.end >= t) return s;
  }
  return undefined;
}

function notInRange(index: RestoreIndex, pointInTime: Date): Error {
  const ranges = logTimeRanges(index.points);
  const list = ranges.map((r) => `${r.startTime.toISOString()} – ${r.endTime.toISOString()}`).join(', ');
  return errors.badRequest(
    POINT_NOT_IN_RANGE,
    ranges.length === 0
      ? `The point in time ${pointInTime.toISOString()} cannot be restored: no log backup time range exists for this database. Restore a full or differential recovery point instead.`
      : `The point in time ${pointInTime.toISOString()} is outside every log backup time range. Choose a time (UTC, to the second) inside one of: ${list}.`,
  );
}

/**
 * The restore chain for a point in time (to the second; see the module comment for every rule): the latest Full at or
 * before it, the latest Differential based on that Full at or before it, then every Log from the one that covers the
 * Differential's (else the Full's) lastLsn, chained by LSN, through the Log whose time span contains the point.
 * Throws ArmError 400 `UserErrorRestorePointNotInRange` (listing the time ranges) when the point is in no range.
 * Pass an index from `indexRestorePoints` when computing many chains over the same points.
 */
export function restoreChainForPointInTime(
  points: readonly CommittedPoint[] | RestoreIndex,
  pointInTime: Date,
): RestorePlan {
  const t = pointInTime instanceof Date ? pointInTime.getTime() : NaN;
  if (Number.isNaN(t))
    throw errors.invalidInput(`The point in time ${String(pointInTime)} is not a valid date and time.`);
  const index = asIndex(points);
  const segment = segmentAt(index, t);
  if (!segment) throw notInRange(index, pointInTime);

  const last = firstAtOrAfter(segment.ends, t); // < logs.length since t ≤ segment.end
  const lowLsn = segment.logs[0]!.firstLsn;
  const highLsn = segment.logs[last]!.lastLsn;
  const inWindow = (p: CommittedPoint) => lowLsn <= p.lastLsn && p.lastLsn <= highLsn;

  for (let f = lastAtOrBefore(index.fullEnds, t); f >= 0; f--) {
    const full = index.fulls[f]!;
    let start: CommittedPoint | undefined;
    const diffs = index.diffsByBase.get(full.checkpointLsn);
    if (diffs) {
      for (let d = lastAtOrBefore(diffs.ends, t); d >= 0 && !start; d--)
        if (inWindow(diffs.points[d]!)) start = diffs.points[d]!;
    }
    if (!start && inWindow(full)) start = full;
    if (start) {
      const first = firstLogFor(segment, last, start.lastLsn);
      const parts = start === full ? [full] : [full, start];
      for (let i = first; i <= last; i++) parts.push(segment.logs[i]!);
      return { parts, pointInTime: new Date(t) };
    }
    // A Full before the range whose Differentials are not in it either: older Fulls are older still.
    if (full.lastLsn < lowLsn) break;
  }
  throw errors.badRequest(
    PARENT_FULL_MISSING,
    `The point in time ${pointInTime.toISOString()} lies in the log backup time range ${new Date(segment.start).toISOString()} – ${new Date(segment.end).toISOString()}, but no full backup it depends on exists in the vault.`,
  );
}

/**
 * The last log in logs[0..last] whose firstLsn ≤ lsn (a segment's logs chain by LSN, so firstLsn ascends). The caller
 * checked logs[0].firstLsn ≤ lsn ≤ logs[last].lastLsn, so that log covers lsn.
 */
function firstLogFor(segment: Segment, last: number, lsn: bigint): number {
  let lo = 0;
  let hi = last;
  let result = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segment.logs[mid]!.firstLsn <= lsn) {
      result = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return result;
}

/**
 * The restore chain for a discrete recovery point: a Full or CopyOnlyFull alone; a Differential after its base Full.
 * Throws 404 `ResourceNotFound` for an unknown id, 400 `BMSUserErrorInvalidInput` for a Log (use a point in time),
 * 400 `UserErrorParentFullBackupMissing` for a Differential whose Full is not in the vault.
 */
export function restoreChainForPoint(points: readonly CommittedPoint[] | RestoreIndex, pointId: string): RestorePlan {
  const index = 'kind' in points && points.kind === 'RestoreIndex' ? points : undefined;
  const point = (index ? index.points : (points as readonly CommittedPoint[])).find((p) => p.id === pointId);
  if (!point) throw errors.resourceNotFound(`The recovery point '${pointId}'`);
  if (point.type === 'Full' || point.type === 'CopyOnlyFull') return { parts: [point] };
  if (point.type === 'Log') {
    throw errors.invalidInput(
      `The recovery point '${pointId}' is a log backup; restore a log backup by choosing a point in time inside its time range.`,
    );
  }
  const base = diffBase(point);
  const all = index ? index.fulls : latestLast((points as readonly CommittedPoint[]).filter((p) => p.type === 'Full'));
  let full: CommittedPoint | undefined;
  for (const f of all) if (f.checkpointLsn === base && f.endTime.getTime() <= point.endTime.getTime()) full = f; // latest wins
  if (!full) {
    throw errors.badRequest(
      PARENT_FULL_MISSING,
      `The differential recovery point '${pointId}' depends on the full backup with checkpoint LSN ${base}, which is not in the vault.`,
    );
  }
  return { parts: [full, point] };
}
