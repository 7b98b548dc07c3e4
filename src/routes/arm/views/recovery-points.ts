import type { ProtectedItem, ProtectionContainer, RecoveryPoint, Vault } from '../../../generated/prisma/client.ts';
import { protectedItemId } from '../../../arm/paths.ts';
import { DEFAULT_RANGE_POINT } from '../../../domain/restore-request.ts';

const TYPE = 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints';

/** A discrete recovery point (Full, Differential, CopyOnlyFull) as `AzureWorkloadSQLRecoveryPoint`. */
export function renderRecoveryPoint(
  vault: Vault,
  container: ProtectionContainer,
  item: ProtectedItem,
  point: RecoveryPoint,
) {
  return {
    id: `${protectedItemId(vault, container, item)}/recoveryPoints/${point.id}`,
    name: point.id,
    type: TYPE,
    properties: {
      objectType: 'AzureWorkloadSQLRecoveryPoint',
      recoveryPointTimeInUTC: point.endTime.toISOString(),
      // The SDK's RestorePointType has no CopyOnlyFull: a copy-only full is a Full restore point.
      type: point.type === 'CopyOnlyFull' ? 'Full' : point.type,
      recoveryPointTierDetails: [{ type: 'HardenedRP', status: 'Valid' }],
      recoveryPointProperties: {
        ...(point.expiresAt === null ? {} : { expiryTime: point.expiresAt.toISOString() }),
        ruleName: point.isOnDemand ? 'OnDemand' : point.type,
        isSoftDeleted: false,
      },
      extendedInfo: {
        dataDirectoryTimeInUTC: point.endTime.toISOString(),
        dataDirectoryPaths: point.files as object[],
      },
    },
  };
}

/**
 * The log range as `AzureWorkloadSQLPointInTimeRecoveryPoint` named DefaultRangeRecoveryPoint, with its time ranges
 * and the database's files as its latest backup holds them.
 */
export function renderLogRange(
  vault: Vault,
  container: ProtectionContainer,
  item: ProtectedItem,
  { ranges, files }: { ranges: { startTime: Date; endTime: Date }[]; files: unknown },
) {
  const latest = ranges.at(-1)?.endTime;
  return {
    id: `${protectedItemId(vault, container, item)}/recoveryPoints/${DEFAULT_RANGE_POINT}`,
    name: DEFAULT_RANGE_POINT,
    type: TYPE,
    properties: {
      objectType: 'AzureWorkloadSQLPointInTimeRecoveryPoint',
      type: 'Log',
      ...(latest === undefined ? {} : { recoveryPointTimeInUTC: latest.toISOString() }),
      timeRanges: ranges.map((r) => ({ startTime: r.startTime.toISOString(), endTime: r.endTime.toISOString() })),
      recoveryPointTierDetails: [{ type: 'HardenedRP', status: 'Valid' }],
      // az builds an alternate-location restore's file moves from these (and crashes without them).
      ...(latest === undefined
        ? {}
        : { extendedInfo: { dataDirectoryTimeInUTC: latest.toISOString(), dataDirectoryPaths: files as object[] } }),
    },
  };
}
