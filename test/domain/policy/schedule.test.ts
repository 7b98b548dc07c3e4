import { describe, expect, it } from 'vitest';
import {
  nextDifferentialAfter,
  nextFullAfter,
  nextLogAfter,
  runsBetween,
  utcToZoned,
  zonedTimeToUtc,
  zoneOffsetMs,
} from '../../../src/domain/policy/schedule.ts';
import {
  DAYS_OF_WEEK,
  type DayOfWeek,
  type LogFrequencyMinutes,
  type SqlPolicy,
} from '../../../src/domain/policy/types.ts';
import { validateSqlPolicy } from '../../../src/domain/policy/validate.ts';

const LA = 'America/Los_Angeles';
const BERLIN = 'Europe/Berlin';
const HOUR = 3_600_000;
const MINUTE = 60_000;

const iso = (d: Date | undefined) => d?.toISOString();
const at = (s: string) => new Date(s);

type Schedules = Pick<SqlPolicy, 'ianaTimeZone' | 'full' | 'differential' | 'log'>;

function policy(
  tz: string,
  full: { days?: DayOfWeek[]; time: string },
  differential?: { days: DayOfWeek[]; time: string },
  logMinutes?: LogFrequencyMinutes,
): Schedules {
  return {
    ianaTimeZone: tz,
    full: {
      frequency: full.days === undefined ? 'Daily' : 'Weekly',
      days: full.days ?? [...DAYS_OF_WEEK],
      times: [full.time],
      retention: {},
    },
    ...(differential && { differential: { days: differential.days, times: [differential.time], retentionDays: 7 } }),
    ...(logMinutes && { log: { frequencyMinutes: logMinutes, retentionDays: 7 } }),
  };
}

/** The start and end instants of local day y-m-d in `tz`. */
function localDay(tz: string, y: number, m: number, d: number): [Date, Date] {
  return [zonedTimeToUtc(y, m, d, 0, 0, tz), zonedTimeToUtc(y, m, d + 1, 0, 0, tz)];
}

/** Runs of `kind` in [start, end) of a local day. */
function runsOnDay(
  p: Schedules,
  kind: 'Full' | 'Differential' | 'Log',
  tz: string,
  y: number,
  m: number,
  d: number,
): Date[] {
  const [start, end] = localDay(tz, y, m, d);
  return runsBetween(p, kind, new Date(start.getTime() - 1), new Date(end.getTime() - 1));
}

