/**
 * The daily retention sweep's decision: which recovery points of one protected SQL database expire at `now`, by the
 * item's policy (docs/data-plane.md, "Retention" and its first section).
 *
 * Rules, and the choices made where Azure's documentation is vague:
 *
 * - **Cut-offs, not expiry dates.** For every rule the sweep computes one cut-off, `now` minus the rule's duration in
 *   calendar units of the policy's time zone (`ianaTimeZone`; days and weeks keep the wall-clock time across DST,
 *   months and years clamp the day to the target month's length: 31 Mar − 1 month = 28/29 Feb). A point is inside the
 *   rule when its time is strictly after the cut-off, i.e. it expires at the exact instant `time + duration`.
 * - **A point's time**: `startTime` for a Full, CopyOnlyFull or Differential (when it ran: a Full scheduled at 23:50
 *   that ends after midnight belongs to the day it started), `endTime` for a Log (the last transaction it holds).
 * - **On-demand Full / CopyOnlyFull** (and any CopyOnlyFull): kept while `now < expiresAt` (without `expiresAt`: kept);
 *   no long-term rule applies to them. An on-demand *Differential* or *Log* follows the policy's days like a scheduled
 *   one (Azure's on-demand "retain until" only exists for full backups).
 * - **Scheduled Full**: kept while any long-term rule keeps it; its calendar date and weekday are read in the policy's
 *   time zone.
 *   - daily: its time is within `daily.days` days;
 *   - weekly: its weekday is one of `weekly.daysOfTheWeek` and it is within `weekly.weeks` weeks;
 *   - monthly: its date matches the pattern and it is within `monthly.months` months. Weekly format: its weekday is
 *     one of the days and its day of month is in one of the weeks (First = 1–7, Second = 8–14, Third = 15–21,
 *     Fourth = 22–28, Last = the last seven days of the month). Daily format: its day of month is one of the numbers,
 *     or `'Last'` and it is the month's last day;
 *   - yearly: its month is one of `monthsOfYear`, its date matches the pattern (as monthly), within `yearly.years`.
 *   Every scheduled Full on a matching date matches (a day with an auto-healed Full and a scheduled one keeps both).
 *   A Full on no rule's day (say an auto-healed Full on a Wednesday under a weekly-Sunday policy) is kept only by
 *   the daily rule, if any, and by dependencies.
 * - **Differential**: kept within `differential.retentionDays` days; **Log**: within `log.retentionDays` days. A policy
 *   without a differential (log) section keeps none of them by days (only by dependency). Since the test is a single
 *   cut-off on the time, log retention trims from the old end only: never a hole inside the retained logs.
 * - **Dependencies** (so that every retained point stays restorable):
 *   - a log's *base* is the latest (by lastLsn) non-copy-only Full or Differential whose `lastLsn` it covers
 *     (`firstLsn ≤ base.lastLsn ≤ lastLsn`); a log that covers none has its chain predecessor's base (the log whose
 *     `lastLsn` equals its `firstLsn`). The log that covers its base is the chain's *anchor*;
 *   - a retained log keeps every log from the anchor up to itself (restoring into it replays them) and its base, with
 *     the reason `needed by log <id>`. So logs effectively expire per segment: a log older than the retention stays
 *     while a newer log of the same segment (same base) is retained;
 *   - a retained Differential (by days or by a log) keeps its base Full: the latest Full whose `checkpointLsn` is its
 *     `differentialBaseLsn` (`databaseBackupLsn` when absent), reason `needed by differential <id>`.
 *   This is "a Full is kept until its last dependent log expires" (documented: a weekly Full with 30-day logs is
 *   kept 7 + 30 days). The reason recorded is the first that applies: own rule(s), then log, then differential.
 * - **Protection stopped with "retain data"** (`policy` null): nothing expires, ever.
 *
 * Pure: no I/O, no clock (`now` is a parameter).
 */
import type { CommittedPoint } from './backup-chain.ts';
import { utcToZoned, zonedTimeToUtc, type ZonedDateTime } from './policy/schedule.ts';
import type { RetentionPattern, SqlPolicy } from './policy/types.ts';
import { MONTHS_OF_YEAR, WEEKS_OF_MONTH } from './policy/types.ts';

export interface RetainedPoint extends CommittedPoint {
  isOnDemand: boolean;
  /** On-demand Full / CopyOnlyFull: the "retain until" the request set. */
  expiresAt?: Date;
}

