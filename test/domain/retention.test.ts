import { describe, expect, it } from 'vitest';
import { expiredPoints, RETAIN_FOREVER, type RetainedPoint } from '../../src/domain/retention.ts';
import { DAYS_OF_WEEK, type DayOfWeek, type FullRetention, type SqlPolicy } from '../../src/domain/policy/types.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const at = (s: string) => new Date(s);
const day = (d: Date) => d.toISOString().slice(0, 10);

// ---------------------------------------------------------------------------------------------------------------------
// Fixtures: a policy, and a timeline of backups with consistent LSNs (LSN = minutes since the epoch × 10).

function makePolicy(
  retention: FullRetention,
  opts: { zone?: string; fullDays?: DayOfWeek[]; diffDays?: number; logDays?: number } = {},
): SqlPolicy {
  const zone = opts.zone ?? 'UTC';
  const fullDays = opts.fullDays ?? [...DAYS_OF_WEEK];
  return {
    timeZone: zone,
    ianaTimeZone: zone,
    compression: false,
    full: { frequency: fullDays.length === 7 ? 'Daily' : 'Weekly', days: fullDays, times: ['22:00'], retention },
    ...(opts.diffDays !== undefined && {
      differential: {
        days: DAYS_OF_WEEK.filter((d) => !fullDays.includes(d)),
        times: ['22:00'],
        retentionDays: opts.diffDays,
      },
    }),
    ...(opts.logDays !== undefined && { log: { frequencyMinutes: 15, retentionDays: opts.logDays } }),
    wire: { dates: { full: '2024-01-01' }, order: ['Full', 'Differential', 'Log'] },
  };
}

const lsn = (ms: number) => BigInt(Math.floor(ms / MINUTE)) * 10n;

interface Timeline {
  /** From (inclusive) to (exclusive), UTC. */
  from: string;
  to: string;
  /** UTC weekdays the Full runs (22:00 UTC unless `fullHourUtc`), others get a Differential when `diffs`. */
  fullDays: DayOfWeek[];
  fullHourUtc?: number;
  diffs?: boolean;
  /** Log frequency in minutes (logs start after the first Full). */
  logMinutes?: number;
}

/** Every backup of the timeline, in endTime order. Full/Diff take 10 minutes; logs cover the previous N minutes. */
function timeline(t: Timeline): RetainedPoint[] {
  const points: RetainedPoint[] = [];
  const start = at(t.from).getTime();
  const end = at(t.to).getTime();
  let lastFullCheckpoint: bigint | undefined;
  const hour = t.fullHourUtc ?? 22;
  for (let d = start; d < end; d += DAY) {
    const run = d + hour * HOUR;
    const weekday = DAYS_OF_WEEK[new Date(d).getUTCDay()] as DayOfWeek;
    const isFull = t.fullDays.includes(weekday);
    if (!isFull && !(t.diffs && lastFullCheckpoint !== undefined)) continue;
    const type = isFull ? 'Full' : 'Differential';
    const checkpointLsn = lsn(run) + 1n;
    points.push({
      id: `${type === 'Full' ? 'F' : 'D'}-${new Date(run).toISOString()}`,
      type,
      isOnDemand: false,
      firstLsn: lsn(run),
      lastLsn: lsn(run + 10 * MINUTE),
      checkpointLsn,
      databaseBackupLsn: lastFullCheckpoint ?? 0n,
      ...(type === 'Differential' && { differentialBaseLsn: lastFullCheckpoint }),
      startTime: new Date(run),
      endTime: new Date(run + 10 * MINUTE),
    });
    if (isFull) lastFullCheckpoint = checkpointLsn;
  }
  const firstFull = points.find((p) => p.type === 'Full');
  if (t.logMinutes !== undefined && firstFull) {
    const step = t.logMinutes * MINUTE;
    for (let e = firstFull.startTime.getTime() + step; e < end; e += step) {
      points.push({
        id: `L-${new Date(e).toISOString()}`,
        type: 'Log',
        isOnDemand: false,
        firstLsn: lsn(e - step),
        lastLsn: lsn(e),
        checkpointLsn: 0n,
        databaseBackupLsn: 0n,
        startTime: new Date(e - step),
        endTime: new Date(e),
      });
    }
  }
  return points.sort((a, b) => a.endTime.getTime() - b.endTime.getTime());
}

