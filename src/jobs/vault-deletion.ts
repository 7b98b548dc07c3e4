import type { FastifyInstance } from 'fastify';
import type { Operation } from '../generated/prisma/client.ts';
import { vaultContainerName } from '../storage/containers.ts';
import { targetOf } from './operation-targets.ts';

/** Deletes a vault marked Deleting: first its blob container (so no data outlives it), then its rows. */
export async function deleteVault(app: FastifyInstance, operation: Operation): Promise<void> {
  const { vaultId } = targetOf(operation, 'vault.delete');
  await app.blob.getContainerClient(vaultContainerName(app.config.blobContainerPrefix, vaultId)).deleteIfExists();
  await app.db.vault.deleteMany({ where: { id: vaultId, provisioningState: 'Deleting' } });
}
