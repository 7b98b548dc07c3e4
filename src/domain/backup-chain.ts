/**
 * The vault's view of a SQL Server database's backup chain (docs/data-plane.md, its first section): what a commit
 * must satisfy, when a scheduled backup auto-heals into a Full, which log ranges a point in time can be restored into,
 * how `restorePointQueryType` selects recovery points, and when the RPO is breached.
 *
 * LSN conventions (as SQL Server's msdb.backupset and the reference agent record them):
 * - a backup covers the log range [firstLsn, lastLsn]; `lastLsn` is the first LSN *not* in it, so the next log backup
 *   starts exactly there (`next.firstLsn === previous.lastLsn`);
 * - Full / Differential: `checkpointLsn` is the point the pages are consistent with; a Differential's
 *   `differentialBaseLsn` is its base Full's `checkpointLsn`;
 * - a log backup that does not continue the previous one can still start a restore when it *covers* a Full's or a
 *   Differential's `lastLsn` (`firstLsn ≤ base.lastLsn ≤ lastLsn`): restore that base, then roll this log forward.
 *
 * Decisions (documented where they are applied):
 * - A Log commit passes when it continues the previous log **or** covers the `lastLsn` of the latest Full or of the
 *   latest Differential. The second branch is how a healed chain resumes: after a gap, the healing Full does not move
 *   SQL Server's log chain, so the next log still starts where SQL Server's (not the vault's) chain was, and covers the
 *   Full. It is also how the very first log after the first Full is accepted, and how a Differential restarts the chain
 *   after a SIMPLE → FULL recovery model switch. A CopyOnlyFull is never such a base.
 * - A Differential's base is `differentialBaseLsn`, or `databaseBackupLsn` when the agent left it out (SQL Server sets
 *   both to the base Full's checkpoint).
 * - Sanity (lastLsn ≥ firstLsn, endTime ≥ startTime) applies to every type, Full and CopyOnlyFull included; beyond it,
 *   Full and CopyOnlyFull pass every chain rule. All these failures use `UserErrorSQLLSNValidationFailure`.
 * - "Latest" means latest by endTime, then by lastLsn, then the later in the given array (commit order).
 * - Auto-heal "Full older than 15 days" is strict: a Full whose endTime is exactly 15 days before `now` does not heal;
 *   one millisecond more does. Same for the RPO: breached only when strictly older than frequency + grace.
 *
 * Pure logic: no I/O, no clock (times are parameters).
 */
import { errors } from './errors.ts';
import { lsnFromText } from '../protocol/lsn.ts';
import type { BackupType } from './protection.ts';

export type { BackupType } from './protection.ts';

/** What the vault knows of a database's committed recovery points (only what the rules need). */
export interface CommittedPoint {
  id: string;
  type: BackupType;
  firstLsn: bigint;
  lastLsn: bigint;
  checkpointLsn: bigint;
  databaseBackupLsn: bigint;
  differentialBaseLsn?: bigint;
  /** For a log backup, the span of the transactions it holds; for a full or differential, when it ran. */
  startTime: Date;
  endTime: Date;
}

/** The latest non-copy-only Full, the latest Differential, the latest Log. */
export interface ChainState {
  lastFull?: CommittedPoint;
  lastDifferential?: CommittedPoint;
  lastLog?: CommittedPoint;
}

export const LSN_VALIDATION_FAILURE = 'UserErrorSQLLSNValidationFailure';
export const PARENT_FULL_MISSING = 'UserErrorParentFullBackupMissing';
/** A scheduled Log/Differential heals into a Full when the last Full is strictly older than this. */
export const AUTO_HEAL_FULL_MAX_AGE_DAYS = 15;

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

// ---------------------------------------------------------------------------------------------------------------------
// Chain state

/** True when `a` was taken after `b` (endTime, then lastLsn; ties keep the later in commit order, see callers). */
function isAfterOrSame(a: CommittedPoint, b: CommittedPoint): boolean {
  const dt = a.endTime.getTime() - b.endTime.getTime();
  if (dt !== 0) return dt > 0;
  return a.lastLsn >= b.lastLsn;
}

