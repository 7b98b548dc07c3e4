/**
 * Validation of SQL Server in Azure VM backup policies (AzureWorkload protection policies) and their rendering back to
 * the wire.
 *
 * `validateSqlPolicy(properties)` checks every rule below, collects **all** violations, and throws one
 * `ArmError` 400 with code `BMSUserErrorInvalidPolicyInput` (Azure's code for a rejected policy) whose message lists
 * each violation as `<field path>: <rule, with the allowed range> (got <value>)`, e.g.
 *
 *   Invalid backup policy: properties.subProtectionPolicy[2].retentionPolicy.retentionDuration.count: Log backup
 *   retention must be an integer from 7 to 35 days (got 40).
 *
 * Rules (Azure's documented ones, and the choices this file makes where Azure's are not documented):
 * - `backupManagementType` is `AzureWorkload`; `workLoadType` is `SQLDataBase` (case-insensitive, echoed canonical).
 * - `settings.timeZone` is required: a Windows zone id (case-insensitive, see timezones.ts) or an IANA zone.
 *   `settings.issqlcompression` / `settings.isCompression` / `makePolicyConsistent`, when present, are booleans.
 * - `subProtectionPolicy` holds exactly one Full, at most one Differential and at most one Log (`policyType`,
 *   case-insensitive; CopyOnlyFull/Incremental/… are rejected).
 * - Discriminators are exact: Full and Differential use `SimpleSchedulePolicy`, Log uses `LogSchedulePolicy`; Full uses
 *   `LongTermRetentionPolicy`, Differential and Log use `SimpleRetentionPolicy`.
 * - Full: `scheduleRunFrequency` Daily or Weekly. Weekly lists 1–7 distinct days; Daily lists none (omitted, null or
 *   []). Exactly one run time (Azure runs a full at most once a day). `scheduleWeeklyFrequency`, when sent, is 0;
 *   `hourlySchedule` is rejected.
 * - Run times are ISO 8601 date-times; the time of day (in UTC notation, meaning wall-clock time in the policy's zone)
 *   must be on the hour or half hour (HH:00 / HH:30, no seconds), as the portal and Terraform offer. The date is
 *   ignored (but echoed).
 * - Differential: only with a Weekly Full; `scheduleRunFrequency` Weekly; 1–6 distinct days, none of them a Full day
 *   (at most one backup a day); one run time; retention 7–180 days and ≤ the Full's retention.
 * - Log: `scheduleFrequencyInMins` one of 15, 30, 60, 120, 240, 480, 720, 1440 (the portal's choices, also the
 *   azurerm Terraform provider's validation; any other multiple of 15 is rejected); retention 7–35 days and ≤ the
 *   Full's retention.
 * - "The Full's retention" is its base schedule: daily retention (days) for a Daily full, weekly retention (weeks × 7
 *   days) for a Weekly full.
 * - Full long-term retention: `dailySchedule` required for a Daily full (7–9999 days) and forbidden for a Weekly full;
 *   `weeklySchedule` required for a Weekly full (1–5163 weeks, its days among the Full's days), optional for a Daily
 *   full; `monthlySchedule` 1–1188 months; `yearlySchedule` 1–99 years with 1–12 distinct `monthsOfYear`.
 *   Monthly/yearly use `retentionScheduleFormatType` Weekly (`retentionScheduleWeekly` with 1–7 days — among the
 *   Full's days for a Weekly full — and 1–5 weeks of the month) or Daily (`retentionScheduleDaily.daysOfTheMonth`:
 *   `{date: 1–28, isLast: false}` or `{isLast: true}`; only for a Daily full). The unused format must be absent.
 *   Every `retentionTimes` holds exactly one time equal to the Full's run time.
 * - `retentionDuration.durationType` must be the schedule's unit (Days for daily/Differential/Log, Weeks, Months,
 *   Years); unknown units are rejected. Counts are integers within the ranges above (so ≥ 7 days for every type).
 * - `tieringPolicy` (Full only): keys `ArchivedRP`; `tieringMode` TierAfter | TierRecommended | DoNotTier; TierAfter
 *   needs a positive integer `duration` and a `durationType`.
 * Unknown extra fields (e.g. `protectedItemsCount` from a GET-modify-PUT) are ignored.
 *
 * Pure logic: no I/O.
 */
import { errors } from '../errors.ts';
import { resolveTimeZone } from './timezones.ts';
import {
  type AzureWorkloadPolicyPropertiesWire,
  DAYS_OF_WEEK,
  type DayOfWeek,
  DURATION_TYPES,
  type DurationType,
  type FullRetention,
  LOG_FREQUENCIES_MINUTES,
  type LogFrequencyMinutes,
  MONTHS_OF_YEAR,
  type MonthOfYear,
  type MonthlyRetentionScheduleWire,
  POLICY_LIMITS,
  type RetentionPattern,
  type SqlPolicy,
  SUB_POLICY_TYPES,
  type SubPolicyType,
  type SubProtectionPolicyWire,
  TIERING_MODES,
  type TieringMode,
  type TieringRule,
  WEEKS_OF_MONTH,
  type WeekOfMonth,
  type WireEcho,
} from './types.ts';

/** The error code of every rejected policy (Azure's code for invalid policy input). */
export const INVALID_POLICY_CODE = 'BMSUserErrorInvalidPolicyInput';

export interface PolicyViolation {
  /** Field path from the request body, e.g. `properties.subProtectionPolicy[0].schedulePolicy.scheduleRunTimes[0]`. */
  path: string;
  /** The rule and its allowed range, ending with what was sent. */
  message: string;
}

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function absent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return String(value);
  }
}

