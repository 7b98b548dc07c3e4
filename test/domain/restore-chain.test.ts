import { describe, expect, it } from 'vitest';
import { at, DAY, SqlServer, T0, Vault } from '../support/sql-chain-model.ts';
import {
  type BackupType,
  type CommittedPoint,
  effectiveBackupType,
  logTimeRanges,
  type TimeRange,
} from '../../src/domain/backup-chain.ts';
import { ArmError } from '../../src/domain/errors.ts';
import {
  indexRestorePoints,
  POINT_NOT_IN_RANGE,
  type RestorePlan,
  restoreChainForPoint,
  restoreChainForPointInTime,
} from '../../src/domain/restore-chain.ts';

// ---------------------------------------------------------------------------------------------------------------------
// The small SQL Server of backup-chain.test.ts (the reference agent's conventions): at minute m the newest transaction
// has LSN lsnAt(m); a Full/Differential/CopyOnlyFull has firstLsn = checkpointLsn = lsnAt(m), lastLsn = lsnAt(m) + 1;
// a log runs from where SQL Server's log chain stands to lsnAt(m) + 1. A backup the vault never sees opens a gap.

const sec = (minute: number, seconds: number) => new Date(T0 + minute * 60_000 + seconds * 1000);

function thrown(fn: () => unknown): ArmError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ArmError) return e;
    throw e;
  }
  throw new Error('expected an ArmError, nothing was thrown');
}

const ids = (plan: RestorePlan) => plan.parts.map((p) => p.id);

/** Full at minute 0, then 15-minute logs through `minutes`; `extra(m)` runs before the log at minute m. */
function history(minutes: number, extra: (m: number, sql: SqlServer, vault: Vault) => void = () => {}) {
  const sql = new SqlServer((type, minute, seq) => `${type.toLowerCase()}-${minute}-${seq}`);
  const vault = new Vault();
  vault.commit(sql.backup('Full', 0));
  for (let m = 15; m <= minutes; m += 15) {
    extra(m, sql, vault);
    if (sql.hasLogChain) vault.commit(sql.backup('Log', m));
  }
  return {
    sql,
    vault,
    id: (type: BackupType, minute: number) =>
      vault.points.find((p) => p.type === type && p.endTime.getTime() === at(minute).getTime())!.id,
  };
}

const logIds = (h: ReturnType<typeof history>, from: number, to: number) => {
  const out: string[] = [];
  for (let m = from; m <= to; m += 15) out.push(h.id('Log', m));
  return out;
};

// ---------------------------------------------------------------------------------------------------------------------

describe('restoreChainForPointInTime: one unbroken chain', () => {
  const h = history(120);
  const F = h.id('Full', 0);

  it.each([
    ['inside a log', sec(40, 17), [15, 45]],
    ['the range start (inclusive): the full itself', at(0), [15, 15]],
    ['the first second after the range start', sec(0, 1), [15, 15]],
    ['exactly a log boundary: the earlier log is the last one', at(30), [15, 30]],
    ['one second after a log boundary', sec(30, 1), [15, 45]],
    ['the range end (inclusive)', at(120), [15, 120]],
  ] as const)('%s', (_name, t, [from, to]) => {
    const plan = restoreChainForPointInTime(h.vault.points, t);
    expect(ids(plan)).toEqual([F, ...logIds(h, from, to)]);
    expect(plan.pointInTime).toEqual(t);
  });

  it.each([
    ['one second before the range start', sec(0, -1)],
    ['one second after the range end', sec(120, 1)],
    ['one millisecond after the range end', new Date(at(120).getTime() + 1)],
    ['years later', at(400 * DAY)],
  ])('%s → 400 listing the range', (_name, t) => {
    const error = thrown(() => restoreChainForPointInTime(h.vault.points, t));
    expect(error).toMatchObject({ statusCode: 400, code: POINT_NOT_IN_RANGE });
    expect(error.message).toContain(t.toISOString());
    expect(error.message).toContain(`${at(0).toISOString()} – ${at(120).toISOString()}`);
  });

  it('time zones do not matter: the same instant written with an offset gives the same plan', () => {
    const utc = restoreChainForPointInTime(h.vault.points, new Date('2026-03-01T00:40:17Z'));
    const offset = restoreChainForPointInTime(h.vault.points, new Date('2026-03-01T02:40:17+02:00'));
    const behind = restoreChainForPointInTime(h.vault.points, new Date('2026-02-28T19:40:17-05:00'));
    expect(ids(offset)).toEqual(ids(utc));
    expect(ids(behind)).toEqual(ids(utc));
    expect(offset.pointInTime).toEqual(utc.pointInTime);
  });

  it('does not depend on the order of the points, and an index gives the same plans', () => {
    const shuffled = [...h.vault.points].reverse();
    const index = indexRestorePoints(shuffled);
    for (const t of [at(0), sec(40, 17), at(120)]) {
      const expected = ids(restoreChainForPointInTime(h.vault.points, t));
      expect(ids(restoreChainForPointInTime(shuffled, t))).toEqual(expected);
      expect(ids(restoreChainForPointInTime(index, t))).toEqual(expected);
    }
  });

  it('an invalid date → 400 BMSUserErrorInvalidInput', () => {
    expect(thrown(() => restoreChainForPointInTime(h.vault.points, new Date(NaN)))).toMatchObject({
      statusCode: 400,
      code: 'BMSUserErrorInvalidInput',
    });
  });
});

