/**
 * Schedule arithmetic for SQL backup policies, in the policy's time zone and correct across DST.
 *
 * Time zones come from the runtime's Intl (ICU) data through `Intl.DateTimeFormat#formatToParts`; no time zone
 * library is needed. Rules:
 *
 * - **Full and differential** backups run at their wall-clock time (`HH:MM`) on their days in the policy's zone.
 *   A time that does not exist (the spring-forward gap) runs at the first valid instant after it, i.e. the end of
 *   the gap (02:30 on 8 Mar 2026 in Los Angeles runs at 03:00 PDT). A time that exists twice (the fall-back overlap)
 *   runs once, at its first occurrence (01:30 on 1 Nov 2026 in Los Angeles runs at 01:30 PDT, not again at 01:30 PST).
 * - **Log** backups are spaced in elapsed time, re-anchored at every local midnight: the runs of local day D are
 *   `midnight(D) + k × N minutes` for every k ≥ 0 that falls before `midnight(D+1)`. A normal day with N = 15 has 96
 *   runs; a 23-hour spring-forward day has 92 and a 25-hour fall-back day 100, never more than N minutes apart (the
 *   recovery point objective is what a log schedule promises). When N divides 60 the runs stay on the same
 *   wall-clock grid (:00, :15, :30, :45) through a DST change. When N does not divide the day's length, the last gap
 *   of the day is shorter (N = 1440 on a 25-hour day runs at 00:00 and at 23:00).
 *
 * All `next…After` functions return an instant strictly after `after`. Pure logic: times are parameters.
 */
import type { DayOfWeek, SqlPolicy } from './types.ts';
import { DAYS_OF_WEEK } from './types.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

export interface ZonedDateTime {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: DayOfWeek;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Wall-clock fields of `epochMs` in `timeZone`, as a UTC epoch of those fields (seconds precision). */
function wallEpoch(epochMs: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(epochMs));
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const p of parts) {
    switch (p.type) {
      case 'year':
        year = Number(p.value);
        break;
      case 'month':
        month = Number(p.value);
        break;
      case 'day':
        day = Number(p.value);
        break;
      case 'hour':
        hour = Number(p.value);
        break;
      case 'minute':
        minute = Number(p.value);
        break;
      case 'second':
        second = Number(p.value);
        break;
      case 'era':
        bc = p.value.startsWith('B');
        break;
      default:
        break;
    }
  }
  if (bc) year = 1 - year;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/** The zone's offset from UTC at `epochMs`, in milliseconds (UTC+02:00 → 7_200_000). */
export function zoneOffsetMs(epochMs: number, timeZone: string): number {
  const floored = Math.floor(epochMs / 1000) * 1000;
  return wallEpoch(floored, timeZone) - floored;
}

/** The wall-clock date and time of `date` in `timeZone`. */
export function utcToZoned(date: Date, timeZone: string): ZonedDateTime {
  const wall = new Date(wallEpoch(date.getTime(), timeZone));
  return {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
    second: wall.getUTCSeconds(),
    weekday: DAYS_OF_WEEK[wall.getUTCDay()] as DayOfWeek,
  };
}

/**
 * The instant at which the wall clock in `timeZone` shows `year-month-day hour:minute` (month 1–12).
 * In a spring-forward gap: the first valid instant after that wall time (the end of the gap).
 * In a fall-back overlap: the first occurrence.
 * Out-of-range fields roll over like `Date.UTC` (day 32 is the 1st of the next month).
 */
export function zonedTimeToUtc(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  timeZone: string,
): Date {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, 0, 0);
  const wall = d.getTime();

  const before = zoneOffsetMs(wall - DAY, timeZone);
  const after = zoneOffsetMs(wall + DAY, timeZone);
  // The common case: no transition within a day either side.
  if (before === after && wallEpoch(wall - before, timeZone) === wall) return new Date(wall - before);
  const candidates = [...new Set([before, zoneOffsetMs(wall, timeZone), after])]
    .map((offset) => wall - offset)
    .filter((t) => wallEpoch(t, timeZone) === wall)
    .sort((a, b) => a - b);
  const first = candidates[0];
  if (first !== undefined) return new Date(first);

  // The wall time is skipped. With offsets `before` < `after` around the transition T, the wall time w lies in
  // [T + before, T + after), so w - after < T <= w - before: find T, the first second with the later offset.
  if (after <= before) return new Date(wall - before);
  let lo = Math.floor((wall - after) / 1000); // seconds; offset here is `before`
  let hi = Math.ceil((wall - before) / 1000); // offset here is `after`
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zoneOffsetMs(mid * 1000, timeZone) === after) hi = mid;
    else lo = mid;
  }
  return new Date(hi * 1000);
}

