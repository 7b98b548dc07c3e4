import { describe, expect, it } from 'vitest';
import { at, DAY, lsnAt, SqlServer, Vault } from '../support/sql-chain-model.ts';
import {
  AUTO_HEAL_FULL_MAX_AGE_DAYS,
  type BackupType,
  chainStateOf,
  type ChainState,
  type CommittedPoint,
  effectiveBackupType,
  logTimeRanges,
  parseLsn,
  rpoBreached,
  typesForQuery,
  validateCommit,
} from '../../src/domain/backup-chain.ts';
import { ArmError } from '../../src/domain/errors.ts';

// ---------------------------------------------------------------------------------------------------------------------
// A small SQL Server, with the reference agent's conventions (src/agent/simulation/backup.ts): at minute m the newest
// transaction has LSN lsnAt(m); a Full/Differential/CopyOnlyFull has firstLsn = checkpointLsn = lsnAt(m) and
// lastLsn = lsnAt(m) + 1 (the first LSN not in it); a log runs from where SQL Server's log chain stands to lsnAt(m) + 1.
// SQL Server's chain moves whoever takes the backup, so a backup the vault never sees ("foreign") opens a gap.

function thrown(fn: () => unknown): ArmError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ArmError) return e;
    throw e;
  }
  throw new Error('expected an ArmError, nothing was thrown');
}

function point(type: BackupType, over: Partial<CommittedPoint> = {}): CommittedPoint {
  return {
    id: `${type}-x`,
    type,
    firstLsn: 100n,
    lastLsn: 101n,
    checkpointLsn: 100n,
    databaseBackupLsn: 0n,
    startTime: at(0),
    endTime: at(0),
    ...over,
  };
}

/** Full at minute 0, then 15-minute logs through `minutes`. */
function fullThenLogs(minutes: number): { sql: SqlServer; vault: Vault } {
  const sql = new SqlServer();
  const vault = new Vault();
  vault.commit(sql.backup('Full', 0));
  for (let m = 15; m <= minutes; m += 15) vault.commit(sql.backup('Log', m));
  return { sql, vault };
}

// ---------------------------------------------------------------------------------------------------------------------

describe('validateCommit and chainStateOf over a valid week', () => {
  it('accepts a week of Sunday full, daily differentials and 15-minute logs, and publishes one range', () => {
    const sql = new SqlServer();
    const vault = new Vault();
    for (let m = 0; m <= 7 * DAY; m += 15) {
      if (m % DAY === 0) vault.commit(sql.backup(m % (7 * DAY) === 0 ? 'Full' : 'Differential', m));
      if (m > 0) vault.commit(sql.backup('Log', m));
    }
    const counts = Object.fromEntries(
      ['Full', 'Differential', 'Log'].map((t) => [t, vault.points.filter((p) => p.type === t).length]),
    );
    expect(counts).toEqual({ Full: 2, Differential: 6, Log: 7 * 96 });

    const state = vault.state;
    expect(state.lastFull).toMatchObject({ type: 'Full', endTime: at(7 * DAY), checkpointLsn: lsnAt(7 * DAY) });
    expect(state.lastDifferential).toMatchObject({
      type: 'Differential',
      endTime: at(6 * DAY),
      differentialBaseLsn: lsnAt(0),
    });
    expect(state.lastLog).toMatchObject({ type: 'Log', endTime: at(7 * DAY), lastLsn: lsnAt(7 * DAY) + 1n });

    expect(logTimeRanges(vault.points)).toEqual([{ startTime: at(0), endTime: at(7 * DAY) }]);
    // A differential after the second full is based on the new full.
    expect(() => vault.commit(sql.backup('Differential', 7 * DAY + 60))).not.toThrow();
  });

  it('chainStateOf: latest by endTime whatever the array order; CopyOnlyFull is never lastFull; empty → {}', () => {
    const f1 = point('Full', { id: 'f1', endTime: at(0) });
    const f2 = point('Full', { id: 'f2', endTime: at(60) });
    const c = point('CopyOnlyFull', { id: 'c', endTime: at(120) });
    const l1 = point('Log', { id: 'l1', endTime: at(15) });
    const l2 = point('Log', { id: 'l2', endTime: at(30) });
    expect(chainStateOf([l2, f2, c, l1, f1])).toEqual({ lastFull: f2, lastLog: l2 });
    expect(chainStateOf([c])).toEqual({});
    expect(chainStateOf([])).toEqual({});
  });
});