export function chainStateOf(points: readonly CommittedPoint[]): ChainState {
  const state: ChainState = {};
  for (const p of points) {
    const slot =
      p.type === 'Full'
        ? 'lastFull'
        : p.type === 'Differential'
          ? 'lastDifferential'
          : p.type === 'Log'
            ? 'lastLog'
            : undefined;
    if (slot === undefined) continue; // CopyOnlyFull changes nothing
    const current = state[slot];
    if (current === undefined || isAfterOrSame(p, current)) state[slot] = p;
  }
  return state;
}

// ---------------------------------------------------------------------------------------------------------------------
// Commit-time validation

const covers = (log: Pick<CommittedPoint, 'firstLsn' | 'lastLsn'>, lsn: bigint) =>
  log.firstLsn <= lsn && lsn <= log.lastLsn;

function lsnFailure(message: string) {
  return errors.badRequest(
    LSN_VALIDATION_FAILURE,
    `${message} The log chain is broken, for example by a backup taken outside the vault; take a full backup to start a new chain (the next scheduled backup does so automatically).`,
  );
}

/**
 * The service's LSN check at commit. Throws ArmError 400:
 * - `UserErrorParentFullBackupMissing`: a Log or Differential when the vault holds no (non-copy-only) Full;
 * - `UserErrorSQLLSNValidationFailure`: lastLsn < firstLsn or endTime < startTime (any type); a Differential whose base
 *   is not the latest Full's checkpointLsn; a Log that neither continues the previous log (firstLsn = its lastLsn) nor
 *   covers the lastLsn of the latest Full or latest Differential (firstLsn ≤ that lastLsn ≤ lastLsn).
 * Messages name the expected and the received LSN.
 */
export function validateCommit(state: ChainState, incoming: Omit<CommittedPoint, 'id'>): void {
  const kind = describeType(incoming.type);
  if (incoming.lastLsn < incoming.firstLsn) {
    throw lsnFailure(
      `The ${kind} backup's LSN range is inverted: expected lastLsn ≥ firstLsn ${incoming.firstLsn}, received lastLsn ${incoming.lastLsn}.`,
    );
  }
  if (!(incoming.endTime.getTime() >= incoming.startTime.getTime())) {
    throw lsnFailure(
      `The ${kind} backup's times are inverted or invalid: expected endTime ≥ startTime ${iso(incoming.startTime)}, received endTime ${iso(incoming.endTime)} (LSNs ${incoming.firstLsn}–${incoming.lastLsn}).`,
    );
  }
  if (incoming.type === 'Full' || incoming.type === 'CopyOnlyFull') return;

  const full = state.lastFull;
  if (!full) {
    throw errors.badRequest(
      PARENT_FULL_MISSING,
      `No full backup of this database exists in the vault, and a ${kind} backup needs one as its parent. Take a full backup first.`,
    );
  }

  if (incoming.type === 'Differential') {
    const base = incoming.differentialBaseLsn ?? incoming.databaseBackupLsn;
    if (base !== full.checkpointLsn) {
      throw lsnFailure(
        `The differential backup's base does not match the latest full backup: expected differentialBaseLsn ${full.checkpointLsn} (the checkpoint LSN of full backup ${full.id}), received ${base}.`,
      );
    }
    return;
  }

  // Log
  const previous = state.lastLog;
  if (previous && incoming.firstLsn === previous.lastLsn) return;
  const bases = [full, state.lastDifferential].filter((b): b is CommittedPoint => b !== undefined);
  if (bases.some((b) => covers(incoming, b.lastLsn))) return;

  const baseText = bases
    .map((b) => `LSN ${b.lastLsn} (the last LSN of ${describeType(b.type)} backup ${b.id})`)
    .join(' or ');
  const expected = previous
    ? `expected firstLsn ${previous.lastLsn} (the last LSN of the previous log backup ${previous.id}) or a log backup covering ${baseText}`
    : `expected a log backup covering ${baseText}`;
  throw lsnFailure(
    `The log backup does not continue the log chain: ${expected}, received firstLsn ${incoming.firstLsn} (lastLsn ${incoming.lastLsn}).`,
  );
}

