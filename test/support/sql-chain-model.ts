import type { BackupType } from '../../src/domain/protection.ts';
import { chainStateOf, validateCommit, type ChainState, type CommittedPoint } from '../../src/domain/backup-chain.ts';

/**
 * A small model of SQL Server's backup chain for the chain tests: one LSN per simulated minute. At minute m the
 * database has LSN lsnAt(m); a Full/Differential has firstLsn = checkpointLsn = lsnAt(m), lastLsn = lsnAt(m) + 1; a
 * log runs from where SQL Server's log chain stands to lsnAt(m) + 1. A backup the vault never sees opens a gap.
 */
export const T0 = Date.parse('2026-03-01T00:00:00Z'); // a Sunday
export const at = (minute: number) => new Date(T0 + minute * 60_000);
export const lsnAt = (minute: number) => 34_000_000_000_100_001n + BigInt(minute) * 100_000n;
export const DAY = 1440;

export class SqlServer {
  private lastFull: { checkpointLsn: bigint } | undefined;
  private logChain: { lastLsn: bigint; endTime: Date } | undefined;
  private seq = 0;

  constructor(
    private readonly idOf: (type: BackupType, minute: number, seq: number) => string = (type, _minute, seq) =>
      `${type.toLowerCase()}-${seq}`,
  ) {}

  get hasLogChain(): boolean {
    return this.logChain !== undefined;
  }

  backup(type: BackupType, minute: number): CommittedPoint {
    const id = this.idOf(type, minute, ++this.seq);
    const time = at(minute);
    const first = lsnAt(minute);
    const last = first + 1n;
    if (type === 'Log') {
      if (!this.logChain) throw new Error('test bug: a log with no chain');
      const p: CommittedPoint = {
        id,
        type,
        firstLsn: this.logChain.lastLsn,
        lastLsn: last,
        checkpointLsn: first,
        databaseBackupLsn: this.lastFull?.checkpointLsn ?? 0n,
        startTime: this.logChain.endTime,
        endTime: time,
      };
      this.logChain = { lastLsn: last, endTime: time };
      return p;
    }
    const p: CommittedPoint = {
      id,
      type,
      firstLsn: first,
      lastLsn: last,
      checkpointLsn: first,
      databaseBackupLsn: this.lastFull?.checkpointLsn ?? 0n,
      startTime: time,
      endTime: time,
    };
    if (type === 'Differential') {
      if (!this.lastFull) throw new Error('test bug: a differential with no full');
      p.differentialBaseLsn = this.lastFull.checkpointLsn;
      this.logChain ??= { lastLsn: last, endTime: time };
    }
    if (type === 'Full') {
      this.lastFull = { checkpointLsn: first };
      this.logChain ??= { lastLsn: last, endTime: time };
    }
    return p;
  }

  /** ALTER DATABASE … SET RECOVERY SIMPLE and back to FULL: the log chain ends until a Full or Differential. */
  breakLogChainBySimpleRecovery(): void {
    this.logChain = undefined;
  }
}

/** The vault: commits what passes validation. */
export class Vault {
  readonly points: CommittedPoint[] = [];
  get state(): ChainState {
    return chainStateOf(this.points);
  }
  commit(p: CommittedPoint): CommittedPoint {
    const { id: _id, ...incoming } = p;
    validateCommit(this.state, incoming);
    this.points.push(p);
    return p;
  }
}
