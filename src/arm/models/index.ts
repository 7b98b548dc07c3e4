import { Type, type TSchema } from 'typebox';
import { ProtectableContainerResource, ProtectionContainerResource } from './containers.ts';
import { ProtectionIntentResource } from './intents.ts';
import { JobResource } from './jobs.ts';
import { OperationStatus } from './operations.ts';
import { ProtectionPolicyResource } from './policies.ts';
import { WorkloadItemResource, WorkloadProtectableItemResource } from './protectable-items.ts';
import { ProtectedItemResource } from './protected-items.ts';
import { RecoveryPointResource } from './recovery-points.ts';
import { BackupResourceConfigResource, BackupResourceVaultConfigResource, Usage, Vault } from './vaults.ts';

/**
 * The response models routes refer to by name: each is registered once as a shared schema (an OpenAPI component;
 * Fastify's serializer resolves the reference), instead of being repeated in every route that answers with it.
 */
const models = {
  Vault,
  Usage,
  BackupResourceVaultConfigResource,
  BackupResourceConfigResource,
  OperationStatus,
  ProtectionContainerResource,
  ProtectableContainerResource,
  WorkloadProtectableItemResource,
  WorkloadItemResource,
  ProtectionPolicyResource,
  ProtectedItemResource,
  RecoveryPointResource,
  ProtectionIntentResource,
  JobResource,
};

export const sharedModels: TSchema[] = Object.values(models);

/** A route's reference to a registered model, by its name. */
export const model = (name: keyof typeof models) => Type.Ref(name);
