/**
 * What a `restores.trigger` body asks for (the SDK's restore request variants), checked and
 * reduced to one shape: which recovery point (a discrete one, or a point in time in the log range), where to (the
 * original database, another database on a container of the same vault, or files in a directory), and whether an
 * existing database may be overwritten.
 *
 * Decisions where Azure's behaviour is unconfirmed (docs/api-coverage.md):
 * - `overwriteOption` defaults to `Overwrite` for an original-location restore (it can only restore over the
 *   database it came from) and to `FailOnConflict` for an alternate location.
 * - The rehydrate variants (archive tier) are refused: the emulator has no archive tier.
 * - `targetInfo.databaseName` is `<instance>/<database>` (as azure-cli builds it); it splits at the first `/`, since
 *   SQL Server instance names cannot contain one.
 *
 * Pure: no I/O. Errors are ArmErrors with Azure's code for invalid restore input (`BMSUserErrorInvalidInput`).
 */
import { errors } from './errors.ts';

export const DEFAULT_RANGE_POINT = 'DefaultRangeRecoveryPoint';
const DISCRETE = 'AzureWorkloadSQLRestoreRequest';
const POINT_IN_TIME = 'AzureWorkloadSQLPointInTimeRestoreRequest';
const REHYDRATE = [
  'AzureWorkloadSQLRestoreWithRehydrateRequest',
  'AzureWorkloadSQLPointInTimeRestoreWithRehydrateRequest',
];

export type Overwrite = 'Overwrite' | 'FailOnConflict';

export interface DirectoryMapping {
  mappingType: string;
  sourceLogicalName?: string;
  sourcePath?: string;
  targetPath: string;
}

/** The restore request's body (`properties`), as the SDK serializes it; anything else is ignored. */
export interface RestoreRequestProperties {
  objectType: string;
  recoveryType?: string;
  recoveryMode?: string;
  pointInTime?: string;
  sourceResourceId?: string;
  shouldUseAlternateTargetLocation?: boolean;
  targetInfo?: {
    overwriteOption?: string;
    containerId?: string;
    databaseName?: string;
    targetDirectoryForFileRestore?: string;
  };
  alternateDirectoryPaths?: DirectoryMapping[];
}

export type RestoreDestination =
  | { kind: 'Original'; overwrite: Overwrite }
  | {
      kind: 'AlternateDatabase';
      containerArmId: string;
      instanceName: string;
      databaseName: string;
      overwrite: Overwrite;
      directoryPaths: DirectoryMapping[];
    }
  | { kind: 'Files'; containerArmId: string; directory: string };

export interface RestoreRequest {
  /** Set for a point-in-time restore (on DefaultRangeRecoveryPoint); else the discrete point is `recoveryPointId`. */
  pointInTime?: Date;
  recoveryPointId: string;
  destination: RestoreDestination;
}

const invalid = (message: string) => errors.invalidInput(message);

function overwriteOf(value: string | undefined, fallback: Overwrite): Overwrite {
  if (value === undefined || value === '') return fallback;
  const match = (['Overwrite', 'FailOnConflict'] as const).find((o) => o.toLowerCase() === value.toLowerCase());
  if (match === undefined)
    throw invalid(`targetInfo.overwriteOption must be Overwrite or FailOnConflict (got '${value}').`);
  return match;
}

const same = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/**
 * Checks a restore request against the recovery point it was posted to. `vaultArmId` is the vault's ARM id: an
 * alternate target must be one of its containers.
 */