describe('validateCommit failures', () => {
  /** Each case: the vault's points, then the incoming backup; the code and the LSNs the message must name. */
  const cases: {
    name: string;
    setup: () => { vault: Vault; incoming: CommittedPoint };
    code: string;
    lsns: bigint[];
  }[] = [
    {
      name: 'a log after a gap in the log chain (a log backup taken by another tool)',
      setup: () => {
        const { sql, vault } = fullThenLogs(60);
        sql.backup('Log', 75); // foreign
        return { vault, incoming: sql.backup('Log', 90) };
      },
      code: 'UserErrorSQLLSNValidationFailure',
      lsns: [lsnAt(60) + 1n /* expected: previous log's lastLsn */, lsnAt(75) + 1n /* received firstLsn */],
    },
    {
      name: 'the first log after a full that starts after the full (a foreign log took the start of the chain)',
      setup: () => {
        const sql = new SqlServer();
        const vault = new Vault();
        vault.commit(sql.backup('Full', 0));
        sql.backup('Log', 15); // foreign
        return { vault, incoming: sql.backup('Log', 30) };
      },
      code: 'UserErrorSQLLSNValidationFailure',
      lsns: [lsnAt(0) + 1n /* expected: covering the full's lastLsn */, lsnAt(15) + 1n],
    },
    {
      name: 'the first log after a full that ends before the full',
      setup: () => {
        const vault = new Vault();
        vault.commit(point('Full', { firstLsn: 500n, checkpointLsn: 500n, lastLsn: 501n }));
        return { vault, incoming: point('Log', { firstLsn: 100n, lastLsn: 499n }) };
      },
      code: 'UserErrorSQLLSNValidationFailure',
      lsns: [501n, 100n],
    },
    {
      name: 'a differential whose base is a full the vault never saw',
      setup: () => {
        const { sql, vault } = fullThenLogs(60);
        sql.backup('Full', 70); // foreign full: the new differential base
        return { vault, incoming: sql.backup('Differential', 90) };
      },
      code: 'UserErrorSQLLSNValidationFailure',
      lsns: [lsnAt(0) /* expected: the vault's full's checkpoint */, lsnAt(70)],
    },
    {
      name: 'a differential based on an older full after a newer one was committed',
      setup: () => {
        const vault = new Vault();
        vault.commit(point('Full', { id: 'old', firstLsn: 100n, checkpointLsn: 100n, lastLsn: 101n, endTime: at(0) }));
        vault.commit(
          point('Full', {
            id: 'new',
            firstLsn: 900n,
            checkpointLsn: 900n,
            lastLsn: 901n,
            startTime: at(60),
            endTime: at(60),
          }),
        );
        return {
          vault,
          incoming: point('Differential', {
            firstLsn: 950n,
            checkpointLsn: 950n,
            lastLsn: 951n,
            databaseBackupLsn: 100n,
            differentialBaseLsn: 100n,
          }),
        };
      },
      code: 'UserErrorSQLLSNValidationFailure',
      lsns: [900n, 100n],
    },
    {
      name: 'a differential with no differentialBaseLsn falls back to databaseBackupLsn',
      setup: () => {
        const vault = new Vault();
        vault.commit(point('Full', { firstLsn: 100n, checkpointLsn: 100n, lastLsn: 101n }));
        return {
          vault,
          incoming: point('Differential', {
            firstLsn: 300n,
            checkpointLsn: 300n,
            lastLsn: 301n,
            databaseBackupLsn: 77n,
          }),
        };
      },
      code: 'UserErrorSQLLSNValidationFailure',
      lsns: [100n, 77n],
    },
    {
      name: 'a log whose lastLsn is below its firstLsn',
      setup: () => {
        const { sql, vault } = fullThenLogs(15);
        const log = sql.backup('Log', 30);
        return { vault, incoming: { ...log, lastLsn: log.firstLsn - 1n } };
      },
      code: 'UserErrorSQLLSNValidationFailure',
      lsns: [lsnAt(15) + 1n, lsnAt(15)],
    },
    {
      name: 'a full whose lastLsn is below its firstLsn (sanity applies to every type)',
      setup: () => ({ vault: new Vault(), incoming: point('Full', { firstLsn: 500n, lastLsn: 400n }) }),
      code: 'UserErrorSQLLSNValidationFailure',
      lsns: [500n, 400n],
    },
    {
      name: 'a log whose endTime is before its startTime',
      setup: () => {
        const { sql, vault } = fullThenLogs(15);
        const log = sql.backup('Log', 30);
        return { vault, incoming: { ...log, startTime: at(30), endTime: at(15) } };
      },
      code: 'UserErrorSQLLSNValidationFailure',
      lsns: [lsnAt(15) + 1n, lsnAt(30) + 1n],
    },
    {
      name: 'a log with no full at all',
      setup: () => ({ vault: new Vault(), incoming: point('Log') }),
      code: 'UserErrorParentFullBackupMissing',
      lsns: [],
    },
    {
      name: 'a differential with no full at all',
      setup: () => ({ vault: new Vault(), incoming: point('Differential', { differentialBaseLsn: 100n }) }),
      code: 'UserErrorParentFullBackupMissing',
      lsns: [],
    },
    {
      name: 'a log when only a copy-only full exists',
      setup: () => {
        const vault = new Vault();
        vault.commit(point('CopyOnlyFull'));
        return { vault, incoming: point('Log', { firstLsn: 101n, lastLsn: 200n }) };
      },
      code: 'UserErrorParentFullBackupMissing',
      lsns: [],
    },
  ];

  it.each(cases)('$name → $code', ({ setup, code, lsns }) => {
    const { vault, incoming } = setup();
    const before = vault.points.length;
    const error = thrown(() => vault.commit(incoming));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe(code);
    for (const lsn of lsns) expect(error.message).toContain(String(lsn));
    expect(vault.points).toHaveLength(before);
  });

  it('names expected and received exactly for a log gap', () => {
    const { sql, vault } = fullThenLogs(30);
    sql.backup('Log', 45);
    const error = thrown(() => vault.commit(sql.backup('Log', 60)));
    expect(error.message).toContain(
      `expected firstLsn ${lsnAt(30) + 1n} (the last LSN of the previous log backup log-3)`,
    );
    expect(error.message).toContain(`covering LSN ${lsnAt(0) + 1n} (the last LSN of full backup full-1)`);
    expect(error.message).toContain(`received firstLsn ${lsnAt(45) + 1n} (lastLsn ${lsnAt(60) + 1n})`);
  });

  it('names expected and received exactly for a differential', () => {
    const vault = new Vault();
    vault.commit(point('Full', { id: 'F', checkpointLsn: 100n }));
    const error = thrown(() => vault.commit(point('Differential', { differentialBaseLsn: 99n })));
    expect(error.message).toContain(
      'expected differentialBaseLsn 100 (the checkpoint LSN of full backup F), received 99',
    );
  });

  it('Full and CopyOnlyFull pass every chain rule, even with no full and after a gap', () => {
    const { sql, vault } = fullThenLogs(30);
    sql.backup('Log', 45); // foreign: gap
    expect(() => vault.commit(sql.backup('CopyOnlyFull', 50))).not.toThrow();
    expect(() => vault.commit(sql.backup('Full', 55))).not.toThrow();
    expect(() => validateCommit({}, point('Full'))).not.toThrow();
    expect(() => validateCommit({}, point('CopyOnlyFull'))).not.toThrow();
  });

  it('accepts an empty log (no transactions: firstLsn = lastLsn)', () => {
    const { sql, vault } = fullThenLogs(15);
    const log = sql.backup('Log', 15);
    expect(log.firstLsn).toBe(log.lastLsn);
    expect(() => vault.commit(log)).not.toThrow();
  });
});

