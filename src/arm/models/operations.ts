import { Type } from 'typebox';
import { DateTime, Enum, Discriminated, StringMap } from './common.ts';

/** `OperationStatusJobExtendedInfo`: the job an asynchronous operation started. */
const OperationStatusJobExtendedInfo = Discriminated(
  'OperationStatusJobExtendedInfo',
  'objectType',
  'OperationStatusJobExtendedInfo',
  { jobId: Type.Optional(Type.String()) },
);

/** `OperationStatusJobsExtendedInfo`: the jobs an operation started (a policy change: one per protected item). */
const OperationStatusJobsExtendedInfo = Discriminated(
  'OperationStatusJobsExtendedInfo',
  'objectType',
  'OperationStatusJobsExtendedInfo',
  { jobIds: Type.Optional(Type.Array(Type.String())), failedJobsError: Type.Optional(StringMap) },
);

/** `OperationStatus`: what every Azure-AsyncOperation URL answers. */
export const OperationStatus = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    status: Enum(['InProgress', 'Succeeded', 'Failed', 'Canceled']),
    startTime: DateTime(),
    endTime: Type.Optional(DateTime('0001-01-01T00:00:00Z while the operation runs')),
    error: Type.Optional(
      Type.Object({ code: Type.String(), message: Type.String() }, { title: 'OperationStatusError' }),
    ),
    properties: Type.Optional(Type.Union([OperationStatusJobExtendedInfo, OperationStatusJobsExtendedInfo])),
  },
  { $id: 'OperationStatus', title: 'OperationStatus' },
);