describe('zonedTimeToUtc / utcToZoned', () => {
  it('converts ordinary times in UTC, Los Angeles and Berlin', () => {
    expect(iso(zonedTimeToUtc(2026, 1, 15, 22, 0, 'UTC'))).toBe('2026-01-15T22:00:00.000Z');
    expect(iso(zonedTimeToUtc(2026, 1, 15, 22, 0, LA))).toBe('2026-01-16T06:00:00.000Z'); // PST, UTC-8
    expect(iso(zonedTimeToUtc(2026, 7, 15, 22, 0, LA))).toBe('2026-07-16T05:00:00.000Z'); // PDT, UTC-7
    expect(iso(zonedTimeToUtc(2026, 1, 15, 22, 0, BERLIN))).toBe('2026-01-15T21:00:00.000Z'); // CET
    expect(iso(zonedTimeToUtc(2026, 7, 15, 22, 0, BERLIN))).toBe('2026-07-15T20:00:00.000Z'); // CEST
    expect(utcToZoned(at('2026-07-16T05:00:00Z'), LA)).toEqual({
      year: 2026,
      month: 7,
      day: 15,
      hour: 22,
      minute: 0,
      second: 0,
      weekday: 'Wednesday',
    });
    expect(utcToZoned(at('2026-12-31T23:30:00Z'), BERLIN)).toEqual({
      year: 2027,
      month: 1,
      day: 1,
      hour: 0,
      minute: 30,
      second: 0,
      weekday: 'Friday',
    });
  });

  it('reports offsets on both sides of each 2026 transition', () => {
    expect(zoneOffsetMs(at('2026-03-08T09:59:59Z').getTime(), LA)).toBe(-8 * HOUR);
    expect(zoneOffsetMs(at('2026-03-08T10:00:00Z').getTime(), LA)).toBe(-7 * HOUR);
    expect(zoneOffsetMs(at('2026-11-01T08:59:59Z').getTime(), LA)).toBe(-7 * HOUR);
    expect(zoneOffsetMs(at('2026-11-01T09:00:00Z').getTime(), LA)).toBe(-8 * HOUR);
    expect(zoneOffsetMs(at('2026-03-29T00:59:59Z').getTime(), BERLIN)).toBe(1 * HOUR);
    expect(zoneOffsetMs(at('2026-03-29T01:00:00Z').getTime(), BERLIN)).toBe(2 * HOUR);
    expect(zoneOffsetMs(at('2026-10-25T00:59:59Z').getTime(), BERLIN)).toBe(2 * HOUR);
    expect(zoneOffsetMs(at('2026-10-25T01:00:00Z').getTime(), BERLIN)).toBe(1 * HOUR);
  });

  it('moves a time in the spring-forward gap to the end of the gap', () => {
    expect(iso(zonedTimeToUtc(2026, 3, 8, 2, 0, LA))).toBe('2026-03-08T10:00:00.000Z'); // 03:00 PDT
    expect(iso(zonedTimeToUtc(2026, 3, 8, 2, 30, LA))).toBe('2026-03-08T10:00:00.000Z');
    expect(iso(zonedTimeToUtc(2026, 3, 8, 3, 0, LA))).toBe('2026-03-08T10:00:00.000Z');
    expect(iso(zonedTimeToUtc(2026, 3, 8, 1, 59, LA))).toBe('2026-03-08T09:59:00.000Z');
    expect(iso(zonedTimeToUtc(2026, 3, 29, 2, 30, BERLIN))).toBe('2026-03-29T01:00:00.000Z'); // 03:00 CEST
    expect(iso(zonedTimeToUtc(2026, 9, 6, 0, 0, 'America/Santiago'))).toBe('2026-09-06T04:00:00.000Z'); // midnight skipped
  });

  it('takes the first occurrence of a time in the fall-back overlap', () => {
    expect(iso(zonedTimeToUtc(2026, 11, 1, 1, 30, LA))).toBe('2026-11-01T08:30:00.000Z'); // 01:30 PDT, not PST
    expect(iso(zonedTimeToUtc(2026, 11, 1, 2, 0, LA))).toBe('2026-11-01T10:00:00.000Z'); // only PST
    expect(iso(zonedTimeToUtc(2026, 10, 25, 2, 30, BERLIN))).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST, not CET
    expect(iso(zonedTimeToUtc(2026, 10, 25, 3, 0, BERLIN))).toBe('2026-10-25T02:00:00.000Z');
  });

  it('round-trips every 30 minutes of 2026 in Los Angeles, Berlin and UTC', () => {
    for (const tz of [LA, BERLIN, 'UTC']) {
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 30 * MINUTE) {
        const z = utcToZoned(new Date(t), tz);
        const back = zonedTimeToUtc(z.year, z.month, z.day, z.hour, z.minute, tz).getTime();
        // The second pass of a repeated hour maps to its first occurrence, one hour earlier.
        if (back !== t) expect([tz, t - back]).toEqual([tz, HOUR]);
      }
    }
  });
});