describe('restoreChainForPointInTime: bases', () => {
  it('a full in the middle of the log chain: the latest full at or before the point (fewer logs)', () => {
    const h = history(120, (m, sql, vault) => {
      if (m === 60) vault.commit(sql.backup('Full', 60));
    });
    const [F0, F60] = [h.id('Full', 0), h.id('Full', 60)];
    expect(logTimeRanges(h.vault.points)).toEqual([{ startTime: at(0), endTime: at(120) }]);
    expect(ids(restoreChainForPointInTime(h.vault.points, sec(59, 59)))).toEqual([F0, ...logIds(h, 15, 60)]);
    // Exactly at the full: the full, and the log ending there (it covers the full's lastLsn).
    expect(ids(restoreChainForPointInTime(h.vault.points, at(60)))).toEqual([F60, h.id('Log', 60)]);
    // After it: the log ending at the full's lastLsn holds nothing the full lacks, so it is skipped.
    expect(ids(restoreChainForPointInTime(h.vault.points, sec(60, 1)))).toEqual([F60, h.id('Log', 75)]);
    expect(ids(restoreChainForPointInTime(h.vault.points, at(100)))).toEqual([F60, ...logIds(h, 75, 105)]);
  });

  it('the latest differential based on the full, at or before the point', () => {
    const h = history(120, (m, sql, vault) => {
      if (m === 30 || m === 90) vault.commit(sql.backup('Differential', m));
    });
    const [F, D30, D90] = [h.id('Full', 0), h.id('Differential', 30), h.id('Differential', 90)];
    expect(ids(restoreChainForPointInTime(h.vault.points, at(20)))).toEqual([F, ...logIds(h, 15, 30)]);
    expect(ids(restoreChainForPointInTime(h.vault.points, at(30)))).toEqual([F, D30, h.id('Log', 30)]);
    expect(ids(restoreChainForPointInTime(h.vault.points, sec(44, 59)))).toEqual([F, D30, h.id('Log', 45)]);
    expect(ids(restoreChainForPointInTime(h.vault.points, sec(89, 59)))).toEqual([F, D30, ...logIds(h, 45, 90)]);
    expect(ids(restoreChainForPointInTime(h.vault.points, at(100)))).toEqual([F, D90, h.id('Log', 105)]);
  });

  it('a differential of an older full is not used after a newer full', () => {
    const h = history(120, (m, sql, vault) => {
      if (m === 30) vault.commit(sql.backup('Differential', 30));
      if (m === 60) vault.commit(sql.backup('Full', 60));
    });
    expect(ids(restoreChainForPointInTime(h.vault.points, at(70)))).toEqual([h.id('Full', 60), h.id('Log', 75)]);
  });

  it('a copy-only full is never a base', () => {
    const h = history(120, (m, sql, vault) => {
      if (m === 60) vault.commit(sql.backup('CopyOnlyFull', 60));
    });
    expect(ids(restoreChainForPointInTime(h.vault.points, at(70)))).toEqual([h.id('Full', 0), ...logIds(h, 15, 75)]);
    expect(ids(restoreChainForPoint(h.vault.points, h.id('CopyOnlyFull', 60)))).toEqual([h.id('CopyOnlyFull', 60)]);
  });

  it('a copy-only full alone publishes no range, so no point in time', () => {
    const sql = new SqlServer((type, minute, seq) => `${type.toLowerCase()}-${minute}-${seq}`);
    const c = sql.backup('CopyOnlyFull', 0);
    const error = thrown(() => restoreChainForPointInTime([c], at(0)));
    expect(error).toMatchObject({ statusCode: 400, code: POINT_NOT_IN_RANGE });
    expect(error.message).toContain('no log backup time range');
  });
});

