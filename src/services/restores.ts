import type { FastifyInstance } from 'fastify';
import { groupOf } from './availability-groups.ts';
import type { Readable } from 'node:stream';
import type { ProtectedItem, ProtectionContainer, RecoveryPoint, Restore, Vault } from '../generated/prisma/client.ts';
import { ArmError, errors } from '../domain/errors.ts';
import { restoreChainForPoint, restoreChainForPointInTime } from '../domain/restore-chain.ts';
import type { RestoreRequest } from '../domain/restore-request.ts';
import type { BackupType } from '../protocol/agent.ts';
import type { PlannedRestore } from '../jobs/operation-targets.ts';
import { BackupIntegrityError, openDecrypted, type StoredBlock } from '../storage/backup-blobs.ts';
import { asCommittedPoint, dataKeyOf, vaultBlobs } from './backups.ts';

/** A stored backup that fails verification on the way back (an emulator code: Azure does not document its own). */
export const INTEGRITY_FAILURE = 'UserErrorRecoveryPointIntegrityCheckFailed';

const containerNameOf = (armId: string) => armId.slice(armId.lastIndexOf('/') + 1);

/**
 * Resolves a checked restore request against the vault: the chain of recovery points it applies (400 with the
 * time ranges when a point in time is in none), and the target — a registered container of the same vault, with the
 * target SQL instance discovered there. Nothing is written.
 */
export async function planRestore(
  app: FastifyInstance,
  source: { vault: Vault; container: ProtectionContainer; item: ProtectedItem },
  request: RestoreRequest,
): Promise<PlannedRestore> {
  const { vault, container, item } = source;
  const points = await app.db.recoveryPoint.findMany({
    where: { protectedItemId: item.id },
    orderBy: { endTime: 'asc' },
  });
  const committed = points.map(asCommittedPoint);
  const plan =
    request.pointInTime === undefined
      ? restoreChainForPoint(committed, request.recoveryPointId)
      : restoreChainForPointInTime(committed, request.pointInTime);
  const byId = new Map(points.map((p) => [p.id, p]));
  const parts = plan.parts.map((p, index) => {
    const point = byId.get(p.id) as RecoveryPoint;
    return {
      index,
      recoveryPointId: point.id,
      backupType: point.type as BackupType,
      sizeBytes: Number(point.sizeBytes),
      sha256: point.sha256,
      startTime: point.startTime.toISOString(),
      endTime: point.endTime.toISOString(),
    };
  });

  const { destination } = request;
  let targetContainer = container;
  if (destination.kind !== 'Original') {
    const found = await app.db.protectionContainer.findUnique({
      where: {
        vaultId_nameKey: { vaultId: vault.id, nameKey: containerNameOf(destination.containerArmId).toLowerCase() },
      },
    });
    if (found === null)
      throw errors.invalidInput(
        `The target container '${containerNameOf(destination.containerArmId)}' is not a container of vault '${vault.name}'.`,
      );
    targetContainer = found;
  }
  // Azure: SQL availability groups do not support restoring a database directly into the group; restore to a
  // standalone instance (or as files), then join the database to the group.
  if (groupOf(targetContainer) !== undefined) {
    throw errors.invalidInput(
      `Azure Backup cannot restore into availability group '${targetContainer.friendlyName}': restore to a standalone SQL instance (alternate location) or as files, then join the database to the group.`,
    );
  }
  if (targetContainer.registrationStatus !== 'Registered') {
    throw errors.invalidInput(
      `The target container '${targetContainer.name}' is not registered to vault '${vault.name}' (it is ${targetContainer.registrationStatus}); register it first.`,
    );
  }
  const sourceRef = { itemName: item.itemName, instanceName: item.instanceName, databaseName: item.friendlyName };
  const common = {
    source: sourceRef,
    parts,
    ...(plan.pointInTime === undefined ? {} : { pointInTime: plan.pointInTime.toISOString() }),
  };

  let command: PlannedRestore['command'];
  let targetText: string;
  switch (destination.kind) {
    case 'Original':
      command = {
        ...common,
        mode: 'Database',
        target: { instanceName: item.instanceName, databaseName: item.friendlyName, overwrite: destination.overwrite },
      };
      targetText = `${item.instanceName}/${item.friendlyName} [${container.friendlyName}]`;
      break;
    case 'Files':
      command = { ...common, mode: 'Files', target: { overwrite: 'Overwrite', directory: destination.directory } };
      targetText = `${destination.directory} [${targetContainer.friendlyName}]`;
      break;
    case 'AlternateDatabase': {
      const instance = await app.db.sqlInstance.findFirst({
        where: { containerId: targetContainer.id, name: { equals: destination.instanceName, mode: 'insensitive' } },
      });
      if (instance === null)
        throw errors.invalidInput(
          `The SQL instance '${destination.instanceName}' was not discovered on '${targetContainer.friendlyName}'; run inquire on that container, then restore.`,
        );
      if (!instance.isProtectable)
        throw errors.invalidInput(
          `The SQL instance '${instance.name}' on '${targetContainer.friendlyName}' cannot take restores: the workload extension lacks sysadmin rights there.`,
        );
      command = {
        ...common,
        mode: 'Database',
        target: {
          instanceName: instance.name,
          databaseName: destination.databaseName,
          overwrite: destination.overwrite,
          ...(destination.directoryPaths.length === 0 ? {} : { directoryPaths: destination.directoryPaths }),
        },
      };
      targetText = `${instance.name}/${destination.databaseName} [${targetContainer.friendlyName}]`;
      break;
    }
  }
  return {
    targetContainerId: targetContainer.id,
    ...(common.pointInTime === undefined ? {} : { pointInTime: common.pointInTime }),
    command,
    targetText,
  };
}

