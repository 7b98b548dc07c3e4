import { Type } from 'typebox';
import { backupResource, DateTime, Discriminated, ErrorDetail, KnownString } from './common.ts';
import { DistributedNodesInfo } from './protected-items.ts';

const InquiryValidation = Type.Object(
  {
    status: Type.Optional(Type.String()),
    errorDetail: Type.Optional(ErrorDetail),
    additionalDetail: Type.Optional(Type.String()),
    protectableItemCount: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { title: 'InquiryValidation' },
);

const WorkloadInquiryDetails = Type.Object(
  {
    type: Type.Optional(Type.String()),
    itemCount: Type.Optional(Type.Integer()),
    inquiryValidation: Type.Optional(InquiryValidation),
  },
  { title: 'WorkloadInquiryDetails' },
);

const InquiryInfo = Type.Object(
  {
    status: Type.Optional(Type.String()),
    errorDetail: Type.Optional(ErrorDetail),
    inquiryDetails: Type.Optional(Type.Array(WorkloadInquiryDetails)),
  },
  { title: 'InquiryInfo' },
);

const AzureWorkloadContainerExtendedInfo = Type.Object(
  {
    hostServerName: Type.Optional(Type.String()),
    inquiryInfo: Type.Optional(InquiryInfo),
    nodesList: Type.Optional(Type.Array(DistributedNodesInfo)),
  },
  { title: 'AzureWorkloadContainerExtendedInfo' },
);

/** What every workload container says of itself, a VM's or an availability group's (`AzureWorkloadContainer`). */
const workloadContainer = {
  friendlyName: Type.Optional(Type.String()),
  backupManagementType: Type.Optional(KnownString('AzureWorkload')),
  registrationStatus: Type.Optional(Type.String()),
  healthStatus: Type.Optional(Type.String()),
  protectableObjectType: Type.Optional(Type.String()),
  sourceResourceId: Type.Optional(Type.String()),
  lastUpdatedTime: Type.Optional(DateTime()),
  extendedInfo: Type.Optional(AzureWorkloadContainerExtendedInfo),
  workloadType: Type.Optional(Type.String()),
  operationType: Type.Optional(KnownString('Invalid', 'Register', 'Reregister')),
};

/** `AzureVMAppContainerProtectionContainer` (containerType VMAppContainer): a registered SQL Server VM. */
export const AzureVMAppContainerProtectionContainer = Discriminated(
  'AzureVMAppContainerProtectionContainer',
  'containerType',
  'VMAppContainer',
  workloadContainer,
);

/** `AzureSQLAGWorkloadContainerProtectionContainer` (containerType SQLAGWorkLoadContainer): an availability group. */
export const AzureSQLAGWorkloadContainerProtectionContainer = Discriminated(
  'AzureSQLAGWorkloadContainerProtectionContainer',
  'containerType',
  'SQLAGWorkLoadContainer',
  workloadContainer,
);

export const ProtectionContainerResource = backupResource(
  'ProtectionContainerResource',
  Type.Union([AzureVMAppContainerProtectionContainer, AzureSQLAGWorkloadContainerProtectionContainer]),
);

/** `AzureVMAppContainerProtectableContainer` (protectableContainerType VMAppContainer): a VM found by a refresh. */
export const AzureVMAppContainerProtectableContainer = Discriminated(
  'AzureVMAppContainerProtectableContainer',
  'protectableContainerType',
  'VMAppContainer',
  {
    friendlyName: Type.Optional(Type.String()),
    backupManagementType: Type.Optional(KnownString('AzureWorkload')),
    healthStatus: Type.Optional(Type.String()),
    containerId: Type.Optional(Type.String()),
  },
);

export const ProtectableContainerResource = backupResource(
  'ProtectableContainerResource',
  AzureVMAppContainerProtectableContainer,
);