describe('restoreChainForPointInTime: chain breaks', () => {
  /** fullThenLogs(120); a foreign log at 130; the rejected log at 135; the healing full at 150; logs 165 and 180. */
  function healed() {
    const h = history(120);
    h.sql.backup('Log', 130);
    expect(() => h.vault.commit(h.sql.backup('Log', 135))).toThrow(ArmError);
    h.vault.commit(h.sql.backup('Full', 150));
    h.vault.commit(h.sql.backup('Log', 165));
    h.vault.commit(h.sql.backup('Log', 180));
    return h;
  }

  it('each range restores from its own base and logs', () => {
    const h = healed();
    expect(logTimeRanges(h.vault.points)).toEqual([
      { startTime: at(0), endTime: at(120) },
      { startTime: at(150), endTime: at(180) },
    ]);
    expect(ids(restoreChainForPointInTime(h.vault.points, at(120)))).toEqual([h.id('Full', 0), ...logIds(h, 15, 120)]);
    expect(ids(restoreChainForPointInTime(h.vault.points, at(150)))).toEqual([h.id('Full', 150), h.id('Log', 165)]);
    expect(ids(restoreChainForPointInTime(h.vault.points, sec(170, 30)))).toEqual([
      h.id('Full', 150),
      h.id('Log', 165),
      h.id('Log', 180),
    ]);
  });

  it.each([
    ['inside the gap', sec(135, 0)],
    ['the second after the first range', sec(120, 1)],
    ['the second before the healing full (inside the unreachable part of the log at 165)', sec(149, 59)],
  ])('%s → 400 listing both ranges', (_name, t) => {
    const error = thrown(() => restoreChainForPointInTime(healed().vault.points, t));
    expect(error).toMatchObject({ statusCode: 400, code: POINT_NOT_IN_RANGE });
    expect(error.message).toContain(
      `${at(0).toISOString()} – ${at(120).toISOString()}, ${at(150).toISOString()} – ${at(180).toISOString()}`,
    );
  });

  it('a differential restarts the chain after a SIMPLE → FULL switch; its full lies before the range', () => {
    const h = history(60);
    h.sql.breakLogChainBySimpleRecovery();
    h.vault.commit(h.sql.backup('Differential', 100));
    h.vault.commit(h.sql.backup('Log', 105));
    h.vault.commit(h.sql.backup('Log', 120));
    expect(ids(restoreChainForPointInTime(h.vault.points, at(100)))).toEqual([
      h.id('Full', 0),
      h.id('Differential', 100),
      h.id('Log', 105),
    ]);
    expect(ids(restoreChainForPointInTime(h.vault.points, sec(110, 5)))).toEqual([
      h.id('Full', 0),
      h.id('Differential', 100),
      h.id('Log', 105),
      h.id('Log', 120),
    ]);
    expect(thrown(() => restoreChainForPointInTime(h.vault.points, at(80))).code).toBe(POINT_NOT_IN_RANGE);
  });

  it('ranges sharing a boundary second: the later range (its newer base) is used at that second', () => {
    const points: CommittedPoint[] = [
      {
        id: 'F',
        type: 'Full',
        firstLsn: 100n,
        checkpointLsn: 100n,
        lastLsn: 101n,
        databaseBackupLsn: 0n,
        startTime: at(0),
        endTime: at(0),
      },
      {
        id: 'A',
        type: 'Log',
        firstLsn: 101n,
        lastLsn: 200n,
        checkpointLsn: 199n,
        databaseBackupLsn: 100n,
        startTime: at(0),
        endTime: at(60),
      },
      {
        id: 'G',
        type: 'Full',
        firstLsn: 259n,
        checkpointLsn: 259n,
        lastLsn: 260n,
        databaseBackupLsn: 100n,
        startTime: at(60),
        endTime: at(60),
      },
      {
        id: 'B',
        type: 'Log',
        firstLsn: 250n,
        lastLsn: 300n,
        checkpointLsn: 299n,
        databaseBackupLsn: 259n,
        startTime: at(55),
        endTime: at(75),
      },
    ];
    expect(logTimeRanges(points)).toEqual([
      { startTime: at(0), endTime: at(60) },
      { startTime: at(60), endTime: at(75) },
    ]);
    expect(ids(restoreChainForPointInTime(points, sec(59, 59)))).toEqual(['F', 'A']);
    expect(ids(restoreChainForPointInTime(points, at(60)))).toEqual(['G', 'B']);
    expect(ids(restoreChainForPointInTime(points, at(75)))).toEqual(['G', 'B']);
  });

  it('logs whose full expired publish nothing; the later range starts at the next full', () => {
    const sql = new SqlServer((type, minute, seq) => `${type.toLowerCase()}-${minute}-${seq}`);
    sql.backup('Full', 0); // expired
    const points: CommittedPoint[] = [];
    for (let m = 15; m <= 60; m += 15) points.push(sql.backup('Log', m));
    points.push(sql.backup('Full', 70), sql.backup('Log', 75), sql.backup('Log', 90));
    expect(thrown(() => restoreChainForPointInTime(points, at(30))).code).toBe(POINT_NOT_IN_RANGE);
    expect(ids(restoreChainForPointInTime(points, at(80)))).toEqual([points[4]!.id, points[5]!.id, points[6]!.id]); // the log at 75 holds 70–75
  });

  it('many breaks (each healed by a full): every range restores from its own full', () => {
    const h = history(13 * 60, (m, sql, vault) => {
      if (m % 60 !== 0) return;
      sql.backup('Log', m - 5); // foreign: a break
      vault.commit(sql.backup('Full', m - 2));
    });
    const ranges = logTimeRanges(h.vault.points);
    expect(ranges).toHaveLength(14);
    const index = indexRestorePoints(h.vault.points);
    expect(index.segments.map((g) => ({ startTime: new Date(g.start), endTime: new Date(g.end) }))).toEqual(ranges);
    for (let hour = 1; hour <= 12; hour++) {
      const m = hour * 60;
      expect(ids(restoreChainForPointInTime(index, at(m - 2)))).toEqual([h.id('Full', m - 2), h.id('Log', m)]);
      expect(ids(restoreChainForPointInTime(index, sec(m + 20, 0)))).toEqual([
        h.id('Full', m - 2),
        h.id('Log', m),
        h.id('Log', m + 15),
        h.id('Log', m + 30),
      ]);
      expect(thrown(() => restoreChainForPointInTime(index, at(m - 3))).code).toBe(POINT_NOT_IN_RANGE);
    }
  });

  it('a range started by a differential whose full is gone → 400 UserErrorParentFullBackupMissing', () => {
    const h = history(60, (m, sql, vault) => {
      if (m === 30) vault.commit(sql.backup('Differential', 30));
    });
    const points = h.vault.points.filter((p) => p.type !== 'Full');
    expect(logTimeRanges(points)).toEqual([{ startTime: at(30), endTime: at(60) }]);
    expect(thrown(() => restoreChainForPointInTime(points, at(45)))).toMatchObject({
      statusCode: 400,
      code: 'UserErrorParentFullBackupMissing',
    });
  });
});

