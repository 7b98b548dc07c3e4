/** Names and rules of protection containers (VMs running SQL Server), as Azure Backup forms them. */
import { isLinuxOs } from '../protocol/agent.ts';

export function containerName(resourceGroup: string, vmName: string): string {
  return `VMAppContainer;Compute;${resourceGroup};${vmName}`;
}

export function vmResourceId(subscriptionId: string, resourceGroup: string, vmName: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vmName}`;
}

/** Azure's limit on a VM's name and resource group together (documented; docs/registration.md). */
export const MAX_VM_AND_RESOURCE_GROUP_LENGTH = 84;

const AZURE_NAME = /^[A-Za-z0-9][A-Za-z0-9._()-]*$/;

/** Why a VM cannot register, if it cannot: Linux (SQL in Azure VM backup is Windows-only), or names Azure rejects. */
export function vmIdentityProblem(vm: {
  vmName: string;
  resourceGroup: string;
  os: string;
}): { code: string; message: string } | undefined {
  if (isLinuxOs(vm.os)) {
    return {
      code: 'UserErrorUnsupportedOperatingSystem',
      message: `The VM '${vm.vmName}' runs ${vm.os}; SQL Server in Azure VM backup supports Windows VMs only.`,
    };
  }
  if (!AZURE_NAME.test(vm.vmName) || !AZURE_NAME.test(vm.resourceGroup)) {
    return {
      code: 'BMSUserErrorInvalidInput',
      message:
        'The VM name and resource group may contain letters, digits, periods, underscores, hyphens and parentheses.',
    };
  }
  if (vm.vmName.length + vm.resourceGroup.length > MAX_VM_AND_RESOURCE_GROUP_LENGTH) {
    return {
      code: 'UserErrorVMNameAndResourceGroupTooLong',
      message: `The VM name and resource group name together must not exceed ${MAX_VM_AND_RESOURCE_GROUP_LENGTH} characters (they have ${vm.vmName.length + vm.resourceGroup.length}).`,
    };
  }
  return undefined;
}

/**
 * A container is Healthy while its agent heartbeats; Unhealthy once it has been silent too long. Both times are wall
 * time: agents beat every 30 real seconds, however far the emulator clock jumps (like tokens, liveness keeps real time).
 */
export function containerHealth(
  lastHeartbeatAt: Date | null,
  wallNow: Date,
  unhealthyAfterSeconds: number,
): 'Healthy' | 'Unhealthy' {
  if (lastHeartbeatAt === null) return 'Unhealthy';
  return wallNow.getTime() - lastHeartbeatAt.getTime() <= unhealthyAfterSeconds * 1000 ? 'Healthy' : 'Unhealthy';
}
