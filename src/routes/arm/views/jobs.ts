import type { Job } from '../../../generated/prisma/client.ts';
import { vaultId, type VaultRef } from '../../../arm/paths.ts';

/** ISO 8601 duration with fractional seconds, as Azure reports job durations (e.g. `PT1M5.25S`). */
export function isoDuration(milliseconds: number): string {
  const totalSeconds = Math.max(0, milliseconds) / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = Math.round((totalSeconds % 60) * 1000) / 1000;
  return `PT${hours > 0 ? `${hours}H` : ''}${minutes > 0 ? `${minutes}M` : ''}${seconds}S`;
}

/** A job as `AzureWorkloadJob`. */
export function renderJob(vault: VaultRef, job: Job, now: Date) {
  return {
    id: `${vaultId(vault)}/backupJobs/${job.id}`,
    name: job.id,
    type: 'Microsoft.RecoveryServices/vaults/backupJobs',
    properties: {
      jobType: 'AzureWorkloadJob',
      entityFriendlyName: job.entityFriendlyName,
      backupManagementType: job.backupManagementType,
      workloadType: job.workloadType,
      operation: job.operation,
      status: job.status,
      startTime: job.startTime.toISOString(),
      ...(job.endTime === null ? {} : { endTime: job.endTime.toISOString() }),
      // The caller's request id; a job the service started itself has none, and names itself.
      activityId: job.activityId ?? job.id,
      duration: isoDuration((job.endTime ?? now).getTime() - job.startTime.getTime()),
      actionsInfo: job.cancellable && job.status === 'InProgress' ? ['Cancellable'] : [],
      errorDetails: job.errorDetails as object[],
      // No tasks: a workload job has none (az's `job show` reads a start time from each task, which
      // AzureWorkloadJobTaskDetails lacks, so any task would crash it).
      extendedInfo: { tasksList: [], propertyBag: {}, ...(job.extendedInfo as object) },
    },
  };
}