describe('nextFullAfter', () => {
  it('runs a Daily full at its time in UTC, strictly after the given instant', () => {
    const p = policy('UTC', { time: '22:00' });
    expect(iso(nextFullAfter(p, at('2026-05-01T21:59:59Z')))).toBe('2026-05-01T22:00:00.000Z');
    expect(iso(nextFullAfter(p, at('2026-05-01T22:00:00Z')))).toBe('2026-05-02T22:00:00.000Z');
    expect(iso(nextFullAfter(p, at('2026-12-31T23:00:00Z')))).toBe('2027-01-01T22:00:00.000Z');
  });

  it('lands a Weekly full on its weekdays and time in the policy zone, across both DST changes', () => {
    for (const tz of [LA, BERLIN, 'UTC']) {
      const p = policy(tz, { days: ['Sunday', 'Wednesday'], time: '22:00' });
      const runs = runsBetween(p, 'Full', zonedTimeToUtc(2026, 1, 1, 0, 0, tz), zonedTimeToUtc(2027, 1, 1, 0, 0, tz));
      expect(runs.length).toBe(52 + 52); // local 2026 has 52 Sundays (from Jan 4) and 52 Wednesdays (from Jan 7)
      for (const run of runs) {
        const z = utcToZoned(run, tz);
        expect(['Sunday', 'Wednesday']).toContain(z.weekday);
        expect([z.hour, z.minute]).toEqual([22, 0]);
      }
      for (let i = 1; i < runs.length; i++)
        expect((runs[i] as Date).getTime()).toBeGreaterThan((runs[i - 1] as Date).getTime());
    }
  });

  it('runs a full scheduled in the Los Angeles spring-forward gap at 03:00 PDT, and in the overlap once', () => {
    const gap = policy(LA, { time: '02:30' });
    expect(runsBetween(gap, 'Full', at('2026-03-07T00:00:00Z'), at('2026-03-10T00:00:00Z')).map(iso)).toEqual([
      '2026-03-07T10:30:00.000Z', // 02:30 PST
      '2026-03-08T10:00:00.000Z', // 02:30 does not exist: 03:00 PDT
      '2026-03-09T09:30:00.000Z', // 02:30 PDT
    ]);
    const overlap = policy(LA, { days: ['Sunday'], time: '01:30' });
    expect(iso(nextFullAfter(overlap, at('2026-10-30T00:00:00Z')))).toBe('2026-11-01T08:30:00.000Z'); // 01:30 PDT
    expect(iso(nextFullAfter(overlap, at('2026-11-01T08:30:00Z')))).toBe('2026-11-08T09:30:00.000Z'); // not 01:30 PST the same night
  });

  it('runs a full scheduled in the Berlin spring-forward gap at 03:00 CEST, and in the overlap once', () => {
    const p = policy(BERLIN, { days: ['Sunday'], time: '02:30' });
    expect(iso(nextFullAfter(p, at('2026-03-28T00:00:00Z')))).toBe('2026-03-29T01:00:00.000Z');
    expect(iso(nextFullAfter(p, at('2026-03-29T01:00:00Z')))).toBe('2026-04-05T00:30:00.000Z');
    expect(iso(nextFullAfter(p, at('2026-10-24T00:00:00Z')))).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST
    expect(iso(nextFullAfter(p, at('2026-10-25T00:30:00Z')))).toBe('2026-11-01T01:30:00.000Z'); // 02:30 CET a week later
  });

  it('uses the zone a validated policy resolves from its Windows name', () => {
    const p = validateSqlPolicy({
      backupManagementType: 'AzureWorkload',
      workLoadType: 'SQLDataBase',
      settings: { timeZone: 'Pacific Standard Time' },
      subProtectionPolicy: [
        {
          policyType: 'Full',
          schedulePolicy: {
            schedulePolicyType: 'SimpleSchedulePolicy',
            scheduleRunFrequency: 'Weekly',
            scheduleRunDays: ['Sunday'],
            scheduleRunTimes: ['2024-01-01T02:30:00.000Z'],
          },
          retentionPolicy: {
            retentionPolicyType: 'LongTermRetentionPolicy',
            weeklySchedule: {
              daysOfTheWeek: ['Sunday'],
              retentionTimes: ['2024-01-01T02:30:00.000Z'],
              retentionDuration: { count: 4, durationType: 'Weeks' },
            },
          },
        },
      ],
    });
    expect(iso(nextFullAfter(p, at('2026-03-01T12:00:00Z')))).toBe('2026-03-08T10:00:00.000Z');
  });
});

describe('nextDifferentialAfter', () => {
  it('is undefined without a differential', () => {
    expect(
      nextDifferentialAfter(policy(LA, { days: ['Sunday'], time: '22:00' }), at('2026-01-01T00:00:00Z')),
    ).toBeUndefined();
  });

  it('runs on its days at its time and never on a full day, in every zone across 2026', () => {
    for (const tz of [LA, BERLIN, 'UTC']) {
      const p = policy(
        tz,
        { days: ['Sunday'], time: '23:30' },
        { days: ['Monday', 'Wednesday', 'Saturday'], time: '00:00' },
      );
      const from = zonedTimeToUtc(2026, 1, 1, 0, 0, tz);
      const to = zonedTimeToUtc(2027, 1, 1, 0, 0, tz);
      const localDate = (r: Date) => {
        const z = utcToZoned(r, tz);
        return `${z.year}-${z.month}-${z.day}`;
      };
      const fullDates = new Set(runsBetween(p, 'Full', from, to).map(localDate));
      expect(fullDates.size).toBe(52);
      const diffs = runsBetween(p, 'Differential', new Date(from.getTime() - 1), to);
      expect(diffs).toHaveLength(3 * 52); // Mondays, Wednesdays and Saturdays of 2026
      for (const run of diffs) {
        const z = utcToZoned(run, tz);
        expect(['Monday', 'Wednesday', 'Saturday']).toContain(z.weekday);
        expect([z.hour, z.minute]).toEqual([0, 0]);
        expect(fullDates.has(localDate(run))).toBe(false);
      }
    }
  });

  it('is strictly after the given instant', () => {
    const p = policy(BERLIN, { days: ['Sunday'], time: '22:00' }, { days: ['Friday'], time: '20:00' });
    expect(iso(nextDifferentialAfter(p, at('2026-03-27T19:00:00Z')))).toBe('2026-04-03T18:00:00.000Z'); // 20:00 CET Mar 27 is 19:00Z
    expect(iso(nextDifferentialAfter(p, at('2026-03-27T18:59:59Z')))).toBe('2026-03-27T19:00:00.000Z');
  });
});