function quoteList(values: readonly (string | number)[]): string {
  return values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
}

class Checker {
  readonly violations: PolicyViolation[] = [];

  add(path: string, rule: string, got?: unknown, showGot = true): void {
    this.violations.push({ path, message: showGot ? `${rule} (got ${show(got)}).` : `${rule}.` });
  }

  object(path: string, value: unknown, what: string): Obj | undefined {
    if (isObj(value)) return value;
    this.add(path, `${what} is required and must be an object`, value);
    return undefined;
  }

  exact<T extends string>(path: string, value: unknown, expected: T, what: string): boolean {
    if (value === expected) return true;
    this.add(path, `must be '${expected}' ${what}`, value);
    return false;
  }

  /** A case-insensitive enum value, returned in its canonical spelling. */
  enumValue<T extends string>(path: string, value: unknown, allowed: readonly T[], rule: string): T | undefined {
    if (typeof value === 'string') {
      const found = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
      if (found !== undefined) return found;
    }
    this.add(path, rule, value);
    return undefined;
  }

  boolean(path: string, value: unknown): boolean | undefined {
    if (absent(value)) return undefined;
    if (typeof value === 'boolean') return value;
    this.add(path, 'must be true or false', value);
    return undefined;
  }

  integer(path: string, value: unknown, min: number, max: number, rule: string): number | undefined {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    this.add(path, rule, value);
    return undefined;
  }

