import type { FastifyInstance } from 'fastify';
import type { Vault } from '../../../generated/prisma/client.ts';
import { errors } from '../../../domain/errors.ts';

export interface VaultPathParams {
  subscriptionId: string;
  resourceGroupName: string;
  vaultName: string;
}

/** The vault a path names, as the operations helper scopes operations. */
export function vaultScope(params: VaultPathParams) {
  return { subscriptionId: params.subscriptionId, resourceGroup: params.resourceGroupName, vaultName: params.vaultName };
}

/** The vault a path names (case-insensitively), or ARM's 404. */
export async function findVault(app: FastifyInstance, params: VaultPathParams): Promise<Vault> {
  const vault = await app.db.vault.findUnique({
    where: {
      subscriptionId_resourceGroupKey_nameKey: {
        subscriptionId: params.subscriptionId.toLowerCase(),
        resourceGroupKey: params.resourceGroupName.toLowerCase(),
        nameKey: params.vaultName.toLowerCase(),
      },
    },
  });
  if (vault === null) throw errors.vaultNotFound(params.resourceGroupName, params.vaultName);
  return vault;
}

/**
 * What a vault holds that blocks its deletion and locks its storage redundancy: registered containers and protected
 * items (soft-deleted ones included, until purged).
 */
export async function vaultContents(app: FastifyInstance, vault: Vault): Promise<{ containers: number; protectedItems: number }> {
  const containers = await app.db.protectionContainer.count({ where: { vaultId: vault.id, registrationStatus: { not: 'NotRegistered' } } });
  return { containers, protectedItems: vault.protectedItemCount };
}