describe('nextLogAfter', () => {
  it('is undefined without a log schedule', () => {
    expect(nextLogAfter(policy('UTC', { time: '22:00' }), at('2026-01-01T00:00:00Z'))).toBeUndefined();
  });

  it('runs every 15 minutes from midnight: 96 runs on an ordinary day, strictly after the given instant', () => {
    const p = policy('UTC', { time: '22:00' }, undefined, 15);
    expect(iso(nextLogAfter(p, at('2026-05-01T10:00:00Z')))).toBe('2026-05-01T10:15:00.000Z');
    expect(iso(nextLogAfter(p, at('2026-05-01T10:07:00Z')))).toBe('2026-05-01T10:15:00.000Z');
    expect(iso(nextLogAfter(p, at('2026-05-01T23:50:00Z')))).toBe('2026-05-02T00:00:00.000Z');
    for (const tz of ['UTC', LA, BERLIN]) {
      const runs = runsOnDay({ ...p, ianaTimeZone: tz }, 'Log', tz, 2026, 5, 1);
      expect(runs).toHaveLength(96);
      expect(iso(runs[0])).toBe(iso(zonedTimeToUtc(2026, 5, 1, 0, 0, tz)));
    }
  });

  it.each([
    [LA, 3, 8, 23, 92],
    [LA, 11, 1, 25, 100],
    [BERLIN, 3, 29, 23, 92],
    [BERLIN, 10, 25, 25, 100],
  ] as const)(
    '%s %i/%i: a %i-hour day has %i quarter-hourly runs, 15 minutes apart, on the quarter hour',
    (tz, m, d, hours, count) => {
      const p = policy(tz, { time: '22:00' }, undefined, 15);
      const [start, end] = localDay(tz, 2026, m, d);
      expect(end.getTime() - start.getTime()).toBe(hours * HOUR);
      const runs = runsOnDay(p, 'Log', tz, 2026, m, d);
      expect(runs).toHaveLength(count);
      expect(runs[0]?.getTime()).toBe(start.getTime());
      for (let i = 1; i < runs.length; i++)
        expect((runs[i] as Date).getTime() - (runs[i - 1] as Date).getTime()).toBe(15 * MINUTE);
      expect(end.getTime() - (runs.at(-1) as Date).getTime()).toBe(15 * MINUTE);
      for (const r of runs) expect(utcToZoned(r, tz).minute % 15).toBe(0);
    },
  );

  it('keeps hourly and daily log schedules anchored to local midnight across DST', () => {
    const hourly = policy(LA, { time: '22:00' }, undefined, 60);
    expect(runsOnDay(hourly, 'Log', LA, 2026, 3, 8)).toHaveLength(23);
    expect(runsOnDay(hourly, 'Log', LA, 2026, 11, 1)).toHaveLength(25);
    expect(runsOnDay(hourly, 'Log', LA, 2026, 11, 2)).toHaveLength(24);
    const daily = policy(LA, { time: '22:00' }, undefined, 1440);
    expect(runsOnDay(daily, 'Log', LA, 2026, 3, 8).map((r) => utcToZoned(r, LA).hour)).toEqual([0]);
    // A 25-hour day: 00:00 and, 24 hours later, 23:00 — never more than 24 hours between runs.
    expect(runsOnDay(daily, 'Log', LA, 2026, 11, 1).map((r) => utcToZoned(r, LA).hour)).toEqual([0, 23]);
    const twoHourly = policy(BERLIN, { time: '22:00' }, undefined, 120);
    expect(runsOnDay(twoHourly, 'Log', BERLIN, 2026, 3, 29)).toHaveLength(12); // 0,2,…,22 h elapsed on a 23-hour day
  });

  it('never leaves more than N minutes between runs (March and October–November, and all of 2026 for long intervals)', () => {
    const windows: [LogFrequencyMinutes, string, string][] = [
      [15, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'],
      [15, '2026-10-20T00:00:00Z', '2026-11-10T00:00:00Z'],
      [240, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z'],
      [720, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z'],
    ];
    for (const tz of [LA, BERLIN]) {
      for (const [n, from, to] of windows) {
        const runs = runsBetween(policy(tz, { time: '22:00' }, undefined, n), 'Log', at(from), at(to));
        expect(runs.length).toBeGreaterThan(0);
        for (let i = 1; i < runs.length; i++) {
          const gap = (runs[i] as Date).getTime() - (runs[i - 1] as Date).getTime();
          expect(gap).toBeGreaterThan(0);
          expect(gap).toBeLessThanOrEqual(n * MINUTE);
        }
      }
    }
  });
});