function keptFullDays(points: RetainedPoint[], policy: SqlPolicy | null, now: Date): string[] {
  const { expire } = expiredPoints(points, policy, now);
  const gone = new Set(expire);
  return points.filter((p) => p.type === 'Full' && !gone.has(p.id)).map((p) => day(p.startTime));
}

/** Independent check that each retained point can be restored from retained points only. */
function assertRestorable(retained: RetainedPoint[]): void {
  const fullsByCheckpoint = new Set(retained.filter((p) => p.type === 'Full').map((p) => p.checkpointLsn));
  const bases = retained.filter((p) => p.type === 'Full' || p.type === 'Differential');
  const logsByLast = new Map(retained.filter((p) => p.type === 'Log').map((p) => [p.lastLsn, p]));
  for (const p of retained) {
    if (p.type === 'Differential')
      expect(fullsByCheckpoint.has(p.differentialBaseLsn ?? -1n), `base of ${p.id}`).toBe(true);
    if (p.type !== 'Log') continue;
    let x: RetainedPoint | undefined = p;
    let anchored = false;
    while (x !== undefined) {
      const log: RetainedPoint = x;
      if (bases.some((b) => log.firstLsn <= b.lastLsn && b.lastLsn <= log.lastLsn)) {
        anchored = true;
        break;
      }
      x = logsByLast.get(log.firstLsn);
    }
    expect(anchored, `log ${p.id} has a retained base`).toBe(true);
  }
}

// ---------------------------------------------------------------------------------------------------------------------