describe('copy-only fulls and fulls in the middle of a log chain', () => {
  it('a CopyOnlyFull is never a differential base and never breaks the chain', () => {
    const { sql, vault } = fullThenLogs(60);
    const copy = sql.backup('CopyOnlyFull', 70);
    vault.commit(copy);
    for (let m = 75; m <= 120; m += 15) vault.commit(sql.backup('Log', m));
    vault.commit(sql.backup('Differential', 130)); // based on the full at 0, not the copy
    expect(vault.state.lastFull?.id).toBe('full-1');

    const onCopy = thrown(() => vault.commit(point('Differential', { differentialBaseLsn: copy.checkpointLsn })));
    expect(onCopy.code).toBe('UserErrorSQLLSNValidationFailure');
    expect(onCopy.message).toContain(`expected differentialBaseLsn ${lsnAt(0)}`);
    expect(onCopy.message).toContain(`received ${lsnAt(70)}`);

    expect(logTimeRanges(vault.points)).toEqual([{ startTime: at(0), endTime: at(120) }]);
  });

  it('a log that only covers a CopyOnlyFull (not continuing the chain) is rejected', () => {
    const { sql, vault } = fullThenLogs(30);
    sql.backup('Log', 45); // foreign: gap
    vault.commit(sql.backup('CopyOnlyFull', 50));
    const error = thrown(() => vault.commit(sql.backup('Log', 60)));
    expect(error.code).toBe('UserErrorSQLLSNValidationFailure');
  });

  it('a full in the middle of a log chain does not break it: logs continue from the previous log', () => {
    const { sql, vault } = fullThenLogs(DAY);
    vault.commit(sql.backup('Full', DAY + 5));
    for (let m = DAY + 15; m <= 2 * DAY; m += 15) vault.commit(sql.backup('Log', m));
    const firstAfter = vault.points.find((p) => p.type === 'Log' && p.endTime.getTime() === at(DAY + 15).getTime());
    expect(firstAfter?.firstLsn).toBe(lsnAt(DAY) + 1n); // the previous log's lastLsn, not the full's
    expect(vault.state.lastFull?.endTime).toEqual(at(DAY + 5));
    expect(logTimeRanges(vault.points)).toEqual([{ startTime: at(0), endTime: at(2 * DAY) }]);
    // Differentials now need the new full.
    expect(thrown(() => vault.commit(point('Differential', { differentialBaseLsn: lsnAt(0) }))).code).toBe(
      'UserErrorSQLLSNValidationFailure',
    );
  });
});