export function parseRestoreRequest(
  properties: RestoreRequestProperties,
  recoveryPointId: string,
  vaultArmId: string,
): RestoreRequest {
  const { objectType } = properties;
  if (REHYDRATE.some((t) => same(objectType, t))) {
    throw invalid(
      `${objectType} restores archived recovery points; this vault has no archive tier, so every point restores without rehydration.`,
    );
  }
  const isRange = same(recoveryPointId, DEFAULT_RANGE_POINT);
  let pointInTime: Date | undefined;
  if (same(objectType, POINT_IN_TIME)) {
    if (!isRange)
      throw invalid(
        `A ${POINT_IN_TIME} restores from the log range: post it to recoveryPoints/${DEFAULT_RANGE_POINT}, not to the point '${recoveryPointId}'.`,
      );
    if (properties.pointInTime === undefined)
      throw invalid(`properties.pointInTime is required for a ${POINT_IN_TIME}.`);
    pointInTime = new Date(properties.pointInTime);
    if (Number.isNaN(pointInTime.getTime()))
      throw invalid(`properties.pointInTime '${properties.pointInTime}' is not a date and time.`);
  } else if (same(objectType, DISCRETE)) {
    if (isRange)
      throw invalid(
        `Restoring from ${DEFAULT_RANGE_POINT} needs a point in time: send a ${POINT_IN_TIME} with properties.pointInTime.`,
      );
  } else {
    throw invalid(
      `properties.objectType must be ${DISCRETE} or ${POINT_IN_TIME} for a SQL database (got '${objectType}').`,
    );
  }

  const recoveryType = properties.recoveryType ?? 'OriginalLocation';
  const mode = properties.recoveryMode ?? 'WorkloadRecovery';
  if (!same(mode, 'WorkloadRecovery') && !same(mode, 'FileRecovery')) {
    throw invalid(`properties.recoveryMode must be WorkloadRecovery or FileRecovery (got '${mode}').`);
  }
  const target = properties.targetInfo ?? {};
  const base = { recoveryPointId, ...(pointInTime === undefined ? {} : { pointInTime }) };

  if (same(recoveryType, 'OriginalLocation')) {
    if (same(mode, 'FileRecovery'))
      throw invalid(
        'Restore as files (recoveryMode FileRecovery) needs recoveryType AlternateLocation and targetInfo.targetDirectoryForFileRestore.',
      );
    return { ...base, destination: { kind: 'Original', overwrite: overwriteOf(target.overwriteOption, 'Overwrite') } };
  }
  if (!same(recoveryType, 'AlternateLocation')) {
    throw invalid(
      `properties.recoveryType must be OriginalLocation or AlternateLocation for a SQL database (got '${recoveryType}').`,
    );
  }
  const containerArmId = target.containerId;
  if (containerArmId === undefined || containerArmId === '')
    throw invalid(
      "targetInfo.containerId (the target VM's protection container) is required for an alternate-location restore.",
    );
  const containersOfVault = `${vaultArmId}/backupFabrics/Azure/protectionContainers/`;
  if (
    !containerArmId.toLowerCase().startsWith(containersOfVault.toLowerCase()) ||
    containerArmId.length === containersOfVault.length
  ) {
    throw invalid(
      `targetInfo.containerId '${containerArmId}' is not a protection container of this vault (expected '${containersOfVault}<container name>'); restores stay within the vault.`,
    );
  }

  if (same(mode, 'FileRecovery')) {
    const directory = target.targetDirectoryForFileRestore;
    if (directory === undefined || directory.trim() === '')
      throw invalid('targetInfo.targetDirectoryForFileRestore is required to restore as files.');
    return { ...base, destination: { kind: 'Files', containerArmId, directory } };
  }
  const name = target.databaseName ?? '';
  const slash = name.indexOf('/');
  const instanceName = slash < 0 ? '' : name.slice(0, slash);
  const databaseName = slash < 0 ? '' : name.slice(slash + 1);
  if (instanceName === '' || databaseName === '') {
    throw invalid(
      `targetInfo.databaseName must be '<target instance>/<new database name>' for an alternate-location restore (got '${name}').`,
    );
  }
  for (const [i, p] of (properties.alternateDirectoryPaths ?? []).entries()) {
    if (typeof p?.targetPath !== 'string' || p.targetPath === '')
      throw invalid(`alternateDirectoryPaths[${i}].targetPath is required.`);
  }
  return {
    ...base,
    destination: {
      kind: 'AlternateDatabase',
      containerArmId,
      instanceName,
      databaseName,
      overwrite: overwriteOf(target.overwriteOption, 'FailOnConflict'),
      directoryPaths: properties.alternateDirectoryPaths ?? [],
    },
  };
}
