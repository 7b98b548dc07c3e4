import type { FastifyInstance } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { Vault } from '../generated/prisma/client.ts';
import { errors } from '../domain/errors.ts';
import type { VaultRef } from './paths.ts';

export interface VaultPathParams {
  subscriptionId: string;
  resourceGroupName: string;
  vaultName: string;
}

/** The vault a path names, as the operations helper scopes operations. */
export function vaultScope(params: VaultPathParams) {
  return {
    subscriptionId: params.subscriptionId,
    resourceGroup: params.resourceGroupName,
    vaultName: params.vaultName,
  };
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

/** A vault's id and names: what a child resource's ARM id and its path check need. */
export type VaultIdentity = VaultRef & Pick<Vault, 'id' | 'resourceGroupKey' | 'nameKey'>;

// A vault's names never change after creation, and deleting it deletes its children: remembered by id, per app.
const identities = new WeakMap<FastifyInstance, LRUCache<string, VaultIdentity>>();

/**
 * A child resource found by its own id (a job) with its vault, if that is the vault the path names — one query for the
 * child instead of two. Otherwise the path's own 404: the vault's when it names none, else `notFound`.
 */
export async function inPathVault<T extends { vaultId: string }>(
  app: FastifyInstance,
  params: VaultPathParams,
  child: T | null,
  notFound: () => Error,
): Promise<{ vault: VaultIdentity; child: T }> {
  const vault = child === null ? undefined : await vaultIdentity(app, child.vaultId);
  if (
    child !== null &&
    vault?.subscriptionId === params.subscriptionId.toLowerCase() &&
    vault.resourceGroupKey === params.resourceGroupName.toLowerCase() &&
    vault.nameKey === params.vaultName.toLowerCase()
  ) {
    return { vault, child };
  }
  await findVault(app, params);
  throw notFound();
}

async function vaultIdentity(app: FastifyInstance, id: string): Promise<VaultIdentity | undefined> {
  let cache = identities.get(app);
  if (cache === undefined) identities.set(app, (cache = new LRUCache({ max: 10_000 })));
  const known = cache.get(id);
  if (known !== undefined) return known;
  const vault = await app.db.vault.findUnique({
    where: { id },
    select: { id: true, subscriptionId: true, resourceGroup: true, resourceGroupKey: true, name: true, nameKey: true },
  });
  if (vault !== null) cache.set(id, vault);
  return vault ?? undefined;
}

/**
 * What a vault holds that blocks its deletion and locks its storage redundancy: registered containers and protected
 * items (soft-deleted ones included, until purged).
 */
export async function vaultContents(
  app: FastifyInstance,
  vault: Vault,
): Promise<{ containers: number; protectedItems: number }> {
  const containers = await app.db.protectionContainer.count({
    where: { vaultId: vault.id, registrationStatus: { not: 'NotRegistered' } },
  });
  return { containers, protectedItems: vault.protectedItemCount };
}