describe('restoreChainForPoint (discrete)', () => {
  const h = history(60, (m, sql, vault) => {
    if (m === 30) vault.commit(sql.backup('Differential', 30));
    if (m === 45) vault.commit(sql.backup('CopyOnlyFull', 45));
  });
  const index = indexRestorePoints(h.vault.points);

  it.each([
    ['a full: itself', () => h.id('Full', 0), () => [h.id('Full', 0)]],
    ['a copy-only full: itself', () => h.id('CopyOnlyFull', 45), () => [h.id('CopyOnlyFull', 45)]],
    [
      'a differential: its base full, then itself',
      () => h.id('Differential', 30),
      () => [h.id('Full', 0), h.id('Differential', 30)],
    ],
  ])('%s', (_name, id, expected) => {
    expect(ids(restoreChainForPoint(h.vault.points, id()))).toEqual(expected());
    expect(ids(restoreChainForPoint(index, id()))).toEqual(expected());
    expect(restoreChainForPoint(index, id()).pointInTime).toBeUndefined();
  });

  it('a log → 400; an unknown id → 404; a differential without its full → 400 UserErrorParentFullBackupMissing', () => {
    expect(thrown(() => restoreChainForPoint(h.vault.points, h.id('Log', 15)))).toMatchObject({
      statusCode: 400,
      code: 'BMSUserErrorInvalidInput',
    });
    expect(thrown(() => restoreChainForPoint(index, 'nope'))).toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
    });
    const orphan = h.vault.points.filter((p) => p.type !== 'Full');
    expect(thrown(() => restoreChainForPoint(orphan, h.id('Differential', 30)))).toMatchObject({
      statusCode: 400,
      code: 'UserErrorParentFullBackupMissing',
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Randomized: a vault fed by a schedule with breaks (foreign logs, SIMPLE switches), on-demand and copy-only fulls.

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomVault(seed: number, days: number) {
  const rnd = mulberry32(seed);
  const sql = new SqlServer((type, minute, seq) => `${type.toLowerCase()}-${minute}-${seq}`);
  const vault = new Vault();
  let broken = false;
  const tryCommit = (p: CommittedPoint) => {
    try {
      vault.commit(p);
      if (p.type === 'Full') broken = false;
    } catch (e) {
      if (!(e instanceof ArmError)) throw e;
      broken = true;
    }
  };
  const scheduled = (type: 'Full' | 'Differential' | 'Log', m: number) => {
    const effective = effectiveBackupType(type, vault.state, at(m), { chainBroken: broken }).type;
    if (effective === 'Log' && !sql.hasLogChain) return; // SIMPLE recovery: the log schedule pauses
    tryCommit(sql.backup(effective, m));
  };
  for (let m = 0; m <= days * DAY; m += 15) {
    if (m % DAY === 0) scheduled(m % (7 * DAY) === 0 ? 'Full' : 'Differential', m);
    if (m > 0) scheduled('Log', m);
    const r = rnd();
    const when = m + 1 + Math.floor(rnd() * 13);
    if (r < 0.01 && sql.hasLogChain)
      sql.backup('Log', when); // foreign log backup: a break
    else if (r < 0.015) sql.breakLogChainBySimpleRecovery();
    else if (r < 0.03)
      tryCommit(sql.backup('Full', when)); // on-demand full, mid-chain
    else if (r < 0.04) tryCommit(sql.backup('CopyOnlyFull', when));
    else if (r < 0.05 && vault.state.lastFull) tryCommit(sql.backup('Differential', when));
  }
  return { vault, rnd };
}

/** Every property a plan for `t` must have, checked against the points directly. */
function checkPlan(points: CommittedPoint[], t: Date, plan: RestorePlan): void {
  const time = t.getTime();
  const [full, ...rest] = plan.parts;
  expect(plan.pointInTime).toEqual(t);
  expect(full!.type).toBe('Full');
  expect(full!.endTime.getTime()).toBeLessThanOrEqual(time);
  // The latest full at or before the point (every full in these histories starts or continues a range).
  const laterFull = points.find(
    (p) =>
      p.type === 'Full' && p !== full && p.endTime.getTime() <= time && p.endTime.getTime() > full!.endTime.getTime(),
  );
  expect(laterFull).toBeUndefined();
  let start = full!;
  if (rest[0]?.type === 'Differential') {
    const diff = rest.shift()!;
    expect(diff.differentialBaseLsn).toBe(full!.checkpointLsn);
    expect(diff.endTime.getTime()).toBeLessThanOrEqual(time);
    const laterDiff = points.find(
      (p) =>
        p.type === 'Differential' &&
        p.differentialBaseLsn === full!.checkpointLsn &&
        p.endTime.getTime() <= time &&
        p.endTime.getTime() > diff.endTime.getTime(),
    );
    expect(laterDiff).toBeUndefined();
    start = diff;
  } else {
    // No differential of this full at or before the point was skipped.
    expect(
      points.find(
        (p) =>
          p.type === 'Differential' && p.differentialBaseLsn === full!.checkpointLsn && p.endTime.getTime() <= time,
      ),
    ).toBeUndefined();
  }
  expect(rest.length).toBeGreaterThan(0);
  expect(rest.every((p) => p.type === 'Log')).toBe(true);
  expect(rest[0]!.firstLsn <= start.lastLsn && start.lastLsn <= rest[0]!.lastLsn).toBe(true);
  for (let i = 1; i < rest.length; i++) expect(rest[i]!.firstLsn).toBe(rest[i - 1]!.lastLsn);
  const last = rest[rest.length - 1]!;
  expect(last.startTime.getTime()).toBeLessThanOrEqual(time);
  expect(last.endTime.getTime()).toBeGreaterThanOrEqual(time);
}

const inAny = (ranges: TimeRange[], time: number) =>
  ranges.some((r) => r.startTime.getTime() <= time && time <= r.endTime.getTime());

describe('randomized histories', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'seed %i: random seconds inside the ranges give consistent plans; outside → 400 listing the ranges',
    (seed) => {
      const { vault, rnd } = randomVault(seed, 10);
      const points = vault.points;
      const ranges = logTimeRanges(points);
      expect(ranges.length).toBeGreaterThan(1); // the history has breaks
      const index = indexRestorePoints([...points].sort(() => rnd() - 0.5));
      expect(index.segments.map((g) => ({ startTime: new Date(g.start), endTime: new Date(g.end) }))).toEqual(ranges);

      const inside: Date[] = ranges.flatMap((r) => [r.startTime, r.endTime]);
      for (let i = 0; i < 300; i++) {
        const r = ranges[Math.floor(rnd() * ranges.length)]!;
        const seconds = Math.floor((r.endTime.getTime() - r.startTime.getTime()) / 1000);
        inside.push(new Date(r.startTime.getTime() + Math.floor(rnd() * (seconds + 1)) * 1000));
      }
      for (const t of inside) {
        const plan = restoreChainForPointInTime(index, t);
        checkPlan(points, t, plan);
        expect(ids(restoreChainForPointInTime(points, t))).toEqual(ids(plan));
      }

      const first = ranges[0]!.startTime.getTime();
      const lastEnd = ranges[ranges.length - 1]!.endTime.getTime();
      const listing = ranges.map((r) => `${r.startTime.toISOString()} – ${r.endTime.toISOString()}`).join(', ');
      let outside = 0;
      for (let i = 0; i < 2000 && outside < 100; i++) {
        const time = first - 3_600_000 + Math.floor(rnd() * ((lastEnd - first) / 1000 + 7200)) * 1000;
        if (inAny(ranges, time)) continue;
        outside++;
        const error = thrown(() => restoreChainForPointInTime(index, new Date(time)));
        expect(error).toMatchObject({ statusCode: 400, code: POINT_NOT_IN_RANGE });
        expect(error.message).toContain(listing);
      }
      expect(outside).toBeGreaterThan(10);
    },
  );
});