export interface SweepResult {
  /** Ids of the points to delete, in input order. */
  expire: string[];
  /** id → why it is kept: rule names (`daily`, `weekly`, `monthly`, `yearly` joined by `, `; `on-demand`,
   * `differential retention`, `log retention`, `retain forever`) or `needed by log <id>` / `needed by differential <id>`. */
  keptBecause: Record<string, string>;
}

export const RETAIN_FOREVER = 'retain forever';

/** The time a point's age is measured from (see the module comment). */
export function retentionTime(p: Pick<CommittedPoint, 'type' | 'startTime' | 'endTime'>): number {
  return p.type === 'Log' ? p.endTime.getTime() : p.startTime.getTime();
}

function daysInMonth(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0); // day 0 of the next month
  return d.getUTCDate();
}

/** `now` minus `days` days or `months` months, calendar arithmetic on the wall clock of `zone`. */
export function calendarCutoff(now: Date, zone: string, amount: { days: number } | { months: number }): number {
  const z = utcToZoned(now, zone);
  let { year, month, day } = z;
  if ('months' in amount) {
    const total = year * 12 + (month - 1) - amount.months;
    year = Math.floor(total / 12);
    month = total - year * 12 + 1;
    day = Math.min(day, daysInMonth(year, month));
  } else {
    day -= amount.days; // zonedTimeToUtc rolls the day over like Date.UTC
  }
  const ms = now.getTime() - Math.floor(now.getTime() / 1000) * 1000;
  return zonedTimeToUtc(year, month, day, z.hour, z.minute, zone).getTime() + z.second * 1000 + ms;
}

function matchesPattern(z: ZonedDateTime, pattern: RetentionPattern): boolean {
  const last = daysInMonth(z.year, z.month);
  if (pattern.format === 'Daily')
    return pattern.daysOfTheMonth.some((d) => (d === 'Last' ? z.day === last : z.day === d));
  if (!pattern.daysOfTheWeek.includes(z.weekday)) return false;
  return pattern.weeksOfTheMonth.some((w) => {
    if (w === 'Last') return z.day + 7 > last;
    const i = WEEKS_OF_MONTH.indexOf(w);
    return z.day > 7 * i && z.day <= 7 * (i + 1);
  });
}

const isBase = (p: RetainedPoint) => p.type === 'Full' || p.type === 'Differential';

function byEndThenLsn(a: RetainedPoint, b: RetainedPoint): number {
  const dt = a.endTime.getTime() - b.endTime.getTime();
  if (dt !== 0) return dt;
  return a.lastLsn < b.lastLsn ? -1 : a.lastLsn > b.lastLsn ? 1 : 0;
}

interface LogLink {
  base?: RetainedPoint;
  pred?: RetainedPoint;
  anchor: boolean;
}

/**
 * No scheduled point expires younger than this: every retention a policy can set is at least 7 days (daily, weekly,
 * log and differential rules) or a month or a year; 6 leaves room for a DST day in the policy's calendar. On-demand
 * points expire at their own time. A sweep need not look at items whose points are all younger.
 */
export const YOUNGEST_EXPIRING_DAYS = 6;

/** Which points a daily retention sweep at `now` deletes, by the item's policy (`null`: protection stopped, retain
 * forever), never breaking a chain. */