  /** A list of distinct enum values, `min`–`max` long. */
  list<T extends string>(
    path: string,
    value: unknown,
    allowed: readonly T[],
    min: number,
    max: number,
    rule: string,
  ): T[] | undefined {
    if (!Array.isArray(value) || value.length < min || value.length > max) {
      this.add(path, rule, value);
      return undefined;
    }
    const out: T[] = [];
    let ok = true;
    value.forEach((item, i) => {
      const v = this.enumValue(`${path}[${i}]`, item, allowed, `must be one of ${quoteList(allowed)}`);
      if (v === undefined) ok = false;
      else if (out.includes(v)) {
        this.add(`${path}[${i}]`, `must not repeat '${v}': ${rule}`, item);
        ok = false;
      } else out.push(v);
    });
    return ok ? out : undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Times
// ---------------------------------------------------------------------------------------------------------------

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/i;

const TIME_RULE =
  'must be an ISO 8601 date-time whose time of day is on the hour or half hour (HH:00 or HH:30, from 00:00 to 23:30, no seconds); only the time of day is used';

interface RunTime {
  /** `YYYY-MM-DD` in UTC. */
  date: string;
  /** `HH:MM` in UTC notation = wall-clock time in the policy's zone. */
  time: string;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function parseRunTime(value: unknown): RunTime | undefined {
  if (typeof value !== 'string') return undefined;
  const m = ISO_DATE_TIME.exec(value);
  if (m === null) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const fraction = m[7] ?? '';
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  if (d.getUTCMonth() !== month - 1) return undefined; // 31 Feb
  let offsetMinutes = 0;
  const zone = m[8] as string;
  if (zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
  }
  if (second !== 0 || /[1-9]/.test(fraction)) return undefined;
  d.setUTCHours(hour, minute - offsetMinutes, 0, 0);
  if (d.getUTCMinutes() % 30 !== 0) return undefined;
  return {
    date: `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
    time: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`,
  };
}

/** A list holding exactly one valid run time. */
function singleTime(c: Checker, path: string, value: unknown, rule: string): RunTime | undefined {
  if (!Array.isArray(value) || value.length !== 1) {
    c.add(path, rule, value);
    return undefined;
  }
  const t = parseRunTime(value[0]);
  if (t === undefined) c.add(`${path}[0]`, TIME_RULE, value[0]);
  return t;
}

// ---------------------------------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------------------------------

function retentionCount(
  c: Checker,
  path: string,
  value: unknown,
  unit: DurationType,
  min: number,
  max: number,
  label: string,
): number | undefined {
  const duration = c.object(path, value, `${label} retention (retentionDuration)`);
  if (duration === undefined) return undefined;
  const unitName = unit.toLowerCase();
  const type = duration.durationType;
  let typeOk = false;
  if (absent(type)) c.add(`${path}.durationType`, `is required and must be '${unit}' for ${label} retention`, type);
  else if (typeof type !== 'string' || !DURATION_TYPES.some((t) => t.toLowerCase() === type.toLowerCase()))
    c.add(
      `${path}.durationType`,
      `must be one of ${quoteList(DURATION_TYPES)}, and '${unit}' for ${label} retention`,
      type,
    );
  else if (type.toLowerCase() !== unit.toLowerCase())
    c.add(`${path}.durationType`, `must be '${unit}' for ${label} retention`, type);
  else typeOk = true;
  const count = c.integer(
    `${path}.count`,
    duration.count,
    min,
    max,
    `${label} retention must be an integer from ${min} to ${max} ${unitName}`,
  );
  return typeOk ? count : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------------------------------------------

const DAYS_RULE = (min: number, max: number, what: string) =>
  `must list ${min} to ${max} distinct days of the week (${DAYS_OF_WEEK[0]} to ${DAYS_OF_WEEK[6]}) ${what}`;

function simpleScheduleCommon(c: Checker, path: string, schedule: Obj, label: string): void {
  const weekly = schedule.scheduleWeeklyFrequency;
  if (!absent(weekly) && weekly !== 0)
    c.add(`${path}.scheduleWeeklyFrequency`, `must be 0 or omitted: ${label} backups repeat every week`, weekly);
  if (!absent(schedule.hourlySchedule))
    c.add(
      `${path}.hourlySchedule`,
      `must be omitted: SQL ${label} backups run at most once a day`,
      schedule.hourlySchedule,
    );
}

/** What could be read of the Full schedule; fields are missing where the input violated a rule. */
interface FullParsed {
  frequency?: 'Daily' | 'Weekly';
  days?: DayOfWeek[];
  runTime?: RunTime;
  emptyRunDays: boolean;
}

function checkFullSchedule(c: Checker, path: string, value: unknown): FullParsed | undefined {
  const schedule = c.object(path, value, 'The Full backup schedule');
  if (schedule === undefined) return undefined;
  c.exact(`${path}.schedulePolicyType`, schedule.schedulePolicyType, 'SimpleSchedulePolicy', 'for a Full backup');
  simpleScheduleCommon(c, path, schedule, 'Full');
  const frequency = c.enumValue(
    `${path}.scheduleRunFrequency`,
    schedule.scheduleRunFrequency,
    ['Daily', 'Weekly'] as const,
    "must be 'Daily' or 'Weekly' for a Full backup",
  );
  const runDays = schedule.scheduleRunDays;
  let days: DayOfWeek[] | undefined;
  let emptyRunDays = false;
  if (frequency === 'Weekly') {
    days = c.list(`${path}.scheduleRunDays`, runDays, DAYS_OF_WEEK, 1, 7, DAYS_RULE(1, 7, 'for a Weekly Full backup'));
  } else if (frequency === 'Daily') {
    if (Array.isArray(runDays) && runDays.length === 0) emptyRunDays = true;
    else if (!absent(runDays))
      c.add(
        `${path}.scheduleRunDays`,
        'must be omitted or empty for a Daily Full backup (it runs every day of the week)',
        runDays,
      );
    days = [...DAYS_OF_WEEK];
  }
  const runTime = singleTime(
    c,
    `${path}.scheduleRunTimes`,
    schedule.scheduleRunTimes,
    'must hold exactly one time: a Full backup runs at most once a day',
  );
  return { frequency, days, runTime, emptyRunDays };
}

function checkRetentionTimes(c: Checker, path: string, value: unknown, full: RunTime | undefined): RunTime | undefined {
  const rule =
    full === undefined
      ? "must hold exactly one time, the Full backup's run time"
      : `must hold exactly one time, the Full backup's run time (${full.time})`;
  const t = singleTime(c, path, value, rule);
  if (t !== undefined && full !== undefined && t.time !== full.time) {
    c.add(
      `${path}[0]`,
      `must be the Full backup's run time (${full.time}); only the time of day is compared`,
      (value as unknown[])[0],
    );
    return undefined;
  }
  return t;
}

function checkPattern(
  c: Checker,
  path: string,
  schedule: Obj,
  full: FullParsed | undefined,
  label: string,
): RetentionPattern | undefined {
  const format = c.enumValue(
    `${path}.retentionScheduleFormatType`,
    schedule.retentionScheduleFormatType,
    ['Weekly', 'Daily'] as const,
    `must be 'Weekly' or 'Daily' for ${label} retention`,
  );
  if (format === undefined) return undefined;
  if (format === 'Weekly') {
    if (!absent(schedule.retentionScheduleDaily))
      c.add(
        `${path}.retentionScheduleDaily`,
        "must be omitted when retentionScheduleFormatType is 'Weekly'",
        schedule.retentionScheduleDaily,
      );
    const weekly = c.object(
      `${path}.retentionScheduleWeekly`,
      schedule.retentionScheduleWeekly,
      `With retentionScheduleFormatType 'Weekly', the ${label} retention's retentionScheduleWeekly`,
    );
    if (weekly === undefined) return undefined;
    const daysPath = `${path}.retentionScheduleWeekly.daysOfTheWeek`;
    const days = c.list(daysPath, weekly.daysOfTheWeek, DAYS_OF_WEEK, 1, 7, DAYS_RULE(1, 7, `for ${label} retention`));
    const weeks = c.list<WeekOfMonth>(
      `${path}.retentionScheduleWeekly.weeksOfTheMonth`,
      weekly.weeksOfTheMonth,
      WEEKS_OF_MONTH,
      1,
      5,
      `must list 1 to 5 distinct weeks of the month (${quoteList(WEEKS_OF_MONTH)}) for ${label} retention`,
    );
    if (days !== undefined && !daysAmongFull(c, daysPath, days, full)) return undefined;
    if (days === undefined || weeks === undefined) return undefined;
    return { format: 'Weekly', daysOfTheWeek: days, weeksOfTheMonth: weeks };
  }
  if (!absent(schedule.retentionScheduleWeekly))
    c.add(
      `${path}.retentionScheduleWeekly`,
      "must be omitted when retentionScheduleFormatType is 'Daily'",
      schedule.retentionScheduleWeekly,
    );
  if (full?.frequency === 'Weekly') {
    c.add(
      `${path}.retentionScheduleFormatType`,
      `must be 'Weekly' for ${label} retention of a Weekly Full backup (a day of the month may have no backup)`,
      schedule.retentionScheduleFormatType,
    );
    return undefined;
  }
  const daily = c.object(
    `${path}.retentionScheduleDaily`,
    schedule.retentionScheduleDaily,
    `With retentionScheduleFormatType 'Daily', the ${label} retention's retentionScheduleDaily`,
  );
  if (daily === undefined) return undefined;
  const listPath = `${path}.retentionScheduleDaily.daysOfTheMonth`;
  const { min, max } = POLICY_LIMITS.dayOfMonth;
  const list = daily.daysOfTheMonth;
  if (!Array.isArray(list) || list.length < 1 || list.length > max + 1) {
    c.add(
      listPath,
      `must list 1 to ${max + 1} distinct days of the month ({date: ${min} to ${max}} or {isLast: true}) for ${label} retention`,
      list,
    );
    return undefined;
  }
  const out: (number | 'Last')[] = [];
  let ok = true;
  list.forEach((item: unknown, i) => {
    const day = monthDay(item);
    if (day === undefined) {
      c.add(
        `${listPath}[${i}]`,
        `must be {date: ${min} to ${max}, isLast: false} or {isLast: true} (the month's last day)`,
        item,
      );
      ok = false;
    } else if (out.includes(day)) {
      c.add(
        `${listPath}[${i}]`,
        `must not repeat day ${day === 'Last' ? 'Last' : day}: days of the month are distinct`,
        item,
      );
      ok = false;
    } else out.push(day);
  });
  return ok ? { format: 'Daily', daysOfTheMonth: out } : undefined;
}

function monthDay(item: unknown): number | 'Last' | undefined {
  if (!isObj(item)) return undefined;
  const { date, isLast } = item;
  if (isLast === true) return absent(date) || date === 0 ? 'Last' : undefined;
  if (!absent(isLast) && isLast !== false) return undefined;
  const { min, max } = POLICY_LIMITS.dayOfMonth;
  return typeof date === 'number' && Number.isInteger(date) && date >= min && date <= max ? date : undefined;
}

function daysAmongFull(c: Checker, path: string, days: DayOfWeek[], full: FullParsed | undefined): boolean {
  const fullDays = full?.days;
  if (full?.frequency !== 'Weekly' || fullDays === undefined) return true;
  const outside = days.filter((d) => !fullDays.includes(d));
  if (outside.length === 0) return true;
  c.add(
    path,
    `must be among the Full backup's run days (${fullDays.join(', ')}): a Weekly Full backup only exists on those days`,
    outside,
  );
  return false;
}

interface FullRetentionParsed {
  /** Every schedule was valid. */
  ok: boolean;
  retention: FullRetention;
  /** The Full's base retention in days (daily for a Daily full, weekly × 7 for a Weekly full), when known. */
  baseDays: number | undefined;
  dates: Pick<WireEcho['dates'], 'daily' | 'weekly' | 'monthly' | 'yearly'>;
}

function checkFullRetention(
  c: Checker,
  path: string,
  value: unknown,
  full: FullParsed | undefined,
): FullRetentionParsed | undefined {
  const retention = c.object(path, value, 'The Full backup retention');
  if (retention === undefined) return undefined;
  if (
    !c.exact(
      `${path}.retentionPolicyType`,
      retention.retentionPolicyType,
      'LongTermRetentionPolicy',
      'for a Full backup',
    )
  )
    return undefined;
  const L = POLICY_LIMITS;
  const out: FullRetention = {};
  const dates: FullRetentionParsed['dates'] = {};
  let ok = true;
  const fullTime = full?.runTime;

  // Daily
  const dailyPath = `${path}.dailySchedule`;
  if (full?.frequency === 'Weekly' && !absent(retention.dailySchedule)) {
    c.add(
      dailyPath,
      'must be omitted for a Weekly Full backup: daily retention needs a daily backup',
      retention.dailySchedule,
    );
    ok = false;
  } else if (full?.frequency === 'Daily' && absent(retention.dailySchedule)) {
    c.add(
      dailyPath,
      `is required for a Daily Full backup (retention from ${L.fullDailyDays.min} to ${L.fullDailyDays.max} days)`,
      retention.dailySchedule,
    );
    ok = false;
  } else if (!absent(retention.dailySchedule)) {
    const s = c.object(dailyPath, retention.dailySchedule, 'Daily retention');
    if (s === undefined) ok = false;
    else {
      const t = checkRetentionTimes(c, `${dailyPath}.retentionTimes`, s.retentionTimes, fullTime);
      const n = retentionCount(
        c,
        `${dailyPath}.retentionDuration`,
        s.retentionDuration,
        'Days',
        L.fullDailyDays.min,
        L.fullDailyDays.max,
        'Daily',
      );
      if (t === undefined || n === undefined) ok = false;
      else {
        out.daily = { days: n };
        dates.daily = t.date;
      }
    }
  }

  // Weekly
  const weeklyPath = `${path}.weeklySchedule`;
  if (full?.frequency === 'Weekly' && absent(retention.weeklySchedule)) {
    c.add(
      weeklyPath,
      `is required for a Weekly Full backup (retention from ${L.fullWeeklyWeeks.min} to ${L.fullWeeklyWeeks.max} weeks)`,
      retention.weeklySchedule,
    );
    ok = false;
  } else if (!absent(retention.weeklySchedule)) {
    const s = c.object(weeklyPath, retention.weeklySchedule, 'Weekly retention');
    if (s === undefined) ok = false;
    else {
      const daysPath = `${weeklyPath}.daysOfTheWeek`;
      const days = c.list(daysPath, s.daysOfTheWeek, DAYS_OF_WEEK, 1, 7, DAYS_RULE(1, 7, 'for Weekly retention'));
      const daysOk = days !== undefined && daysAmongFull(c, daysPath, days, full);
      const t = checkRetentionTimes(c, `${weeklyPath}.retentionTimes`, s.retentionTimes, fullTime);
      const n = retentionCount(
        c,
        `${weeklyPath}.retentionDuration`,
        s.retentionDuration,
        'Weeks',
        L.fullWeeklyWeeks.min,
        L.fullWeeklyWeeks.max,
        'Weekly',
      );
      if (!daysOk || t === undefined || n === undefined || days === undefined) ok = false;
      else {
        out.weekly = { weeks: n, daysOfTheWeek: days };
        dates.weekly = t.date;
      }
    }
  }

  // Monthly
  const monthlyPath = `${path}.monthlySchedule`;
  if (!absent(retention.monthlySchedule)) {
    const s = c.object(monthlyPath, retention.monthlySchedule, 'Monthly retention');
    if (s === undefined) ok = false;
    else {
      const pattern = checkPattern(c, monthlyPath, s, full, 'Monthly');
      const t = checkRetentionTimes(c, `${monthlyPath}.retentionTimes`, s.retentionTimes, fullTime);
      const n = retentionCount(
        c,
        `${monthlyPath}.retentionDuration`,
        s.retentionDuration,
        'Months',
        L.fullMonthlyMonths.min,
        L.fullMonthlyMonths.max,
        'Monthly',
      );
      if (pattern === undefined || t === undefined || n === undefined) ok = false;
      else {
        out.monthly = { months: n, pattern };
        dates.monthly = t.date;
      }
    }
  }

  // Yearly
  const yearlyPath = `${path}.yearlySchedule`;
  if (!absent(retention.yearlySchedule)) {
    const s = c.object(yearlyPath, retention.yearlySchedule, 'Yearly retention');
    if (s === undefined) ok = false;
    else {
      const months = c.list<MonthOfYear>(
        `${yearlyPath}.monthsOfYear`,
        s.monthsOfYear,
        MONTHS_OF_YEAR,
        1,
        12,
        `must list 1 to 12 distinct months (${MONTHS_OF_YEAR[0]} to ${MONTHS_OF_YEAR[11]}) for Yearly retention`,
      );
      const pattern = checkPattern(c, yearlyPath, s, full, 'Yearly');
      const t = checkRetentionTimes(c, `${yearlyPath}.retentionTimes`, s.retentionTimes, fullTime);
      const n = retentionCount(
        c,
        `${yearlyPath}.retentionDuration`,
        s.retentionDuration,
        'Years',
        L.fullYearlyYears.min,
        L.fullYearlyYears.max,
        'Yearly',
      );
      if (months === undefined || pattern === undefined || t === undefined || n === undefined) ok = false;
      else {
        out.yearly = { years: n, monthsOfYear: months, pattern };
        dates.yearly = t.date;
      }
    }
  }

  const baseDays =
    full?.frequency === 'Daily'
      ? out.daily?.days
      : full?.frequency === 'Weekly' && out.weekly !== undefined
        ? out.weekly.weeks * 7
        : undefined;
  return { ok: ok && baseDays !== undefined, retention: out, baseDays, dates };
}

function checkTiering(c: Checker, path: string, value: unknown): Record<string, TieringRule> | undefined {
  const tiering = c.object(path, value, 'tieringPolicy');
  if (tiering === undefined) return undefined;
  const out: Record<string, TieringRule> = {};
  let ok = true;
  for (const [key, rule] of Object.entries(tiering)) {
    const rulePath = `${path}.${key}`;
    if (key !== 'ArchivedRP') {
      c.add(rulePath, "is not a tier target: tieringPolicy takes only the key 'ArchivedRP'", rule);
      ok = false;
      continue;
    }
    const r = c.object(rulePath, rule, 'A tiering rule');
    if (r === undefined) {
      ok = false;
      continue;
    }
    const mode = c.enumValue<TieringMode>(
      `${rulePath}.tieringMode`,
      r.tieringMode,
      TIERING_MODES,
      `must be one of ${quoteList(TIERING_MODES)}`,
    );
    const parsed: TieringRule | undefined = mode === undefined ? undefined : { tieringMode: mode };
    const needsDuration = mode === 'TierAfter';
    if (needsDuration || !absent(r.duration)) {
      const d = c.integer(
        `${rulePath}.duration`,
        r.duration,
        1,
        99_999,
        `must be a positive integer${needsDuration ? " (required when tieringMode is 'TierAfter')" : ''}`,
      );
      if (d === undefined) ok = false;
      else if (parsed !== undefined) parsed.duration = d;
    }
    if (needsDuration || !absent(r.durationType)) {
      const t = c.enumValue<DurationType>(
        `${rulePath}.durationType`,
        r.durationType,
        DURATION_TYPES,
        `must be one of ${quoteList(DURATION_TYPES)}`,
      );
      if (t === undefined) ok = false;
      else if (parsed !== undefined) parsed.durationType = t;
    }
    if (parsed === undefined) ok = false;
    else out[key] = parsed;
  }
  return ok ? out : undefined;
}

interface DiffParsed {
  days: DayOfWeek[];
  runTime: RunTime;
  retentionDays: number;
}

function checkDifferential(
  c: Checker,
  path: string,
  sub: Obj,
  full: FullParsed | undefined,
  fullDays: number | undefined,
): DiffParsed | undefined {
  if (full?.frequency === 'Daily')
    c.add(
      `${path}.policyType`,
      "a Differential backup needs a Weekly Full backup (the Full backup's scheduleRunFrequency is 'Daily')",
      sub.policyType,
    );
  const sPath = `${path}.schedulePolicy`;
  const schedule = c.object(sPath, sub.schedulePolicy, 'The Differential backup schedule');
  let days: DayOfWeek[] | undefined;
  let runTime: RunTime | undefined;
  if (schedule !== undefined) {
    c.exact(
      `${sPath}.schedulePolicyType`,
      schedule.schedulePolicyType,
      'SimpleSchedulePolicy',
      'for a Differential backup',
    );
    simpleScheduleCommon(c, sPath, schedule, 'Differential');
    c.enumValue(
      `${sPath}.scheduleRunFrequency`,
      schedule.scheduleRunFrequency,
      ['Weekly'] as const,
      "must be 'Weekly' for a Differential backup",
    );
    days = c.list(
      `${sPath}.scheduleRunDays`,
      schedule.scheduleRunDays,
      DAYS_OF_WEEK,
      1,
      6,
      DAYS_RULE(1, 6, 'for a Differential backup, none of them a Full backup day'),
    );
    const fullDays = full?.days;
    if (days !== undefined && full?.frequency === 'Weekly' && fullDays !== undefined) {
      const clash = days.filter((d) => fullDays.includes(d));
      if (clash.length > 0) {
        const free = DAYS_OF_WEEK.filter((d) => !fullDays.includes(d));
        c.add(
          `${sPath}.scheduleRunDays`,
          `must not include the Full backup's days (${fullDays.join(', ')}): at most one backup runs a day, ` +
            (free.length === 0
              ? 'and a Full backup on all seven days leaves no day for a Differential backup'
              : `so choose 1 to ${free.length} of ${free.join(', ')}`),
          clash,
        );
        days = undefined;
      }
    }
    runTime = singleTime(
      c,
      `${sPath}.scheduleRunTimes`,
      schedule.scheduleRunTimes,
      'must hold exactly one time: a Differential backup runs at most once a day',
    );
  }
  const retentionDays = checkSimpleRetention(
    c,
    `${path}.retentionPolicy`,
    sub.retentionPolicy,
    'Differential',
    POLICY_LIMITS.differentialDays,
    fullDays,
  );
  if (!absent(sub.tieringPolicy))
    c.add(`${path}.tieringPolicy`, 'must be omitted: tiering applies to the Full sub-policy only', sub.tieringPolicy);
  if (days === undefined || runTime === undefined || retentionDays === undefined || full?.frequency !== 'Weekly')
    return undefined;
  return { days, runTime, retentionDays };
}

function checkSimpleRetention(
  c: Checker,
  path: string,
  value: unknown,
  label: 'Differential' | 'Log',
  bounds: { min: number; max: number },
  fullDays: number | undefined,
): number | undefined {
  const retention = c.object(path, value, `The ${label} backup retention`);
  if (retention === undefined) return undefined;
  if (
    !c.exact(
      `${path}.retentionPolicyType`,
      retention.retentionPolicyType,
      'SimpleRetentionPolicy',
      `for a ${label} backup`,
    )
  )
    return undefined;
  const n = retentionCount(
    c,
    `${path}.retentionDuration`,
    retention.retentionDuration,
    'Days',
    bounds.min,
    bounds.max,
    `${label} backup`,
  );
  if (n !== undefined && fullDays !== undefined && n > fullDays) {
    c.add(
      `${path}.retentionDuration.count`,
      `${label} backup retention must not exceed the Full backup's retention (${fullDays} days): allowed from ${bounds.min} to ${Math.min(bounds.max, fullDays)} days`,
      n,
    );
    return undefined;
  }
  return n;
}

function checkLog(
  c: Checker,
  path: string,
  sub: Obj,
  fullDays: number | undefined,
): { frequencyMinutes: LogFrequencyMinutes; retentionDays: number } | undefined {
  const sPath = `${path}.schedulePolicy`;
  const schedule = c.object(sPath, sub.schedulePolicy, 'The Log backup schedule');
  let frequency: LogFrequencyMinutes | undefined;
  if (schedule !== undefined) {
    c.exact(`${sPath}.schedulePolicyType`, schedule.schedulePolicyType, 'LogSchedulePolicy', 'for a Log backup');
    const f = schedule.scheduleFrequencyInMins;
    if (LOG_FREQUENCIES_MINUTES.includes(f as LogFrequencyMinutes)) frequency = f as LogFrequencyMinutes;
    else
      c.add(
        `${sPath}.scheduleFrequencyInMins`,
        `must be one of ${LOG_FREQUENCIES_MINUTES.join(', ')} minutes (every 15 minutes to every 24 hours)`,
        f,
      );
  }
  const retentionDays = checkSimpleRetention(
    c,
    `${path}.retentionPolicy`,
    sub.retentionPolicy,
    'Log',
    POLICY_LIMITS.logDays,
    fullDays,
  );
  if (!absent(sub.tieringPolicy))
    c.add(`${path}.tieringPolicy`, 'must be omitted: tiering applies to the Full sub-policy only', sub.tieringPolicy);
  if (frequency === undefined || retentionDays === undefined) return undefined;
  return { frequencyMinutes: frequency, retentionDays };
}

// ---------------------------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------------------------

/** Every violation of the rules above, and the normalized policy when there are none. */
export function checkSqlPolicy(properties: unknown): { policy: SqlPolicy | undefined; violations: PolicyViolation[] } {
  const c = new Checker();
  const root = 'properties';
  const props = c.object(root, properties, 'The policy (properties)');
  if (props === undefined) return { policy: undefined, violations: c.violations };

  c.exact(
    `${root}.backupManagementType`,
    props.backupManagementType,
    'AzureWorkload',
    'for a SQL Server in Azure VM policy',
  );
  c.enumValue(
    `${root}.workLoadType`,
    props.workLoadType,
    ['SQLDataBase'] as const,
    "is required and must be 'SQLDataBase'",
  );

  // Settings
  let timeZone: string | undefined;
  let ianaTimeZone: string | undefined;
  let compression: boolean | undefined;
  let isCompression: boolean | undefined;
  const settings = c.object(`${root}.settings`, props.settings, 'settings (with timeZone)');
  if (settings !== undefined) {
    const tz = settings.timeZone;
    ianaTimeZone = typeof tz === 'string' ? resolveTimeZone(tz) : undefined;
    if (ianaTimeZone === undefined)
      c.add(
        `${root}.settings.timeZone`,
        "is required and must be a Windows time zone id (e.g. 'UTC', 'Pacific Standard Time', 'W. Europe Standard Time') or an IANA time zone (e.g. 'Europe/Berlin')",
        tz,
      );
    else timeZone = tz as string;
    compression = c.boolean(`${root}.settings.issqlcompression`, settings.issqlcompression);
    isCompression = c.boolean(`${root}.settings.isCompression`, settings.isCompression);
  }
  const makePolicyConsistent = c.boolean(`${root}.makePolicyConsistent`, props.makePolicyConsistent);

  // Sub-policies
  const listPath = `${root}.subProtectionPolicy`;
  const subs = props.subProtectionPolicy;
  const LIST_RULE = 'must list 1 to 3 sub-policies: exactly one Full, at most one Differential and at most one Log';
  if (!Array.isArray(subs) || subs.length < 1 || subs.length > 3) {
    c.add(listPath, LIST_RULE, Array.isArray(subs) ? `${subs.length} entries` : subs);
    return { policy: undefined, violations: c.violations };
  }
  const byType = new Map<SubPolicyType, { index: number; sub: Obj }>();
  const order: SubPolicyType[] = [];
  subs.forEach((sub: unknown, i) => {
    const p = `${listPath}[${i}]`;
    const o = c.object(p, sub, 'A sub-policy');
    if (o === undefined) return;
    const type = c.enumValue(
      `${p}.policyType`,
      o.policyType,
      SUB_POLICY_TYPES,
      `must be one of ${quoteList(SUB_POLICY_TYPES)}`,
    );
    if (type === undefined) return;
    const previous = byType.get(type);
    if (previous !== undefined) {
      c.add(
        `${p}.policyType`,
        `must not repeat '${type}': a policy has at most one ${type} sub-policy (another is at subProtectionPolicy[${previous.index}])`,
        o.policyType,
      );
      return;
    }
    byType.set(type, { index: i, sub: o });
    order.push(type);
  });

  const fullEntry = byType.get('Full');
  let full: FullParsed | undefined;
  let fullRetention: FullRetentionParsed | undefined;
  let tiering: Record<string, TieringRule> | undefined;
  let tieringOk = true;
  if (fullEntry === undefined) {
    c.add(listPath, "must contain exactly one Full sub-policy (policyType 'Full'), found none", undefined, false);
  } else {
    const p = `${listPath}[${fullEntry.index}]`;
    full = checkFullSchedule(c, `${p}.schedulePolicy`, fullEntry.sub.schedulePolicy);
    fullRetention = checkFullRetention(c, `${p}.retentionPolicy`, fullEntry.sub.retentionPolicy, full);
    if (!absent(fullEntry.sub.tieringPolicy)) {
      tiering = checkTiering(c, `${p}.tieringPolicy`, fullEntry.sub.tieringPolicy);
      tieringOk = tiering !== undefined;
    }
  }
  const fullDays = fullRetention?.baseDays;

  const diffEntry = byType.get('Differential');
  const diff =
    diffEntry === undefined
      ? undefined
      : checkDifferential(c, `${listPath}[${diffEntry.index}]`, diffEntry.sub, full, fullDays);
  const logEntry = byType.get('Log');
  const log =
    logEntry === undefined ? undefined : checkLog(c, `${listPath}[${logEntry.index}]`, logEntry.sub, fullDays);

  if (
    c.violations.length > 0 ||
    timeZone === undefined ||
    ianaTimeZone === undefined ||
    full?.frequency === undefined ||
    full.days === undefined ||
    full.runTime === undefined ||
    fullRetention?.ok !== true ||
    !tieringOk ||
    (diffEntry !== undefined && diff === undefined) ||
    (logEntry !== undefined && log === undefined)
  ) {
    if (c.violations.length === 0) c.add(root, 'is not a valid SQL backup policy', undefined, false); // defensive; every failure path adds a violation
    return { policy: undefined, violations: c.violations };
  }

  const fullRunTime = full.runTime;
  const wire: WireEcho = {
    dates: { full: fullRunTime.date, ...fullRetention.dates },
    order,
  };
  if (diff !== undefined) wire.dates.differential = diff.runTime.date;
  if (isCompression !== undefined) wire.isCompression = isCompression;
  if (makePolicyConsistent !== undefined) wire.makePolicyConsistent = makePolicyConsistent;
  if (full.emptyRunDays) wire.emptyRunDays = true;

  const policy: SqlPolicy = {
    timeZone,
    ianaTimeZone,
    compression: compression ?? isCompression ?? false,
    full: {
      frequency: full.frequency,
      days: full.days,
      times: [fullRunTime.time],
      retention: fullRetention.retention,
      ...(tiering === undefined ? {} : { tiering }),
    },
    wire,
  };
  if (diff !== undefined)
    policy.differential = { days: diff.days, times: [diff.runTime.time], retentionDays: diff.retentionDays };
  if (log !== undefined) policy.log = log;
  return { policy, violations: [] };
}

/** Formats violations as one ARM error message. */
export function violationMessage(violations: readonly PolicyViolation[]): string {
  return `Invalid backup policy: ${violations.map((v) => `${v.path}: ${v.message}`).join(' ')}`;
}

/**
 * Validates the `properties` of an AzureWorkload SQL policy PUT and returns its normalized form.
 * @throws ArmError 400 `BMSUserErrorInvalidPolicyInput` listing every violated rule (field path + allowed range).
 */
export function validateSqlPolicy(properties: unknown): SqlPolicy {
  const { policy, violations } = checkSqlPolicy(properties);
  if (policy === undefined) throw errors.badRequest(INVALID_POLICY_CODE, violationMessage(violations));
  return policy;
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------------------------

function isoTime(date: string, time: string): string {
  return `${date}T${time}:00Z`;
}

function renderPattern(
  pattern: RetentionPattern,
): Pick<
  MonthlyRetentionScheduleWire,
  'retentionScheduleFormatType' | 'retentionScheduleDaily' | 'retentionScheduleWeekly'
> {
  if (pattern.format === 'Weekly')
    return {
      retentionScheduleFormatType: 'Weekly',
      retentionScheduleWeekly: {
        daysOfTheWeek: [...pattern.daysOfTheWeek],
        weeksOfTheMonth: [...pattern.weeksOfTheMonth],
      },
    };
  return {
    retentionScheduleFormatType: 'Daily',
    retentionScheduleDaily: {
      daysOfTheMonth: pattern.daysOfTheMonth.map((d) =>
        d === 'Last' ? { date: 0, isLast: true } : { date: d, isLast: false },
      ),
    },
  };
}

/**
 * The wire form of a normalized policy (the `properties` of the ProtectionPolicyResource, without
 * `protectedItemsCount`, which the service adds). Times are rendered `YYYY-MM-DDTHH:MM:00Z` with the calendar date
 * the client sent, so the SDK's `Date`s compare equal; `scheduleWeeklyFrequency: 0` is echoed as Azure does.
 */
export function toWireFormat(policy: SqlPolicy): AzureWorkloadPolicyPropertiesWire {
  const { full, differential, log, wire } = policy;
  const fullTime = full.times[0];
  const at = (date: string | undefined) => [isoTime(date ?? wire.dates.full, fullTime)];
  const r = full.retention;

  const fullSub: SubProtectionPolicyWire = {
    policyType: 'Full',
    schedulePolicy: {
      schedulePolicyType: 'SimpleSchedulePolicy',
      scheduleRunFrequency: full.frequency,
      ...(full.frequency === 'Weekly'
        ? { scheduleRunDays: [...full.days] }
        : wire.emptyRunDays
          ? { scheduleRunDays: [] }
          : {}),
      scheduleRunTimes: [isoTime(wire.dates.full, fullTime)],
      scheduleWeeklyFrequency: 0,
    },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      ...(r.daily && {
        dailySchedule: {
          retentionTimes: at(wire.dates.daily),
          retentionDuration: { count: r.daily.days, durationType: 'Days' },
        },
      }),
      ...(r.weekly && {
        weeklySchedule: {
          daysOfTheWeek: [...r.weekly.daysOfTheWeek],
          retentionTimes: at(wire.dates.weekly),
          retentionDuration: { count: r.weekly.weeks, durationType: 'Weeks' },
        },
      }),
      ...(r.monthly && {
        monthlySchedule: {
          ...renderPattern(r.monthly.pattern),
          retentionTimes: at(wire.dates.monthly),
          retentionDuration: { count: r.monthly.months, durationType: 'Months' },
        },
      }),
      ...(r.yearly && {
        yearlySchedule: {
          ...renderPattern(r.yearly.pattern),
          monthsOfYear: [...r.yearly.monthsOfYear],
          retentionTimes: at(wire.dates.yearly),
          retentionDuration: { count: r.yearly.years, durationType: 'Years' },
        },
      }),
    },
    ...(full.tiering && {
      tieringPolicy: Object.fromEntries(Object.entries(full.tiering).map(([k, v]) => [k, { ...v }])),
    }),
  };

  const subs: Record<SubPolicyType, SubProtectionPolicyWire | undefined> = {
    Full: fullSub,
    Differential: differential && {
      policyType: 'Differential',
      schedulePolicy: {
        schedulePolicyType: 'SimpleSchedulePolicy',
        scheduleRunFrequency: 'Weekly',
        scheduleRunDays: [...differential.days],
        scheduleRunTimes: [isoTime(wire.dates.differential ?? wire.dates.full, differential.times[0])],
        scheduleWeeklyFrequency: 0,
      },
      retentionPolicy: {
        retentionPolicyType: 'SimpleRetentionPolicy',
        retentionDuration: { count: differential.retentionDays, durationType: 'Days' },
      },
    },
    Log: log && {
      policyType: 'Log',
      schedulePolicy: { schedulePolicyType: 'LogSchedulePolicy', scheduleFrequencyInMins: log.frequencyMinutes },
      retentionPolicy: {
        retentionPolicyType: 'SimpleRetentionPolicy',
        retentionDuration: { count: log.retentionDays, durationType: 'Days' },
      },
    },
  };
  const order: SubPolicyType[] = [...wire.order];
  for (const t of SUB_POLICY_TYPES) if (subs[t] !== undefined && !order.includes(t)) order.push(t);

  return {
    backupManagementType: 'AzureWorkload',
    workLoadType: 'SQLDataBase',
    settings: {
      timeZone: policy.timeZone,
      issqlcompression: policy.compression,
      isCompression: wire.isCompression ?? policy.compression,
    },
    ...(wire.makePolicyConsistent === undefined ? {} : { makePolicyConsistent: wire.makePolicyConsistent }),
    subProtectionPolicy: order.flatMap((t) => {
      const s = subs[t];
      return s === undefined ? [] : [s];
    }),
  };
}