describe('a broken chain healed by a full', () => {
  it('rejects the log after the gap, accepts the log covering the healing full, and splits the ranges exactly there', () => {
    const { sql, vault } = fullThenLogs(120);
    sql.backup('Log', 130); // foreign log: gap
    const rejected = sql.backup('Log', 135);
    expect(thrown(() => vault.commit(rejected)).code).toBe('UserErrorSQLLSNValidationFailure');

    // The next scheduled log heals into a Full; SQL Server's log chain does not move with it.
    const heal = effectiveBackupType('Log', vault.state, at(150), { chainBroken: true });
    expect(heal).toEqual({ type: 'Full', healedBecause: 'ChainBroken' });
    vault.commit(sql.backup(heal.type, 150));
    const next = sql.backup('Log', 165);
    expect(next.firstLsn).toBe(rejected.lastLsn); // neither the vault's last log nor the full
    expect(next.startTime).toEqual(at(135));
    vault.commit(next);
    vault.commit(sql.backup('Log', 180));

    expect(logTimeRanges(vault.points)).toEqual([
      { startTime: at(0), endTime: at(120) },
      { startTime: at(150), endTime: at(180) }, // from the healing full, not from the log's own start (135)
    ]);
  });

  it('a differential restarts the log chain after a SIMPLE → FULL switch', () => {
    const { sql, vault } = fullThenLogs(60);
    sql.breakLogChainBySimpleRecovery();
    vault.commit(sql.backup('Differential', 100));
    vault.commit(sql.backup('Log', 105));
    vault.commit(sql.backup('Log', 120));
    expect(logTimeRanges(vault.points)).toEqual([
      { startTime: at(0), endTime: at(60) },
      { startTime: at(100), endTime: at(120) },
    ]);
  });
});