describe('expiredPoints: long-term Full rules', () => {
  const cases: { name: string; retention: FullRetention; zone?: string; tl: Timeline; now: string; kept: string[] }[] =
    [
      {
        name: 'daily only: the last 7 days',
        retention: { daily: { days: 7 } },
        tl: { from: '2026-02-20T00:00:00Z', to: '2026-03-10T00:00:00Z', fullDays: [...DAYS_OF_WEEK] },
        now: '2026-03-10T03:00:00Z',
        kept: ['2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09'],
      },
      {
        name: 'weekly Sunday ×4 + monthly First Sunday ×3 + yearly January First Sunday ×2',
        retention: {
          weekly: { weeks: 4, daysOfTheWeek: ['Sunday'] },
          monthly: { months: 3, pattern: { format: 'Weekly', daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['First'] } },
          yearly: {
            years: 2,
            monthsOfYear: ['January'],
            pattern: { format: 'Weekly', daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['First'] },
          },
        },
        tl: { from: '2023-06-01T00:00:00Z', to: '2026-06-15T00:00:00Z', fullDays: ['Sunday'] },
        now: '2026-06-15T12:00:00Z',
        kept: [
          '2025-01-05',
          '2026-01-04',
          '2026-04-05',
          '2026-05-03',
          '2026-05-24',
          '2026-05-31',
          '2026-06-07',
          '2026-06-14',
        ],
      },
      {
        name: 'monthly Last Sunday ×2 (Weekly format)',
        retention: {
          weekly: { weeks: 1, daysOfTheWeek: ['Sunday'] },
          monthly: { months: 2, pattern: { format: 'Weekly', daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['Last'] } },
        },
        tl: { from: '2026-01-01T00:00:00Z', to: '2026-06-15T00:00:00Z', fullDays: ['Sunday'] },
        now: '2026-06-15T12:00:00Z',
        kept: ['2026-04-26', '2026-05-31', '2026-06-14'],
      },
      {
        name: 'Daily-format monthly: day 1 and Last, ×2, with daily 7',
        retention: {
          daily: { days: 7 },
          monthly: { months: 2, pattern: { format: 'Daily', daysOfTheMonth: [1, 'Last'] } },
        },
        tl: { from: '2026-03-01T00:00:00Z', to: '2026-06-15T00:00:00Z', fullDays: [...DAYS_OF_WEEK] },
        now: '2026-06-15T12:00:00Z',
        kept: [
          '2026-04-30',
          '2026-05-01',
          '2026-05-31',
          '2026-06-01',
          ...['08', '09', '10', '11', '12', '13', '14'].map((d) => `2026-06-${d}`),
        ],
      },
      {
        name: 'Daily-format yearly: February Last (leap year) ×3',
        retention: {
          daily: { days: 7 },
          yearly: { years: 3, monthsOfYear: ['February'], pattern: { format: 'Daily', daysOfTheMonth: ['Last'] } },
        },
        tl: { from: '2023-01-01T00:00:00Z', to: '2026-03-10T00:00:00Z', fullDays: [...DAYS_OF_WEEK] },
        now: '2026-03-10T03:00:00Z',
        kept: [
          '2024-02-29',
          '2025-02-28',
          '2026-02-28',
          '2026-03-03',
          '2026-03-04',
          '2026-03-05',
          '2026-03-06',
          '2026-03-07',
          '2026-03-08',
          '2026-03-09',
        ],
      },
      {
        // 20:00 UTC on a Saturday is 05:00 on Sunday in Tokyo: the policy's zone decides the weekday.
        name: 'weekly Sunday ×2 in Asia/Tokyo',
        retention: { weekly: { weeks: 2, daysOfTheWeek: ['Sunday'] } },
        zone: 'Asia/Tokyo',
        tl: { from: '2026-05-01T00:00:00Z', to: '2026-06-15T00:00:00Z', fullDays: [...DAYS_OF_WEEK], fullHourUtc: 20 },
        now: '2026-06-15T00:00:00Z',
        kept: ['2026-06-06', '2026-06-13'],
      },
    ];
  it.each(cases)('$name', ({ retention, zone, tl, now, kept }) => {
    const policy = makePolicy(retention, { zone, fullDays: tl.fullDays });
    expect(keptFullDays(timeline(tl), policy, at(now))).toEqual(kept);
  });

  it('expires a Full at exactly its time + duration', () => {
    const policy = makePolicy({ daily: { days: 7 } });
    const points = timeline({ from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', fullDays: [...DAYS_OF_WEEK] });
    expect(expiredPoints(points, policy, at('2026-03-08T21:59:59.999Z')).expire).toEqual([]);
    expect(expiredPoints(points, policy, at('2026-03-08T22:00:00Z')).expire).toEqual(['F-2026-03-01T22:00:00.000Z']);
  });

  it('records every rule that keeps a Full', () => {
    const policy = makePolicy(
      {
        weekly: { weeks: 4, daysOfTheWeek: ['Sunday'] },
        monthly: { months: 3, pattern: { format: 'Weekly', daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['First'] } },
      },
      { fullDays: ['Sunday'] },
    );
    const points = timeline({ from: '2026-06-01T00:00:00Z', to: '2026-06-15T00:00:00Z', fullDays: ['Sunday'] });
    const { keptBecause } = expiredPoints(points, policy, at('2026-06-15T12:00:00Z'));
    expect(keptBecause).toEqual({
      'F-2026-06-07T22:00:00.000Z': 'weekly, monthly',
      'F-2026-06-14T22:00:00.000Z': 'weekly',
    });
  });
});

describe('expiredPoints: on-demand, stopped protection', () => {
  const base = {
    firstLsn: 10n,
    lastLsn: 20n,
    checkpointLsn: 11n,
    databaseBackupLsn: 0n,
    startTime: at('2026-01-01T10:00:00Z'),
    endTime: at('2026-01-01T10:10:00Z'),
  };
  const points: RetainedPoint[] = [
    { ...base, id: 'past', type: 'Full', isOnDemand: true, expiresAt: at('2026-02-01T00:00:00Z') },
    { ...base, id: 'future', type: 'Full', isOnDemand: true, expiresAt: at('2026-04-01T00:00:00Z') },
    { ...base, id: 'copy-past', type: 'CopyOnlyFull', isOnDemand: true, expiresAt: at('2026-03-01T00:00:00Z') },
    { ...base, id: 'copy-future', type: 'CopyOnlyFull', isOnDemand: true, expiresAt: at('2026-03-01T00:00:00.001Z') },
    { ...base, id: 'no-expiry', type: 'CopyOnlyFull', isOnDemand: true },
  ];
  // Long-term rules never apply to on-demand points, even a daily rule that would cover them.
  const policy = makePolicy({ daily: { days: 9999 } });

  it('keeps on-demand points until their own expiry only', () => {
    const r = expiredPoints(points, policy, at('2026-03-01T00:00:00Z'));
    expect(r.expire).toEqual(['past', 'copy-past']);
    expect(r.keptBecause).toEqual({ future: 'on-demand', 'copy-future': 'on-demand', 'no-expiry': 'on-demand' });
  });

  it('expires nothing when protection is stopped with retain data', () => {
    const r = expiredPoints(points, null, at('2030-01-01T00:00:00Z'));
    expect(r.expire).toEqual([]);
    expect(Object.values(r.keptBecause)).toEqual(points.map(() => RETAIN_FOREVER));
  });

  it('keeps an expired on-demand Full while a retained log needs it', () => {
    const log: RetainedPoint = {
      ...base,
      id: 'log',
      type: 'Log',
      isOnDemand: false,
      firstLsn: 15n,
      lastLsn: 30n,
      checkpointLsn: 0n,
      startTime: at('2026-01-01T10:00:00Z'),
      endTime: at('2026-02-28T00:00:00Z'),
    };
    const r = expiredPoints(
      [points[0] as RetainedPoint, log],
      makePolicy({ daily: { days: 7 } }, { logDays: 7 }),
      at('2026-03-01T00:00:00Z'),
    );
    expect(r.expire).toEqual([]);
    expect(r.keptBecause).toEqual({ past: 'needed by log log', log: 'log retention' });
  });
});

describe('expiredPoints: differentials, logs and dependencies', () => {
  it('keeps differentials and logs by days, logs back to their base, and the bases they need', () => {
    // Weekly full Sunday 22:00, diffs Mon–Sat 22:00, 15-minute logs; diff 7 days, log 7 days; weekly 1 week.
    const policy = makePolicy(
      { weekly: { weeks: 1, daysOfTheWeek: ['Sunday'] } },
      { fullDays: ['Sunday'], diffDays: 7, logDays: 7 },
    );
    const now = at('2026-05-31T03:00:00Z'); // Sunday; log cut-off 2026-05-24T03:00 (Sunday), its segment starts at the Saturday diff
    const points = timeline({
      from: '2026-05-03T00:00:00Z',
      to: '2026-06-01T00:00:00Z',
      fullDays: ['Sunday'],
      diffs: true,
      logMinutes: 15,
    }).filter((p) => p.endTime <= now);
    const r = expiredPoints(points, policy, now);
    const gone = new Set(r.expire);
    const kept = points.filter((p) => !gone.has(p.id));

    expect(kept.filter((p) => p.type === 'Differential').map((p) => day(p.startTime))).toEqual([
      '2026-05-23', // needed by the oldest retained logs
      '2026-05-25',
      '2026-05-26',
      '2026-05-27',
      '2026-05-28',
      '2026-05-29',
      '2026-05-30',
    ]);
    expect(r.keptBecause['D-2026-05-23T22:00:00.000Z']).toMatch(/^needed by log L-2026-05-24T/);
    expect(r.keptBecause['D-2026-05-25T22:00:00.000Z']).toBe('differential retention');
    // Fulls: the 1-week weekly one, and the one the 23 May diff is based on.
    expect(kept.filter((p) => p.type === 'Full').map((p) => [day(p.startTime), r.keptBecause[p.id]])).toEqual([
      ['2026-05-17', 'needed by differential D-2026-05-23T22:00:00.000Z'],
      ['2026-05-24', 'weekly'],
    ]);
    // Logs: everything after the cut-off, plus the segment from the 23 May diff (first log covering it: 22:15).
    const logs = kept.filter((p) => p.type === 'Log');
    expect(logs[0]?.id).toBe('L-2026-05-23T22:15:00.000Z');
    expect(r.keptBecause['L-2026-05-23T22:15:00.000Z']).toBe('needed by log L-2026-05-24T22:00:00.000Z');
    expect(r.keptBecause['L-2026-05-24T03:15:00.000Z']).toBe('log retention');
    expect(r.keptBecause['L-2026-05-24T03:00:00.000Z']).toBe('needed by log L-2026-05-24T22:00:00.000Z');
    expect(logs.length).toBe((now.getTime() - at('2026-05-23T22:15:00Z').getTime()) / (15 * MINUTE) + 1);
    expect(
      points.filter((p) => p.type === 'Log' && p.endTime.getTime() >= at('2026-05-23T22:15:00Z').getTime()).length,
    ).toBe(logs.length);
    assertRestorable(kept);
  });

  it('keeps a weekly Full 7 + 30 days when logs are kept 30 days (as Azure documents)', () => {
    const policy = makePolicy(
      { weekly: { weeks: 1, daysOfTheWeek: ['Sunday'] } },
      { fullDays: ['Sunday'], logDays: 30 },
    );
    const points = timeline({
      from: '2026-01-04T00:00:00Z',
      to: '2026-01-12T00:00:00Z',
      fullDays: ['Sunday'],
      logMinutes: 15,
    });
    const f0 = 'F-2026-01-04T22:00:00.000Z';
    const lastDependent = 'L-2026-01-11T22:00:00.000Z'; // the next log (22:15) covers the next Full's lastLsn
    // Past its own week, kept by its logs.
    const before = expiredPoints(points, policy, new Date(at('2026-01-04T22:00:00Z').getTime() + 37 * DAY - 1));
    expect(before.keptBecause[f0]).toBe(`needed by log ${lastDependent}`);
    expect(before.keptBecause['L-2026-01-05T00:00:00.000Z']).toBe(`needed by log ${lastDependent}`);
    expect(before.keptBecause['F-2026-01-11T22:00:00.000Z']).toBe('needed by log L-2026-01-11T23:45:00.000Z');
    // At 7 + 30 days the whole segment and its Full go together; the next Full's segment stays.
    const after = expiredPoints(points, policy, new Date(at('2026-01-04T22:00:00Z').getTime() + 37 * DAY));
    expect(after.expire).toContain(f0);
    expect(after.expire).toContain(lastDependent);
    expect(after.expire).toHaveLength(1 + 7 * 96);
    expect(after.keptBecause['L-2026-01-11T22:15:00.000Z']).toBe('log retention');
  });
});

describe('expiredPoints: 400 days of a long-term policy, swept daily (issue 6 acceptance)', () => {
  it('keeps exactly the Fulls the policy names, and every retained point is restorable', () => {
    const weekly = { weeks: 12, daysOfTheWeek: ['Sunday'] as DayOfWeek[] };
    const firstSunday = {
      format: 'Weekly' as const,
      daysOfTheWeek: ['Sunday'] as DayOfWeek[],
      weeksOfTheMonth: ['First' as const],
    };
    const policy = makePolicy(
      {
        weekly,
        monthly: { months: 12, pattern: firstSunday },
        yearly: { years: 2, monthsOfYear: ['January'], pattern: firstSunday },
      },
      { fullDays: ['Sunday'], diffDays: 30, logDays: 15 },
    );
    const start = at('2025-01-05T00:00:00Z'); // a Sunday, the first of January 2025
    const all = timeline({
      from: '2025-01-05T00:00:00Z',
      to: '2026-02-10T00:00:00Z',
      fullDays: ['Sunday'],
      diffs: true,
      logMinutes: 15,
    });
    expect(all.length).toBeGreaterThan(38_000);

    let retained: RetainedPoint[] = [];
    let next = 0;
    let now = start;
    for (let d = 1; d <= 400; d++) {
      now = new Date(start.getTime() + d * DAY + 3 * HOUR); // the sweep runs daily at 03:00 UTC
      while (next < all.length && (all[next] as RetainedPoint).endTime.getTime() <= now.getTime())
        retained.push(all[next++] as RetainedPoint);
      const gone = new Set(expiredPoints(retained, policy, now).expire);
      retained = retained.filter((p) => !gone.has(p.id));
      if (d % 50 === 0 || d === 400) assertRestorable(retained);
    }
    expect(now.toISOString()).toBe('2026-02-09T03:00:00.000Z');

    // Expected, from the rules, by hand:
    const last12Sundays = [
      '2025-11-23',
      '2025-11-30',
      '2025-12-07',
      '2025-12-14',
      '2025-12-21',
      '2025-12-28',
      '2026-01-04',
      '2026-01-11',
      '2026-01-18',
      '2026-01-25',
      '2026-02-01',
      '2026-02-08',
    ];
    // First Sundays after the cut-off 2025-02-09T03:00 (2 Feb 2025 is 7 days too old).
    const firstSundaysOf12Months = [
      '2025-03-02',
      '2025-04-06',
      '2025-05-04',
      '2025-06-01',
      '2025-07-06',
      '2025-08-03',
      '2025-09-07',
      '2025-10-05',
      '2025-11-02',
      '2025-12-07',
      '2026-01-04',
      '2026-02-01',
    ];
    const firstSundaysOfJanuaryIn2Years = ['2025-01-05', '2026-01-04'];
    // Dependencies: diffs are kept 30 days (from 2026-01-10T22:00, based on the 4 Jan Full), logs 15 days (their oldest
    // segment starts at the 24 Jan diff, based on the 18 Jan Full): both already in the weekly set.
    const neededByDiffsAndLogs = ['2026-01-04', '2026-01-18'];
    const expected = [
      ...new Set([
        ...last12Sundays,
        ...firstSundaysOf12Months,
        ...firstSundaysOfJanuaryIn2Years,
        ...neededByDiffsAndLogs,
      ]),
    ].sort();
    expect(expected).toHaveLength(12 + 12 + 2 - 4); // 7 Dec and 1 Feb are in two lists, 4 Jan in all three

    // The same set computed independently with plain UTC date arithmetic.
    const sundays = all.filter((p) => p.type === 'Full').map((p) => p.startTime);
    const within = (t: Date, cutoff: Date) => t.getTime() > cutoff.getTime();
    const independent = sundays
      .filter(
        (t) =>
          within(t, new Date(now.getTime() - 84 * DAY)) ||
          (t.getUTCDate() <= 7 && within(t, at('2025-02-09T03:00:00Z'))) ||
          (t.getUTCDate() <= 7 && t.getUTCMonth() === 0 && within(t, at('2024-02-09T03:00:00Z'))),
      )
      .map(day);
    expect(independent).toEqual(expected);

    expect(retained.filter((p) => p.type === 'Full').map((p) => day(p.startTime))).toEqual(expected);
    const diffs = retained.filter((p) => p.type === 'Differential');
    expect(diffs[0]?.id).toBe('D-2026-01-10T22:00:00.000Z');
    expect(diffs).toHaveLength(
      all.filter(
        (p) =>
          p.type === 'Differential' &&
          p.startTime.getTime() >= at('2026-01-10T22:00:00Z').getTime() &&
          p.endTime <= now,
      ).length,
    );
    const logs = retained.filter((p) => p.type === 'Log');
    expect(logs[0]?.id).toBe('L-2026-01-24T22:15:00.000Z');
    expect(logs).toHaveLength((now.getTime() - at('2026-01-24T22:15:00Z').getTime()) / (15 * MINUTE) + 1);
    assertRestorable(retained);
  });
});
