import { Type } from 'typebox';
import { backupResource, Enum, DateTime, KnownString, StringMap } from './common.ts';

const RecoveryPointTierInformationV2 = Type.Object(
  {
    type: Type.Optional(Enum(['Invalid', 'InstantRP', 'HardenedRP', 'ArchivedRP'])),
    status: Type.Optional(Enum(['Invalid', 'Valid', 'Disabled', 'Deleted', 'Rehydrated'])),
    extendedInfo: Type.Optional(StringMap),
  },
  { title: 'RecoveryPointTierInformationV2' },
);

const RecoveryPointProperties = Type.Object(
  {
    expiryTime: Type.Optional(Type.String()),
    ruleName: Type.Optional(Type.String()),
    isSoftDeleted: Type.Optional(Type.Boolean()),
  },
  { title: 'RecoveryPointProperties' },
);

/** `SQLDataDirectory`: one file of the database (Data or Log) as it was when the point was taken. */
export const SQLDataDirectory = Type.Object(
  {
    type: Type.Optional(KnownString('Invalid', 'Data', 'Log')),
    path: Type.Optional(Type.String()),
    logicalName: Type.Optional(Type.String()),
  },
  { title: 'SQLDataDirectory' },
);

const AzureWorkloadSQLRecoveryPointExtendedInfo = Type.Object(
  {
    dataDirectoryTimeInUTC: Type.Optional(DateTime()),
    dataDirectoryPaths: Type.Optional(Type.Array(SQLDataDirectory)),
  },
  { title: 'AzureWorkloadSQLRecoveryPointExtendedInfo' },
);

const RecoveryPointMoveReadinessInfo = Type.Object(
  { isReadyForMove: Type.Optional(Type.Boolean()), additionalInfo: Type.Optional(Type.String()) },
  { title: 'RecoveryPointMoveReadinessInfo' },
);

const common = {
  recoveryPointTimeInUTC: Type.Optional(DateTime()),
  type: Type.Optional(
    KnownString('Invalid', 'Full', 'Log', 'Differential', 'Incremental', 'SnapshotFull', 'SnapshotCopyOnlyFull'),
  ),
  recoveryPointTierDetails: Type.Optional(Type.Array(RecoveryPointTierInformationV2)),
  recoveryPointMoveReadinessInfo: Type.Optional(Type.Record(Type.String(), RecoveryPointMoveReadinessInfo)),
  recoveryPointProperties: Type.Optional(RecoveryPointProperties),
  extendedInfo: Type.Optional(AzureWorkloadSQLRecoveryPointExtendedInfo),
};

/** `AzureWorkloadSQLRecoveryPoint`: a discrete point (Full, Differential). */
const AzureWorkloadSQLRecoveryPoint = Type.Object(
  { objectType: Type.Literal('AzureWorkloadSQLRecoveryPoint'), ...common },
  { title: 'AzureWorkloadSQLRecoveryPoint' },
);

/** `AzureWorkloadSQLPointInTimeRecoveryPoint`: the log range, restorable to any second of its time ranges. */
const AzureWorkloadSQLPointInTimeRecoveryPoint = Type.Object(
  {
    objectType: Type.Literal('AzureWorkloadSQLPointInTimeRecoveryPoint'),
    ...common,
    timeRanges: Type.Optional(
      Type.Array(
        Type.Object(
          { startTime: Type.Optional(DateTime()), endTime: Type.Optional(DateTime()) },
          { title: 'PointInTimeRange' },
        ),
      ),
    ),
  },
  { title: 'AzureWorkloadSQLPointInTimeRecoveryPoint' },
);

/** A recovery point of a SQL database, discriminated by `objectType`. */
export const RecoveryPoint = Type.Union([AzureWorkloadSQLRecoveryPoint, AzureWorkloadSQLPointInTimeRecoveryPoint]);
export const RecoveryPointResource = backupResource('RecoveryPointResource', RecoveryPoint);