export function expiredPoints(points: readonly RetainedPoint[], policy: SqlPolicy | null, now: Date): SweepResult {
  const kept = new Map<string, string>();
  if (policy === null) {
    for (const p of points) kept.set(p.id, RETAIN_FOREVER);
    return { expire: [], keptBecause: Object.fromEntries(kept) };
  }

  // 1. Each point's own rule.
  const zone = policy.ianaTimeZone;
  const ltr = policy.full.retention;
  const cut = {
    daily: ltr.daily ? calendarCutoff(now, zone, { days: ltr.daily.days }) : Infinity,
    weekly: ltr.weekly ? calendarCutoff(now, zone, { days: 7 * ltr.weekly.weeks }) : Infinity,
    monthly: ltr.monthly ? calendarCutoff(now, zone, { months: ltr.monthly.months }) : Infinity,
    yearly: ltr.yearly ? calendarCutoff(now, zone, { months: 12 * ltr.yearly.years }) : Infinity,
    differential: policy.differential
      ? calendarCutoff(now, zone, { days: policy.differential.retentionDays })
      : Infinity,
    log: policy.log ? calendarCutoff(now, zone, { days: policy.log.retentionDays }) : Infinity,
  };
  const ltrCut = Math.min(cut.weekly, cut.monthly, cut.yearly);

  for (const p of points) {
    const t = retentionTime(p);
    if (p.type === 'CopyOnlyFull' || (p.type === 'Full' && p.isOnDemand)) {
      if (p.expiresAt === undefined || now.getTime() < p.expiresAt.getTime()) kept.set(p.id, 'on-demand');
    } else if (p.type === 'Full') {
      const rules: string[] = [];
      if (t > cut.daily) rules.push('daily');
      if (t > ltrCut) {
        const z = utcToZoned(p.startTime, zone);
        if (ltr.weekly && t > cut.weekly && ltr.weekly.daysOfTheWeek.includes(z.weekday)) rules.push('weekly');
        if (ltr.monthly && t > cut.monthly && matchesPattern(z, ltr.monthly.pattern)) rules.push('monthly');
        const monthName = MONTHS_OF_YEAR[z.month - 1];
        if (
          ltr.yearly &&
          t > cut.yearly &&
          monthName !== undefined &&
          ltr.yearly.monthsOfYear.includes(monthName) &&
          matchesPattern(z, ltr.yearly.pattern)
        ) {
          rules.push('yearly');
        }
      }
      if (rules.length > 0) kept.set(p.id, rules.join(', '));
    } else if (p.type === 'Differential') {
      if (t > cut.differential) kept.set(p.id, 'differential retention');
    } else if (t > cut.log) {
      kept.set(p.id, 'log retention');
    }
  }

  // 2. Log chains: each log's base, predecessor and whether it covers its base.
  const sorted = [...points].sort(byEndThenLsn);
  const bases = sorted.filter(isBase).sort((a, b) => (a.lastLsn < b.lastLsn ? -1 : a.lastLsn > b.lastLsn ? 1 : 0)); // stable: ties stay by endTime
  const coveredBase = (log: RetainedPoint): RetainedPoint | undefined => {
    // The base with the greatest lastLsn ≤ log.lastLsn (the latest such in time on ties), if ≥ log.firstLsn.
    let lo = 0;
    let hi = bases.length; // first index with lastLsn > log.lastLsn
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((bases[mid] as RetainedPoint).lastLsn <= log.lastLsn) lo = mid + 1;
      else hi = mid;
    }
    const candidate = bases[lo - 1];
    return candidate !== undefined && candidate.lastLsn >= log.firstLsn ? candidate : undefined;
  };
  const links = new Map<string, LogLink>();
  const logByLastLsn = new Map<bigint, RetainedPoint>();
  const logs: RetainedPoint[] = [];
  for (const p of sorted) {
    if (p.type !== 'Log') continue;
    logs.push(p);
    const pred = logByLastLsn.get(p.firstLsn);
    const covered = coveredBase(p);
    const base = covered ?? (pred ? links.get(pred.id)?.base : undefined);
    links.set(p.id, { base, pred, anchor: covered !== undefined });
    logByLastLsn.set(p.lastLsn, p);
  }

  // 3. Retained logs keep their chain back to the anchor and their base (newest first, each log walked once).
  const walked = new Set<string>();
  for (let i = logs.length - 1; i >= 0; i--) {
    const log = logs[i] as RetainedPoint;
    if (!kept.has(log.id)) continue;
    const reason = `needed by log ${log.id}`;
    let x: RetainedPoint | undefined = log;
    while (x !== undefined && !walked.has(x.id)) {
      walked.add(x.id);
      if (!kept.has(x.id)) kept.set(x.id, reason);
      const link: LogLink | undefined = links.get(x.id);
      if (link === undefined || link.anchor) break;
      x = link.pred;
    }
    const base = links.get(log.id)?.base;
    if (base !== undefined && !kept.has(base.id)) kept.set(base.id, reason);
  }

  // 4. Retained differentials keep their base Full.
  const fullByCheckpoint = new Map<bigint, RetainedPoint>();
  for (const p of sorted) if (p.type === 'Full') fullByCheckpoint.set(p.checkpointLsn, p); // the latest wins
  for (const d of sorted) {
    if (d.type !== 'Differential' || !kept.has(d.id)) continue;
    const full = fullByCheckpoint.get(d.differentialBaseLsn ?? d.databaseBackupLsn);
    if (full !== undefined && !kept.has(full.id)) kept.set(full.id, `needed by differential ${d.id}`);
  }

  return { expire: points.filter((p) => !kept.has(p.id)).map((p) => p.id), keptBecause: Object.fromEntries(kept) };
}