describe('effectiveBackupType (auto-heal)', () => {
  const full = point('Full', { endTime: at(0) });
  const healthy: ChainState = { lastFull: full, lastLog: point('Log', { endTime: at(15) }) };
  const limit = AUTO_HEAL_FULL_MAX_AGE_DAYS * DAY;
  const ms = (minute: number, plus = 0) => new Date(at(minute).getTime() + plus);

  it.each([
    ['Full', {}, at(0), false, { type: 'Full' }],
    ['Full', healthy, at(0), true, { type: 'Full' }],
    ['Log', healthy, at(30), false, { type: 'Log' }],
    ['Differential', healthy, at(DAY), false, { type: 'Differential' }],
    ['Log', {}, at(30), false, { type: 'Full', healedBecause: 'NoFull' }],
    ['Differential', {}, at(30), false, { type: 'Full', healedBecause: 'NoFull' }],
    ['Log', chainStateOf([point('CopyOnlyFull')]), at(30), false, { type: 'Full', healedBecause: 'NoFull' }],
    ['Log', {}, ms(limit, 1), true, { type: 'Full', healedBecause: 'NoFull' }],
    ['Log', healthy, at(30), true, { type: 'Full', healedBecause: 'ChainBroken' }],
    ['Differential', healthy, at(DAY), true, { type: 'Full', healedBecause: 'ChainBroken' }],
    ['Log', healthy, ms(limit, 1), true, { type: 'Full', healedBecause: 'ChainBroken' }],
    ['Log', healthy, at(limit), false, { type: 'Log' }], // exactly 15 days: not older than 15 days
    ['Log', healthy, ms(limit, 1), false, { type: 'Full', healedBecause: 'FullTooOld' }],
    ['Differential', healthy, ms(limit, 1), false, { type: 'Full', healedBecause: 'FullTooOld' }],
  ] as const)('scheduled %s, state %o, at %s, chainBroken %s → %o', (scheduled, state, now, chainBroken, expected) => {
    expect(effectiveBackupType(scheduled, state, now, { chainBroken })).toEqual(expected);
  });
});

describe('logTimeRanges', () => {
  it('a single unbroken day is one range, starting at the first log after the full', () => {
    const { vault } = fullThenLogs(DAY);
    expect(vault.points.filter((p) => p.type === 'Log')).toHaveLength(96);
    expect(logTimeRanges(vault.points)).toEqual([{ startTime: at(0), endTime: at(DAY) }]);
  });

  it('does not depend on the order of the points', () => {
    const { vault } = fullThenLogs(DAY);
    expect(logTimeRanges([...vault.points].reverse())).toEqual([{ startTime: at(0), endTime: at(DAY) }]);
  });

  it('splits exactly at a break', () => {
    const { sql, vault } = fullThenLogs(60);
    sql.backup('Log', 61); // foreign: gap
    vault.commit(sql.backup('Full', 62));
    vault.commit(sql.backup('Log', 75));
    vault.commit(sql.backup('Log', 90));
    expect(logTimeRanges(vault.points)).toEqual([
      { startTime: at(0), endTime: at(60) },
      { startTime: at(62), endTime: at(90) },
    ]);
  });

  it('does not merge ranges across a break even when the next one starts the second the last one ended', () => {
    const points = [
      point('Full', { id: 'F', firstLsn: 100n, checkpointLsn: 100n, lastLsn: 101n, startTime: at(0), endTime: at(0) }),
      point('Log', { id: 'A', firstLsn: 101n, lastLsn: 200n, startTime: at(0), endTime: at(60) }),
      point('Full', {
        id: 'G',
        firstLsn: 259n,
        checkpointLsn: 259n,
        lastLsn: 260n,
        startTime: at(60),
        endTime: at(60),
      }),
      point('Log', { id: 'B', firstLsn: 250n, lastLsn: 300n, startTime: at(55), endTime: at(75) }),
    ];
    expect(logTimeRanges(points)).toEqual([
      { startTime: at(0), endTime: at(60) },
      { startTime: at(60), endTime: at(75) },
    ]);
  });

  it('logs that reach no full or differential publish nothing, and later ranges still start at their base', () => {
    const sql = new SqlServer();
    const points: CommittedPoint[] = [];
    const oldFull = sql.backup('Full', 0);
    for (let m = 15; m <= 60; m += 15) points.push(sql.backup('Log', m)); // their full expired
    points.push(sql.backup('Full', 70));
    points.push(sql.backup('Log', 75)); // continues the orphan chain and covers the full at 70
    points.push(sql.backup('Log', 90));
    expect(logTimeRanges(points)).toEqual([{ startTime: at(70), endTime: at(90) }]);
    expect(logTimeRanges([oldFull, ...points])).toEqual([{ startTime: at(0), endTime: at(90) }]);
  });

  it.each([
    ['no points', []],
    ['only fulls and differentials', [point('Full'), point('Differential', { endTime: at(60) })]],
    [
      'a log after only a copy-only full',
      [point('CopyOnlyFull'), point('Log', { firstLsn: 101n, lastLsn: 200n, endTime: at(15) })],
    ],
  ])('%s → no ranges', (_name, points) => {
    expect(logTimeRanges(points)).toEqual([]);
  });
});

