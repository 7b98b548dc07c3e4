import { Type } from 'typebox';
import { backupResource, Enum, DateTime, Discriminated, KnownString, StringMap } from './common.ts';

/** `AzureWorkloadErrorInfo`: an error of a workload job, with SQL Server's or the service's code. */
const AzureWorkloadErrorInfo = Type.Object(
  {
    errorCode: Type.Optional(Type.Number()),
    errorString: Type.Optional(Type.String()),
    errorTitle: Type.Optional(Type.String()),
    recommendations: Type.Optional(Type.Array(Type.String())),
    additionalDetails: Type.Optional(Type.String()),
  },
  { title: 'AzureWorkloadErrorInfo' },
);

const AzureWorkloadJobTaskDetails = Type.Object(
  { taskId: Type.Optional(Type.String()), status: Type.Optional(Type.String()) },
  { title: 'AzureWorkloadJobTaskDetails' },
);

const AzureWorkloadJobExtendedInfo = Type.Object(
  {
    tasksList: Type.Optional(Type.Array(AzureWorkloadJobTaskDetails)),
    propertyBag: Type.Optional(StringMap),
    dynamicErrorMessage: Type.Optional(Type.String()),
  },
  { title: 'AzureWorkloadJobExtendedInfo' },
);

/** `AzureWorkloadJob` (jobType AzureWorkloadJob): the only job type of SQL Server in Azure VM backup. */
export const AzureWorkloadJob = Discriminated('AzureWorkloadJob', 'jobType', 'AzureWorkloadJob', {
  entityFriendlyName: Type.Optional(Type.String()),
  backupManagementType: Type.Optional(KnownString('AzureWorkload')),
  operation: Type.Optional(Type.String()),
  status: Type.Optional(
    KnownString('InProgress', 'Completed', 'Failed', 'CompletedWithWarnings', 'Cancelled', 'Cancelling'),
  ),
  startTime: Type.Optional(DateTime()),
  endTime: Type.Optional(DateTime()),
  activityId: Type.Optional(Type.String()),
  workloadType: Type.Optional(Type.String()),
  duration: Type.Optional(Type.String({ description: 'ISO 8601 duration' })),
  actionsInfo: Type.Optional(Type.Array(Enum(['Invalid', 'Cancellable', 'Retriable']))),
  errorDetails: Type.Optional(Type.Array(AzureWorkloadErrorInfo)),
  extendedInfo: Type.Optional(AzureWorkloadJobExtendedInfo),
});

export const JobResource = backupResource('JobResource', AzureWorkloadJob);