function describeType(type: BackupType): string {
  return type === 'CopyOnlyFull' ? 'copy-only full' : type.toLowerCase();
}

function iso(d: Date): string {
  return Number.isNaN(d.getTime()) ? 'Invalid Date' : d.toISOString();
}

// ---------------------------------------------------------------------------------------------------------------------
// Auto-heal

export type HealReason = 'NoFull' | 'ChainBroken' | 'FullTooOld';

/**
 * Azure's auto-heal for a *scheduled* backup: a Log or Differential becomes a Full when (checked in this order)
 * no Full exists (`NoFull`), the chain is broken (`ChainBroken`: the item's flag, set when its last Log/Differential
 * commit failed LSN validation), or the last Full's endTime is strictly more than 15 days before `now`
 * (`FullTooOld`). A scheduled Full stays a Full with no reason. On-demand backups do not heal; they fail at commit.
 */
export function effectiveBackupType(
  scheduled: 'Full' | 'Differential' | 'Log',
  state: { lastFull?: Pick<CommittedPoint, 'endTime'> },
  now: Date,
  options: { chainBroken: boolean },
): { type: 'Full' | 'Differential' | 'Log'; healedBecause?: HealReason } {
  if (scheduled === 'Full') return { type: 'Full' };
  if (!state.lastFull) return { type: 'Full', healedBecause: 'NoFull' };
  if (options.chainBroken) return { type: 'Full', healedBecause: 'ChainBroken' };
  if (now.getTime() - state.lastFull.endTime.getTime() > AUTO_HEAL_FULL_MAX_AGE_DAYS * DAY_MS) {
    return { type: 'Full', healedBecause: 'FullTooOld' };
  }
  return { type: scheduled };
}

// ---------------------------------------------------------------------------------------------------------------------
// Point-in-time ranges

export interface TimeRange {
  startTime: Date;
  endTime: Date;
}

/**
 * The ranges a point in time can be restored into (Azure's `DefaultRangeRecoveryPoint.timeRanges`), sorted.
 *
 * Logs are walked in time order (endTime, then firstLsn). A log that continues the previous one (firstLsn = its
 * lastLsn) extends the open range. Any other log starts a new range if it covers the lastLsn of a Full or Differential
 * in `points` (CopyOnlyFull never counts); the range starts at the later of the log's startTime and that base's
 * endTime (the earliest such base), since nothing before the base's consistency point can be reached. A log with
 * neither closes the open range and is unreachable, as are logs chaining on from it until one covers a base.
 * Adjacent ranges are never merged: a break is a boundary even when the next range starts where the last ended.
 */