describe('typesForQuery', () => {
  const discreteAll = ['Full', 'CopyOnlyFull', 'Differential'];
  it.each([
    [undefined, { discrete: discreteAll, logRange: true }],
    ['All', { discrete: discreteAll, logRange: true }],
    ['Full', { discrete: ['Full', 'CopyOnlyFull'], logRange: false }],
    ['Differential', { discrete: ['Differential'], logRange: false }],
    ['FullAndDifferential', { discrete: discreteAll, logRange: false }],
    ['Log', { discrete: [], logRange: true }],
    ['log', { discrete: [], logRange: true }],
    ['FULLANDDIFFERENTIAL', { discrete: discreteAll, logRange: false }],
    ['Incremental', { discrete: [], logRange: false }],
    ['SnapshotFull', { discrete: [], logRange: false }],
    ['SnapshotCopyOnlyFull', { discrete: [], logRange: false }],
  ])('%s → %o', (query, expected) => {
    expect(typesForQuery(query)).toEqual(expected);
  });

  it.each(['Invalid', '', 'Fulls', 'CopyOnlyFull', 'toString', '__proto__'])(
    '%o → 400 InvalidFilterParameter',
    (query) => {
      const error = thrown(() => typesForQuery(query));
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe('InvalidFilterParameter');
      expect(error.message).toContain(`'${query}'`);
    },
  );

  it('returns a fresh selection each time', () => {
    typesForQuery('Full').discrete.push('Log');
    expect(typesForQuery('Full').discrete).toEqual(['Full', 'CopyOnlyFull']);
  });
});

describe('rpoBreached', () => {
  const now = at(10 * DAY);
  const ago = (minutes: number, ms = 0) => new Date(now.getTime() - minutes * 60_000 - ms);
  it.each([
    ['log on time', { lastLogAt: ago(10), lastBackupAt: ago(DAY), logFrequencyMinutes: 15 }, false],
    ['log exactly frequency + grace old', { lastLogAt: ago(25), logFrequencyMinutes: 15 }, false],
    ['log 1 ms past frequency + grace', { lastLogAt: ago(25, 1), logFrequencyMinutes: 15 }, true],
    [
      'stale log, but a newer full (healed log)',
      { lastLogAt: ago(120), lastBackupAt: ago(5), logFrequencyMinutes: 15 },
      false,
    ],
    ['no log yet, first full within the log window', { lastBackupAt: ago(25), logFrequencyMinutes: 15 }, false],
    ['no log yet, first full past the log window', { lastBackupAt: ago(26), logFrequencyMinutes: 15 }, true],
    ['no log schedule, full within a day + grace', { lastBackupAt: ago(24 * 60 + 10) }, false],
    ['no log schedule, full 1 ms past a day + grace', { lastBackupAt: ago(24 * 60 + 10, 1) }, true],
    ['no log schedule, weekly full on time', { lastBackupAt: ago(6 * DAY), fullFrequencyHours: 168 }, false],
    ['nothing backed up yet', {}, false],
    [
      'newest backup in the future (clock set back)',
      { lastLogAt: new Date(now.getTime() + 60_000), logFrequencyMinutes: 15 },
      false,
    ],
  ] as const)('%s → %s', (_name, args, expected) => {
    expect(rpoBreached({ fullFrequencyHours: 24, graceMinutes: 10, now, ...args })).toBe(expected);
  });
});

describe('parseLsn', () => {
  it.each([
    ['0', 0n],
    ['34000000000100001', 34_000_000_000_100_001n],
    ['000123', 123n],
    ['9'.repeat(30), 10n ** 30n - 1n],
  ])('%s → %s', (text, expected) => {
    expect(parseLsn(text)).toBe(expected);
  });

  it.each(['', '-1', '+1', '1.5', ' 1', '1 ', '0x10', '1e5', 'abc', '9'.repeat(31), '٣'])(
    '%o → 400 BMSUserErrorInvalidInput',
    (text) => {
      const error = thrown(() => parseLsn(text, 'firstLsn'));
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe('BMSUserErrorInvalidInput');
      expect(error.message).toContain(`firstLsn ${JSON.stringify(text)}`);
    },
  );
});
