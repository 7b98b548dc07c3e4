import type { FastifyInstance } from 'fastify';
import type { ProtectionContainer, Vault } from '../generated/prisma/client.ts';
import { ArmError, errors } from '../domain/errors.ts';
import { findVault, type VaultPathParams } from './vault-lookup.ts';

export interface FabricPathParams extends VaultPathParams {
  fabricName: string;
}
export interface ContainerPathParams extends FabricPathParams {
  containerName: string;
}

/** The one fabric of Azure workloads is `Azure`. */
export async function findFabricVault(app: FastifyInstance, params: FabricPathParams): Promise<Vault> {
  const vault = await findVault(app, params);
  if (params.fabricName.toLowerCase() !== 'azure')
    throw errors.resourceNotFound(`The fabric '${params.fabricName}' (only 'Azure' exists)`);
  return vault;
}

export const containerNotFound = (name: string) =>
  new ArmError(
    404,
    'BMSUserErrorContainerObjectNotFound',
    `The container '${name}' was not found in the vault. Run refreshContainers and take the name from protectableContainers; a VM appears there once its agent has registered with the vault's credentials.`,
  );

/** A container of the vault by name (case-insensitive); `registeredOnly` hides VMs not registered through ARM. */
export async function findContainer(app: FastifyInstance, params: ContainerPathParams, registeredOnly: boolean) {
  const vault = await findFabricVault(app, params);
  const container = await app.db.protectionContainer.findUnique({
    where: { vaultId_nameKey: { vaultId: vault.id, nameKey: params.containerName.toLowerCase() } },
  });
  if (container === null || (registeredOnly && container.registrationStatus === 'NotRegistered')) {
    throw containerNotFound(params.containerName);
  }
  return { vault, container: container as ProtectionContainer };
}

/** The container a protected item's path names: an unknown container is Azure's item-not-found. */
export function findItemContainer(app: FastifyInstance, params: ContainerPathParams) {
  return findContainer(app, params, false).catch(() => {
    throw errors.itemNotFound();
  });
}

/**
 * A protected item by its container and item names (case-insensitive), with its policy; `item` is null when the
 * container exists but protects no such database. An unknown container is Azure's item-not-found too.
 */
export async function findProtectedItem(
  app: FastifyInstance,
  params: ContainerPathParams & { protectedItemName: string },
) {
  const { vault, container } = await findItemContainer(app, params);
  const item = await app.db.protectedItem.findUnique({
    where: {
      containerId_itemNameKey: { containerId: container.id, itemNameKey: params.protectedItemName.toLowerCase() },
    },
    include: { policy: true },
  });
  return { vault, container, item };
}
