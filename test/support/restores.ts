import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';

/**
 * Restore as a new database on another registered instance ("Alternate location"), to a recovery point or to a
 * point in time of the log chain, through the SDK's long-running restore; resolves once the restore job ended well.
 */
export function restoreAsNewDatabase(
  backup: RecoveryServicesBackupClient,
  vault: string,
  source: { containerName: string; itemName: string },
  from: { recoveryPointId: string } | { pointInTime: Date },
  target: { containerId: string; databaseName: string },
) {
  const pointInTime = 'pointInTime' in from;
  return backup.restores.beginTriggerAndWait(
    vault,
    'rg',
    'Azure',
    source.containerName,
    source.itemName,
    pointInTime ? 'DefaultRangeRecoveryPoint' : from.recoveryPointId,
    {
      properties: {
        objectType: pointInTime ? 'AzureWorkloadSQLPointInTimeRestoreRequest' : 'AzureWorkloadSQLRestoreRequest',
        recoveryType: 'AlternateLocation',
        shouldUseAlternateTargetLocation: true,
        ...(pointInTime ? { pointInTime: from.pointInTime } : {}),
        targetInfo: { overwriteOption: 'FailOnConflict', ...target },
      } as never,
    },
    { updateIntervalInMs: 50 },
  );
}