/** Records why a restore failed (the first reason wins); its job and operation end with the agent's result. */
export async function failRestore(
  app: FastifyInstance,
  restoreId: string,
  error: { code: string; message: string },
): Promise<void> {
  await app.db.restore.updateMany({
    where: { id: restoreId, state: 'InProgress' },
    data: { state: 'Failed', errorCode: error.code, errorMessage: error.message, updatedAt: app.clock.now() },
  });
}

/** A restore the target container's agent may read: another container's restore does not exist for it. */
export async function findRestoreFor(app: FastifyInstance, containerId: string, restoreId: string): Promise<Restore> {
  const restore = await app.db.restore.findUnique({ where: { id: restoreId } });
  if (restore === null || restore.targetContainerId !== containerId)
    throw errors.resourceNotFound(`The restore '${restoreId}'`);
  return restore;
}

/**
 * One part of a restore as the original backup stream, decrypted and verified block by block. The first block is
 * read before this returns, so a backup that is unreadable from the start is a clear 4xx; a block failing later cuts
 * the stream — both record the failure on the restore. A storage outage is a retryable 503 and fails nothing.
 */
export async function openRestorePart(
  app: FastifyInstance,
  restore: Restore,
  index: number,
): Promise<{ point: RecoveryPoint; stream: Readable }> {
  if (restore.state !== 'InProgress') {
    throw errors.conflict(
      'UserErrorRestoreNotInProgress',
      `The restore '${restore.id}' is ${restore.state}${restore.errorCode === null ? '' : ` (${restore.errorCode})`}; its parts can no longer be read.`,
    );
  }
  const pointId = restore.parts[index];
  if (pointId === undefined)
    throw errors.resourceNotFound(`Part ${index} of restore '${restore.id}' (it has ${restore.parts.length})`);
  const point = await app.db.recoveryPoint.findUnique({ where: { id: pointId } });
  if (point === null) {
    const error = {
      code: 'UserErrorRecoveryPointNotFound',
      message: `The recovery point ${pointId} (part ${index + 1} of the restore) no longer exists in the vault.`,
    };
    await failRestore(app, restore.id, error);
    throw new ArmError(404, error.code, error.message);
  }
  const failed = async (error: Error): Promise<Error> => {
    if (!(error instanceof BackupIntegrityError)) return error;
    if (error.reason === 'storage') return errors.serviceUnavailable('Blob storage');
    const found = {
      code: INTEGRITY_FAILURE,
      message: `The ${point.type} backup ${point.id} (part ${index + 1} of the restore) failed verification: ${error.message}. The target was not changed.`,
    };
    await failRestore(app, restore.id, found);
    return new ArmError(422, found.code, found.message);
  };
  const stream = openDecrypted(
    vaultBlobs(app, restore.vaultId),
    point.blobName,
    await dataKeyOf(app, restore.vaultId),
    point.blocks as unknown as StoredBlock[],
    { mapError: failed },
  );
  stream.read(0); // starts reading: the first block is verified before this returns
  await stream.firstBlock;
  return { point, stream };
}