/** `HH:MM` → [hour, minute]. */
function parseHhMm(time: string): [number, number] {
  const m = /^(\d{2}):(\d{2})$/.exec(time);
  if (m === null) throw new Error(`Not an HH:MM time: ${time}`);
  return [Number(m[1]), Number(m[2])];
}

interface CivilDate {
  year: number;
  month: number;
  day: number;
  weekday: DayOfWeek;
}

function addDays(date: { year: number; month: number; day: number }, days: number): CivilDate {
  const d = new Date(0);
  d.setUTCFullYear(date.year, date.month - 1, date.day + days);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    weekday: DAYS_OF_WEEK[d.getUTCDay()] as DayOfWeek,
  };
}

/** The next run strictly after `after` of a schedule that runs at `time` on `days`, in `timeZone`. */
function nextWeeklyRun(days: readonly DayOfWeek[], time: string, timeZone: string, after: Date): Date | undefined {
  if (days.length === 0) return undefined;
  const [hour, minute] = parseHhMm(time);
  const today = utcToZoned(after, timeZone);
  // Start a day early: a run on the previous local day can still lie after `after` only in pathological zones, but
  // it costs one iteration to be sure. Eight more days cover a once-a-week schedule whose run today already passed.
  for (let i = -1; i <= 8; i++) {
    const date = addDays(today, i);
    if (!days.includes(date.weekday)) continue;
    const run = zonedTimeToUtc(date.year, date.month, date.day, hour, minute, timeZone);
    if (run.getTime() > after.getTime()) return run;
  }
  return undefined;
}

type SchedulePolicy = Pick<SqlPolicy, 'ianaTimeZone' | 'full' | 'differential' | 'log'>;

/** The next scheduled full backup strictly after `after`. */
export function nextFullAfter(policy: Pick<SqlPolicy, 'ianaTimeZone' | 'full'>, after: Date): Date {
  const run = nextWeeklyRun(policy.full.days, policy.full.times[0], policy.ianaTimeZone, after);
  if (run === undefined) throw new Error('A full schedule has at least one day');
  return run;
}

/** The next scheduled differential backup strictly after `after`, or undefined when the policy has none. */
export function nextDifferentialAfter(
  policy: Pick<SqlPolicy, 'ianaTimeZone' | 'differential'>,
  after: Date,
): Date | undefined {
  const diff = policy.differential;
  if (diff === undefined) return undefined;
  return nextWeeklyRun(diff.days, diff.times[0], policy.ianaTimeZone, after);
}

/** The instant the local day `date` starts in `timeZone` (its 00:00, or the first instant after a midnight gap). */
function startOfDay(date: { year: number; month: number; day: number }, timeZone: string): number {
  return zonedTimeToUtc(date.year, date.month, date.day, 0, 0, timeZone).getTime();
}

/** The next scheduled log backup strictly after `after`, or undefined when the policy has none. */
export function nextLogAfter(policy: Pick<SqlPolicy, 'ianaTimeZone' | 'log'>, after: Date): Date | undefined {
  const log = policy.log;
  if (log === undefined) return undefined;
  const step = log.frequencyMinutes * MINUTE;
  const tz = policy.ianaTimeZone;
  const t = after.getTime();
  const today = utcToZoned(after, tz);
  // `after` lies in its local day: start(today) <= t < start(tomorrow).
  const start = startOfDay(today, tz);
  const end = startOfDay(addDays(today, 1), tz);
  const run = start + (Math.floor((t - start) / step) + 1) * step;
  return new Date(run < end ? run : end);
}

export type BackupKind = 'Full' | 'Differential' | 'Log';

/** Every scheduled run of `kind` in the half-open interval (`from`, `to`], in order. */
export function runsBetween(policy: SchedulePolicy, kind: BackupKind, from: Date, to: Date): Date[] {
  const next = (after: Date): Date | undefined =>
    kind === 'Full'
      ? nextFullAfter(policy, after)
      : kind === 'Differential'
        ? nextDifferentialAfter(policy, after)
        : nextLogAfter(policy, after);
  const runs: Date[] = [];
  for (let run = next(from); run !== undefined && run.getTime() <= to.getTime(); run = next(run)) runs.push(run);
  return runs;
}
