import type { SqlPolicy } from './policy/types.ts';
import { nextDifferentialAfter, nextFullAfter, nextLogAfter } from './policy/schedule.ts';

/** What Azure lets a SQL database back up, by its nature (docs/protection.md). */
export interface DatabaseTraits {
  name: string;
  recoveryModel: string;
  isReadOnly: boolean;
}

export type BackupType = 'Full' | 'Differential' | 'Log' | 'CopyOnlyFull';

/**
 * master: Full only (and copy-only); read-only databases: Full and CopyOnlyFull; SIMPLE recovery model: no log
 * backups (Azure pauses the log schedule); everything else: all four.
 */
export function allowedBackupTypes(database: DatabaseTraits): BackupType[] {
  if (database.name.toLowerCase() === 'master' || database.isReadOnly) return ['Full', 'CopyOnlyFull'];
  if (database.recoveryModel.toUpperCase() === 'SIMPLE') return ['Full', 'Differential', 'CopyOnlyFull'];
  return ['Full', 'Differential', 'Log', 'CopyOnlyFull'];
}

export interface Schedule {
  nextFullAt: Date;
  nextDiffAt: Date | null;
  nextLogAt: Date | null;
}

/** The next scheduled backups of a database under a policy, after `now`, honouring what the database allows. */
export function scheduleFor(policy: SqlPolicy, database: DatabaseTraits, now: Date): Schedule {
  const allowed = allowedBackupTypes(database);
  return {
    nextFullAt: nextFullAfter(policy, now),
    nextDiffAt: allowed.includes('Differential') ? (nextDifferentialAfter(policy, now) ?? null) : null,
    nextLogAt: allowed.includes('Log') ? (nextLogAfter(policy, now) ?? null) : null,
  };
}

/** `lastBackupStatus` as Azure shows it: the last backup's verdict (Unhealthy after a failure), IRPending before any. */
export function lastBackupStatusOf(protectionState: string, lastBackupStatus: string | null): string {
  return lastBackupStatus ?? (protectionState === 'IRPending' ? 'IRPending' : 'Healthy');
}

/** `protectedItemHealthStatus` as Azure shows it: IRPending until the first backup, then the RPO watch's verdict. */
export function protectedItemHealth(
  protectionState: string,
  healthStatus: string,
): 'IRPending' | 'ActionRequired' | 'Healthy' {
  if (protectionState === 'IRPending') return 'IRPending';
  return healthStatus === 'ActionRequired' ? 'ActionRequired' : 'Healthy';
}
