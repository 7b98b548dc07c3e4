/**
 * Typed errors of the simulation core. Every error carries a `code`: the Azure error code when SQL Server / Azure
 * Backup has one for the situation (the agent can report it verbatim in a job's errorDetails), otherwise a
 * simulation code naming the failure class.
 */

export type SimulationErrorCode =
  /** Log backup on a SIMPLE-recovery database, Differential/Log on `master` or on a read-only database. */
  | 'UserErrorSQLPODoesNotSupportBackupType'
  /** Differential or Log with no (non-copy-only) Full taken yet. */
  | 'UserErrorParentFullBackupMissing'
  /** Log backup while the log chain is broken (SIMPLE → FULL switch with no Full/Differential since). */
  | 'UserErrorSQLLSNValidationFailure'
  /** The spec JSON is malformed (see `path`). */
  | 'InvalidSpec'
  /** A backup stream is malformed: bad magic, bad framing, CRC/SHA-256 mismatch, truncated, trailing bytes. */
  | 'CorruptBackupStream'
  /** A restore chain does not chain: wrong base, LSN gap or overlap, wrong order, mixed databases. */
  | 'RestoreChainBroken'
  /** The requested point in time is not covered by the given chain. */
  | 'PointInTimeOutOfRange'
  /** A caller asked for something the simulated database cannot answer (time before creation, bad LSN, ...). */
  | 'InvalidRequest'
  /** The on-disk agent state is unreadable or of an unknown version. */
  | 'InvalidState';

export class SimulationError extends Error {
  constructor(
    readonly code: SimulationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SimulationError';
  }
}

/** `parseVmSpec` failures; `path` is the JSON path of the offending field, e.g. `instances[0].databases[1].sizeMiB`. */
export class SpecError extends SimulationError {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super('InvalidSpec', `${path || '(root)'}: ${detail}`);
    this.name = 'SpecError';
  }
}

/** The database's recovery model / kind / chain state does not allow this backup (SQL Server would refuse it). */
export class BackupNotAllowedError extends SimulationError {
  constructor(
    code:
      | 'UserErrorSQLPODoesNotSupportBackupType'
      | 'UserErrorParentFullBackupMissing'
      | 'UserErrorSQLLSNValidationFailure',
    message: string,
  ) {
    super(code, message);
    this.name = 'BackupNotAllowedError';
  }
}

/** A backup stream failed verification. `offset` is the stream byte offset where the problem was detected. */
export class CorruptBackupError extends SimulationError {
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super('CorruptBackupStream', offset === undefined ? message : `${message} (at byte ${offset})`);
    this.name = 'CorruptBackupError';
  }
}

/** The parts handed to a restore do not form a valid chain, or the point in time is outside it. */
export class RestoreChainError extends SimulationError {
  constructor(code: 'RestoreChainBroken' | 'PointInTimeOutOfRange', message: string) {
    super(code, message);
    this.name = 'RestoreChainError';
  }
}
