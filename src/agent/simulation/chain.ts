/**
 * SQL Server's backup rules, as the reference agent's simulated instance applies them (pure functions over a small,
 * JSON-serialisable chain state that the state dir persists per database):
 *
 * - Recovery model SIMPLE: no log backups (`UserErrorSQLPODoesNotSupportBackupType`); switching to SIMPLE ends the log
 *   chain; after switching back to FULL/BULK_LOGGED, log backups fail (`UserErrorSQLLSNValidationFailure`) until a
 *   Full or Differential restarts the chain from its lastLsn.
 * - `master` and read-only databases: Full and CopyOnlyFull only.
 * - Differential and Log need a (non-copy-only) Full first (`UserErrorParentFullBackupMissing`).
 * - A Full becomes the differential base and does not move the log chain (it only starts one when there is none);
 *   a CopyOnlyFull changes nothing; a Log moves the chain to its lastLsn.
 * - The chain does not care who took a backup: a backup "taken by another tool" (`takeForeignBackup`) moves it exactly
 *   like the vault's own, which is how the vault ends up with a gap (`UserErrorSQLLSNValidationFailure` at commit).
 */
import {
  type BackupMetadata,
  type BackupRequest,
  type BackupType,
  backupRequest,
  describeBackup,
  type FullRef,
  isoTime,
  type LogChainRef,
} from './backup.ts';
import type { Instant, SimulatedDatabase } from './database.ts';
import { BackupNotAllowedError } from './errors.ts';
import type { RecoveryModel } from './spec.ts';

export interface BackupChainState {
  recoveryModel: RecoveryModel;
  /** The differential base: the latest non-copy-only Full, whoever took it. */
  lastFull: FullRef | null;
  /** Where the next log backup starts (lastLsn/endTime of the previous log, or of the backup that started the chain). */
  logChain: LogChainRef | null;
}

export interface DatabaseTraits {
  name: string;
  readOnly: boolean;
}

export function initialChainState(recoveryModel: RecoveryModel): BackupChainState {
  return { recoveryModel, lastFull: null, logChain: null };
}

function isMaster(name: string): boolean {
  return name.toLowerCase() === 'master';
}

/** Why SQL Server would refuse this backup type now, or undefined if it is allowed. */
export function backupRefusal(
  traits: DatabaseTraits,
  chain: BackupChainState,
  type: BackupType,
): BackupNotAllowedError | undefined {
  if (type === 'Full' || type === 'CopyOnlyFull') return undefined;
  if (isMaster(traits.name)) {
    return new BackupNotAllowedError(
      'UserErrorSQLPODoesNotSupportBackupType',
      `${type} backups are not supported for the master database; only Full.`,
    );
  }
  if (traits.readOnly) {
    return new BackupNotAllowedError(
      'UserErrorSQLPODoesNotSupportBackupType',
      `${type} backups are not supported for read-only database ${traits.name}; only Full and CopyOnlyFull.`,
    );
  }
  if (type === 'Log' && chain.recoveryModel === 'SIMPLE') {
    return new BackupNotAllowedError(
      'UserErrorSQLPODoesNotSupportBackupType',
      `Log backups are not possible for database ${traits.name}: its recovery model is SIMPLE.`,
    );
  }
  if (!chain.lastFull) {
    return new BackupNotAllowedError(
      'UserErrorParentFullBackupMissing',
      `No full backup of database ${traits.name} exists yet; take a Full backup first.`,
    );
  }
  if (type === 'Log' && !chain.logChain) {
    return new BackupNotAllowedError(
      'UserErrorSQLLSNValidationFailure',
      `The log chain of database ${traits.name} is broken (recovery model was SIMPLE); a Full or Differential backup must restart it.`,
    );
  }
  return undefined;
}

/** The request for a backup of `type` at `time`, or throws the error SQL Server would give. */
export function planBackup(
  traits: DatabaseTraits,
  chain: BackupChainState,
  type: BackupType,
  time: Instant,
): BackupRequest {
  const refusal = backupRefusal(traits, chain, type);
  if (refusal) throw refusal;
  let r: BackupRequest;
  switch (type) {
    case 'Full':
      r = backupRequest.full(time, chain.lastFull?.checkpointLsn);
      break;
    case 'CopyOnlyFull':
      r = { type: 'CopyOnlyFull', time: isoTime(time) };
      if (chain.lastFull) r.previousFullCheckpointLsn = chain.lastFull.checkpointLsn;
      break;
    case 'Differential':
      r = backupRequest.differential(time, chain.lastFull!);
      break;
    case 'Log':
      r = backupRequest.log(time, chain.logChain!, chain.lastFull?.checkpointLsn);
      break;
  }
  r.databaseName = traits.name;
  return r;
}

/** The chain after a backup completed (by the vault or anyone else). */
export function afterBackup(chain: BackupChainState, backup: BackupMetadata): BackupChainState {
  const next: BackupChainState = { ...chain };
  const logging = chain.recoveryModel !== 'SIMPLE';
  switch (backup.type) {
    case 'Full':
      next.lastFull = { checkpointLsn: backup.checkpointLsn, endTime: backup.endTime };
      if (logging && !chain.logChain) next.logChain = { lastLsn: backup.lastLsn, endTime: backup.endTime };
      break;
    case 'CopyOnlyFull':
      break;
    case 'Differential':
      if (logging && !chain.logChain && chain.lastFull)
        next.logChain = { lastLsn: backup.lastLsn, endTime: backup.endTime };
      break;
    case 'Log':
      next.logChain = { lastLsn: backup.lastLsn, endTime: backup.endTime };
      break;
  }
  return next;
}

/** The chain after `ALTER DATABASE ... SET RECOVERY <model>`. */
export function afterRecoveryModelChange(chain: BackupChainState, model: RecoveryModel): BackupChainState {
  if (model === chain.recoveryModel) return chain;
  return { ...chain, recoveryModel: model, logChain: model === 'SIMPLE' ? null : chain.logChain };
}

/**
 * A backup taken by another tool (a DBA's own BACKUP statement, another backup product): SQL Server records it and the
 * chain moves, but the vault never receives it. Returns its metadata (no stream) and the new chain.
 */
export function takeForeignBackup(
  db: SimulatedDatabase,
  traits: DatabaseTraits,
  chain: BackupChainState,
  type: BackupType,
  time: Instant,
): { metadata: BackupMetadata; chain: BackupChainState } {
  const request = planBackup(traits, chain, type, isoTime(time));
  const metadata = describeBackup(db, request);
  return { metadata, chain: afterBackup(chain, metadata) };
}