export function logTimeRanges(points: readonly CommittedPoint[]): TimeRange[] {
  const bases = points.filter((p) => p.type === 'Full' || p.type === 'Differential');
  const logs = points
    .filter((p) => p.type === 'Log' && p.firstLsn <= p.lastLsn)
    .sort(
      (a, b) =>
        a.endTime.getTime() - b.endTime.getTime() || cmpBig(a.firstLsn, b.firstLsn) || cmpBig(a.lastLsn, b.lastLsn),
    );

  const ranges: TimeRange[] = [];
  let open: TimeRange | undefined;
  let previous: CommittedPoint | undefined;
  for (const log of logs) {
    if (open && previous && log.firstLsn === previous.lastLsn) {
      open.endTime = log.endTime;
    } else {
      open = undefined;
      let base: CommittedPoint | undefined;
      for (const b of bases) {
        if (covers(log, b.lastLsn) && (!base || b.endTime.getTime() < base.endTime.getTime())) base = b;
      }
      if (base) {
        const start = Math.max(log.startTime.getTime(), base.endTime.getTime());
        open = { startTime: new Date(start), endTime: log.endTime };
        ranges.push(open);
      }
    }
    previous = log;
  }
  return ranges
    .map((r) => ({ startTime: new Date(r.startTime.getTime()), endTime: new Date(r.endTime.getTime()) }))
    .sort((a, b) => a.startTime.getTime() - b.startTime.getTime() || a.endTime.getTime() - b.endTime.getTime());
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------------
// Listing recovery points

/** What a recovery points list returns for a `restorePointQueryType`. */
export interface RecoveryPointSelection {
  /** Discrete recovery points (`AzureWorkloadSQLRecoveryPoint`) of these backup types, in this order of preference. */
  discrete: BackupType[];
  /** Whether to include the log range point (`DefaultRangeRecoveryPoint`, type Log, with `timeRanges`). */
  logRange: boolean;
}

const QUERY_TYPES: Record<string, RecoveryPointSelection> = {
  all: { discrete: ['Full', 'CopyOnlyFull', 'Differential'], logRange: true },
  full: { discrete: ['Full', 'CopyOnlyFull'], logRange: false },
  differential: { discrete: ['Differential'], logRange: false },
  fullanddifferential: { discrete: ['Full', 'CopyOnlyFull', 'Differential'], logRange: false },
  log: { discrete: [], logRange: true },
  // Valid RestorePointQueryType values that never match a SQL database's points.
  incremental: { discrete: [], logRange: false },
  snapshotfull: { discrete: [], logRange: false },
  snapshotcopyonlyfull: { discrete: [], logRange: false },
};

/**
 * `$filter … restorePointQueryType eq '<value>'` → what to list (values matched case-insensitively):
 * absent or All → every discrete point and the log range; Full → Full and CopyOnlyFull (both are full data backups);
 * Differential; FullAndDifferential; Log → only the log range; Incremental, SnapshotFull, SnapshotCopyOnlyFull →
 * nothing (they exist in the API but not for SQL). Invalid or anything else → ArmError 400 `InvalidFilterParameter`.
 */
export function typesForQuery(queryType: string | undefined): RecoveryPointSelection {
  if (queryType === undefined) return copySelection(QUERY_TYPES.all!);
  const selection = Object.hasOwn(QUERY_TYPES, queryType.toLowerCase())
    ? QUERY_TYPES[queryType.toLowerCase()]
    : undefined;
  if (!selection) {
    throw errors.invalidFilter(
      `The value '${queryType}' of restorePointQueryType is not valid. Valid values: Full, Log, Differential, FullAndDifferential, All, Incremental, SnapshotFull, SnapshotCopyOnlyFull.`,
    );
  }
  return copySelection(selection);
}

function copySelection(s: RecoveryPointSelection): RecoveryPointSelection {
  return { discrete: [...s.discrete], logRange: s.logRange };
}

// ---------------------------------------------------------------------------------------------------------------------
// RPO watch

/**
 * Breached when the newest backup is strictly older than the allowed window:
 * - with a log schedule (`logFrequencyMinutes` set): window = log frequency + grace, measured from the newest of
 *   `lastLogAt` and `lastBackupAt` (so the Full that healed a failed log also counts, and before the first log the
 *   first Full does);
 * - without one: window = full frequency (hours) + grace, measured from `lastBackupAt` (or `lastLogAt`).
 * No backup at all is not a breach: the item is still waiting for its first backup (Azure's IRPending).
 */
export function rpoBreached(args: {
  lastLogAt?: Date;
  lastBackupAt?: Date;
  logFrequencyMinutes?: number;
  fullFrequencyHours: number;
  graceMinutes: number;
  now: Date;
}): boolean {
  const times = [args.lastLogAt, args.lastBackupAt].filter((d): d is Date => d !== undefined).map((d) => d.getTime());
  if (times.length === 0) return false;
  const newest = Math.max(...times);
  const windowMinutes = (args.logFrequencyMinutes ?? args.fullFrequencyHours * 60) + args.graceMinutes;
  return args.now.getTime() - newest > windowMinutes * MINUTE_MS;
}

// ---------------------------------------------------------------------------------------------------------------------
// LSN text

/** A decimal LSN as the agent sends it (1–30 digits, as the protocol's schema allows); ArmError 400 otherwise. */
export function parseLsn(text: string, field = 'LSN'): bigint {
  const lsn = lsnFromText(text);
  if (lsn === undefined) {
    throw errors.invalidInput(
      `${field} ${JSON.stringify(text)} is not a log sequence number: expected 1 to 30 decimal digits.`,
    );
  }
  return lsn;
}
