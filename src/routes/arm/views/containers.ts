import type { ProtectionContainer, SqlDatabase, SqlInstance, Vault } from '../../../generated/prisma/client.ts';
import { containerHealth } from '../../../domain/containers.ts';
import { containerId, fabricId } from '../../../arm/paths.ts';
import { AG_CONTAINER_TYPE, type DistributedNode } from '../../../domain/availability-groups.ts';

/** ARM resources of the registration and discovery flow, with their discriminators. */

const health = (container: ProtectionContainer, unhealthyAfterSeconds: number) =>
  containerHealth(container.lastHeartbeatAt, new Date(), unhealthyAfterSeconds);

export function renderProtectableContainer(
  vault: Vault,
  container: ProtectionContainer,
  unhealthyAfterSeconds: number,
) {
  return {
    id: `${fabricId(vault)}/protectableContainers/${container.name}`,
    name: container.name,
    type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectableContainers',
    properties: {
      protectableContainerType: 'VMAppContainer',
      friendlyName: container.friendlyName,
      backupManagementType: 'AzureWorkload',
      healthStatus: health(container, unhealthyAfterSeconds),
      containerId: container.vmResourceId,
    },
  };
}

/** A VM's container, or an availability group's (`SQLAGWorkLoadContainer`, with its `nodes`; it has no VM). */
export function renderContainer(
  vault: Vault,
  container: ProtectionContainer,
  unhealthyAfterSeconds: number,
  nodes: DistributedNode[] = [],
) {
  const isGroup = container.containerType === AG_CONTAINER_TYPE;
  return {
    id: containerId(vault, container),
    name: container.name,
    type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers',
    properties: {
      containerType: container.containerType,
      friendlyName: container.friendlyName,
      backupManagementType: 'AzureWorkload',
      registrationStatus: container.registrationStatus,
      // An AG is as healthy as its nodes: CHOSEN, Healthy while every node is registered here.
      healthStatus: isGroup
        ? nodes.every((n) => n.status === 'Succeeded')
          ? 'Healthy'
          : 'Unhealthy'
        : health(container, unhealthyAfterSeconds),
      protectableObjectType: container.containerType,
      ...(isGroup ? {} : { sourceResourceId: container.vmResourceId }),
      lastUpdatedTime: container.updatedAt.toISOString(),
      workloadType: 'SQLDataBase',
      extendedInfo: {
        hostServerName: container.fqdn ?? container.friendlyName,
        inquiryInfo: container.inquiryInfo ?? { status: 'NotStarted', inquiryDetails: [] },
        nodesList: nodes,
      },
    },
  };
}

const serverName = (container: ProtectionContainer) => container.fqdn ?? container.friendlyName;

function prebackupValidation(isProtectable: boolean, reason: unknown) {
  const { code, message } = (reason ?? {}) as { code?: string; message?: string };
  return isProtectable ? { status: 'Success' } : { status: 'Failed', code, message };
}

/**
 * A SQL instance, or an availability group (`SQLAvailabilityGroupContainer`, the row of an AG container) with its
 * nodes (`nodes`, given for AG containers).
 */
export function renderProtectableInstance(
  vault: Vault,
  container: ProtectionContainer,
  instance: SqlInstance,
  databases: { total: number; protectable: number },
  isAutoProtected: boolean,
  nodes?: DistributedNode[],
) {
  return {
    id: `${containerId(vault, container)}/protectableItems/${instance.itemName}`,
    name: instance.itemName,
    type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectableItems',
    properties: {
      protectableItemType: nodes === undefined ? 'SQLInstance' : 'SQLAvailabilityGroupContainer',
      ...(nodes === undefined ? {} : { nodesList: nodes }),
      backupManagementType: 'AzureWorkload',
      workloadType: 'SQLDataBase',
      friendlyName: instance.name,
      serverName: serverName(container),
      parentName: container.friendlyName,
      isAutoProtectable: instance.isProtectable,
      isAutoProtected,
      isProtectable: instance.isProtectable,
      subinquireditemcount: databases.total,
      subprotectableitemcount: databases.protectable,
      prebackupvalidation: prebackupValidation(
        instance.isProtectable,
        instance.inquiryError ?? instance.notProtectableReason,
      ),
      protectionState: 'NotProtected',
    },
  };
}

export function renderProtectableDatabase(
  vault: Vault,
  container: ProtectionContainer,
  database: SqlDatabase,
  protectionState: 'Protected' | 'NotProtected',
) {
  return {
    id: `${containerId(vault, container)}/protectableItems/${database.itemName}`,
    name: database.itemName,
    type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectableItems',
    properties: {
      protectableItemType: 'SQLDataBase',
      backupManagementType: 'AzureWorkload',
      workloadType: 'SQLDataBase',
      friendlyName: database.name,
      serverName: serverName(container),
      parentName: database.instanceName,
      parentUniqueName: database.instanceName,
      isAutoProtectable: false,
      isAutoProtected: false,
      isProtectable: database.isProtectable,
      subinquireditemcount: 0,
      subprotectableitemcount: 0,
      prebackupvalidation: prebackupValidation(database.isProtectable, database.notProtectableReason),
      protectionState,
    },
  };
}

export function renderWorkloadInstance(
  vault: Vault,
  container: ProtectionContainer,
  instance: SqlInstance,
  databases: number,
) {
  return {
    id: `${containerId(vault, container)}/items/${instance.itemName}`,
    name: instance.itemName,
    type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/items',
    properties: {
      workloadItemType: 'SQLInstance',
      backupManagementType: 'AzureWorkload',
      workloadType: 'SQLDataBase',
      friendlyName: instance.name,
      serverName: serverName(container),
      isAutoProtectable: instance.isProtectable,
      subinquireditemcount: databases,
      subWorkloadItemCount: databases,
      protectionState: 'NotProtected',
      dataDirectoryPaths: instance.dataDirectoryPaths as object[],
    },
  };
}

export function renderWorkloadDatabase(
  vault: Vault,
  container: ProtectionContainer,
  database: SqlDatabase,
  protectionState: 'Protected' | 'NotProtected',
) {
  return {
    id: `${containerId(vault, container)}/items/${database.itemName}`,
    name: database.itemName,
    type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/items',
    properties: {
      workloadItemType: 'SQLDataBase',
      backupManagementType: 'AzureWorkload',
      workloadType: 'SQLDataBase',
      friendlyName: database.name,
      serverName: serverName(container),
      parentName: database.instanceName,
      isAutoProtectable: false,
      subinquireditemcount: 0,
      subWorkloadItemCount: 0,
      protectionState,
    },
  };
}
