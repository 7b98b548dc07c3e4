import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { randomUUID } from 'node:crypto';
import { Type, type Static } from 'typebox';
import type { Vault } from '../../generated/prisma/client.ts';
import { errors } from '../../domain/errors.ts';
import {
  applySettingsChange,
  assertVaultName,
  DEFAULT_VAULT_SETTINGS,
  vaultNameProblem,
  type SettingsChange,
  type VaultSettings,
} from '../../domain/vaults.ts';
import { createWrappedDataKey } from '../../storage/keys.ts';
import {
  AnyObject,
  listOf,
  PagedQuery,
  ResourceGroupParams,
  responses,
  SubscriptionParams,
  VaultParams,
  Empty,
  ApiVersionQuery,
} from '../../arm/schemas.ts';
import { accepted } from '../../arm/models/common.ts';
import { PROVIDER, RESOURCE_GROUP, SUBSCRIPTION, VAULT, vaultId } from '../../arm/paths.ts';
import { findVault, vaultContents, vaultScope } from '../../arm/vault-lookup.ts';
import { afterPair, page } from '../../arm/paging.ts';
import { defaultPolicies } from '../../services/default-policies.ts';
import { CheckNameAvailabilityResult } from '../../arm/models/vaults.ts';
import { model } from '../../arm/models/index.ts';

const VaultResource = model('Vault');

const Sku = Type.Object(
  {
    name: Type.Union([Type.Literal('RS0'), Type.Literal('Standard')]),
    tier: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: true },
);
const Tags = Type.Record(Type.String({ maxLength: 512 }), Type.String({ maxLength: 256 }));
const SoftDeleteSettings = Type.Object(
  {
    softDeleteState: Type.Optional(Type.String({ maxLength: 32 })),
    softDeleteRetentionPeriodInDays: Type.Optional(Type.Integer()),
    enhancedSecurityState: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: true },
);
const VaultPropertiesIn = Type.Object(
  {
    publicNetworkAccess: Type.Optional(Type.String({ maxLength: 32 })),
    redundancySettings: Type.Optional(
      Type.Object(
        {
          standardTierStorageRedundancy: Type.Optional(Type.String({ maxLength: 64 })),
          crossRegionRestore: Type.Optional(Type.Union([Type.Literal('Enabled'), Type.Literal('Disabled')])),
        },
        { additionalProperties: true },
      ),
    ),
    securitySettings: Type.Optional(
      Type.Object({ softDeleteSettings: Type.Optional(SoftDeleteSettings) }, { additionalProperties: true }),
    ),
  },
  { additionalProperties: true },
);
const VaultPut = Type.Object(
  {
    location: Type.String({ minLength: 1, maxLength: 64 }),
    tags: Type.Optional(Tags),
    sku: Type.Optional(Sku),
    identity: Type.Optional(AnyObject),
    etag: Type.Optional(Type.String()),
    properties: Type.Optional(VaultPropertiesIn),
  },
  { additionalProperties: true },
);
const VaultPatch = Type.Partial(VaultPut, { additionalProperties: true });

type VaultProperties = Static<typeof VaultPropertiesIn>;

/** Read-only or interpreted vault properties: never stored among the echoed extras. */
const MANAGED_PROPERTIES = new Set([
  'provisioningState',
  'publicNetworkAccess',
  'redundancySettings',
  'securitySettings',
  'privateEndpointConnections',
  'privateEndpointStateForBackup',
  'privateEndpointStateForSiteRecovery',
  'backupStorageVersion',
  'upgradeDetails',
  'moveDetails',
  'moveState',
  'secureScore',
  'bcdrSecurityLevel',
]);

function settingsChange(properties: VaultProperties | undefined): SettingsChange {
  const softDelete = properties?.securitySettings?.softDeleteSettings;
  const redundancy = properties?.redundancySettings;
  return {
    publicNetworkAccess: properties?.publicNetworkAccess,
    softDeleteState: softDelete?.softDeleteState,
    softDeleteRetentionDays: softDelete?.softDeleteRetentionPeriodInDays,
    enhancedSecurityState: softDelete?.enhancedSecurityState,
    storageType: redundancy?.standardTierStorageRedundancy,
    crossRegionRestore:
      redundancy?.crossRegionRestore === undefined ? undefined : redundancy.crossRegionRestore === 'Enabled',
  };
}

function extraProperties(properties: VaultProperties | undefined, previous: object = {}): Record<string, unknown> {
  const extras: Record<string, unknown> = { ...previous };
  for (const [key, value] of Object.entries(properties ?? {})) if (!MANAGED_PROPERTIES.has(key)) extras[key] = value;
  // Security settings other than soft delete (immutability, …) are echoed; soft delete is interpreted.
  const { softDeleteSettings: _interpreted, ...otherSecurity } = properties?.securitySettings ?? {};
  if (Object.keys(otherSecurity).length > 0) extras.securitySettings = otherSecurity;
  return extras;
}

export function settingsOf(vault: Vault): VaultSettings {
  return {
    publicNetworkAccess: vault.publicNetworkAccess,
    softDeleteState: vault.softDeleteState,
    softDeleteRetentionDays: vault.softDeleteRetentionDays,
    enhancedSecurityState: vault.enhancedSecurityState,
    storageType: vault.storageType,
    crossRegionRestore: vault.crossRegionRestore,
  };
}

export function renderVault(vault: Vault) {
  const { securitySettings: otherSecurity, ...extras } = vault.extraProperties as { securitySettings?: object };
  return {
    id: vaultId(vault),
    name: vault.name,
    type: 'Microsoft.RecoveryServices/vaults' as const,
    location: vault.location,
    tags: vault.tags as Record<string, string>,
    sku: vault.sku as object,
    ...(vault.identity === null ? {} : { identity: vault.identity as object }),
    etag: vault.etag,
    properties: {
      ...extras,
      provisioningState: vault.provisioningState,
      publicNetworkAccess: vault.publicNetworkAccess,
      privateEndpointStateForBackup: 'None',
      privateEndpointStateForSiteRecovery: 'None',
      backupStorageVersion: 'V2',
      redundancySettings: {
        standardTierStorageRedundancy: vault.storageType,
        crossRegionRestore: vault.crossRegionRestore ? 'Enabled' : 'Disabled',
      },
      securitySettings: {
        ...otherSecurity,
        softDeleteSettings: {
          softDeleteState: vault.softDeleteState,
          softDeleteRetentionPeriodInDays: vault.softDeleteRetentionDays,
          enhancedSecurityState: vault.enhancedSecurityState,
        },
      },
    },
    systemData: {
      createdBy: vault.createdBy,
      createdByType: 'Application',
      createdAt: vault.createdAt.toISOString(),
      lastModifiedBy: vault.createdBy,
      lastModifiedByType: 'Application',
      lastModifiedAt: vault.updatedAt.toISOString(),
    },
  };
}

const newEtag = () => `W/"datetime'${randomUUID()}'"`;

/** The fields every change of an existing vault writes: its settings through the domain rules, a new etag. */
async function changedVault(app: FastifyInstance, vault: Vault, properties: VaultProperties | undefined) {
  const contents = await vaultContents(app, vault);
  const settings = applySettingsChange(settingsOf(vault), settingsChange(properties), {
    storageLocked: contents.protectedItems > 0,
  });
  return { ...settings, etag: newEtag(), updatedAt: app.clock.now() };
}

const vaultRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.put(
    VAULT,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/write' },
      schema: {
        tags: ['vaults'],
        summary: 'Create or update a vault',
        params: VaultParams,
        querystring: ApiVersionQuery,
        body: VaultPut,
        response: responses({ 200: VaultResource, 201: VaultResource }),
      },
    },
    async (request, reply) => {
      const { subscriptionId, resourceGroupName, vaultName } = request.params;
      assertVaultName(vaultName);
      const body = request.body;
      const key = {
        subscriptionId: subscriptionId.toLowerCase(),
        resourceGroupKey: resourceGroupName.toLowerCase(),
        nameKey: vaultName.toLowerCase(),
      };
      const now = app.clock.now();
      const existing = await app.db.vault.findUnique({ where: { subscriptionId_resourceGroupKey_nameKey: key } });
      if (existing?.provisioningState === 'Deleting') {
        throw errors.conflict('ResourceBeingDeleted', `The vault '${vaultName}' is being deleted.`);
      }
      if (existing !== null) {
        const updated = await app.db.vault.update({
          where: { id: existing.id },
          data: {
            ...(await changedVault(app, existing, body.properties)),
            tags: body.tags ?? {},
            sku: body.sku ?? (existing.sku as object),
            ...(body.identity === undefined ? {} : { identity: body.identity }),
            extraProperties: extraProperties(body.properties) as object,
          },
        });
        return reply.code(200).send(renderVault(updated));
      }
      const settings = applySettingsChange(DEFAULT_VAULT_SETTINGS, settingsChange(body.properties), {
        storageLocked: false,
      });
      try {
        const created = await app.db.vault.create({
          data: {
            ...key,
            resourceGroup: resourceGroupName,
            name: vaultName,
            location: body.location,
            tags: body.tags ?? {},
            sku: body.sku ?? { name: 'RS0', tier: 'Standard' },
            ...(body.identity === undefined ? {} : { identity: body.identity }),
            extraProperties: extraProperties(body.properties) as object,
            ...settings,
            etag: newEtag(),
            wrappedDataKey: new Uint8Array(createWrappedDataKey(app.config.masterKey)),
            createdBy: request.caller?.principalId ?? 'unknown',
            createdAt: now,
            updatedAt: now,
            // Azure's default policies come with the vault, in the same statement.
            policies: { create: defaultPolicies(now) },
          },
        });
        return reply.code(201).send(renderVault(created));
      } catch (error) {
        if ((error as { code?: string }).code === 'P2002') {
          throw errors.conflict('Conflict', `The vault '${vaultName}' was created by a concurrent request; retry.`);
        }
        throw error;
      }
    },
  );

  app.get(
    VAULT,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/read' },
      schema: {
        tags: ['vaults'],
        summary: 'Get a vault',
        params: VaultParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: VaultResource }),
      },
    },
    async (request) => renderVault(await findVault(app, request.params)),
  );

  app.patch(
    VAULT,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/write' },
      schema: {
        tags: ['vaults'],
        summary: 'Update a vault (tags, sku, settings)',
        params: VaultParams,
        querystring: ApiVersionQuery,
        body: VaultPatch,
        response: responses({ 200: VaultResource }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      if (vault.provisioningState === 'Deleting') {
        throw errors.conflict('ResourceBeingDeleted', `The vault '${vault.name}' is being deleted.`);
      }
      const body = request.body;
      if (body.location !== undefined && body.location.toLowerCase() !== vault.location.toLowerCase()) {
        throw errors.badRequest('LocationNotAvailableForResourceType', 'The location of a vault cannot change.');
      }
      const updated = await app.db.vault.update({
        where: { id: vault.id },
        data: {
          ...(await changedVault(app, vault, body.properties)),
          ...(body.tags === undefined ? {} : { tags: body.tags }),
          ...(body.sku === undefined ? {} : { sku: body.sku }),
          ...(body.identity === undefined ? {} : { identity: body.identity }),
          extraProperties: extraProperties(body.properties, vault.extraProperties as object) as object,
        },
      });
      return renderVault(updated);
    },
  );

  app.delete(
    VAULT,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/delete' },
      schema: {
        tags: ['vaults'],
        summary: 'Delete a vault (asynchronous; refused while it holds containers or items)',
        params: VaultParams,
        querystring: ApiVersionQuery,
        response: responses({ 202: accepted('Deletion accepted'), 204: Empty }),
      },
    },
    async (request, reply) => {
      let vault: Vault;
      try {
        vault = await findVault(app, request.params);
      } catch {
        return reply.code(204).send(); // ARM: deleting what does not exist succeeds
      }
      const contents = await vaultContents(app, vault);
      if (contents.containers > 0 || contents.protectedItems > 0) throw errors.vaultNotEmpty();
      const claimed = await app.db.vault.updateMany({
        where: { id: vault.id, provisioningState: { not: 'Deleting' } },
        data: { provisioningState: 'Deleting', updatedAt: app.clock.now() },
      });
      if (claimed.count === 0)
        throw errors.conflict('ResourceBeingDeleted', `The vault '${vault.name}' is already being deleted.`);
      const operation = await app.operations.start(vaultScope(request.params), 'vault.delete', { vaultId: vault.id });
      const base = vaultId(vault);
      return app.operations.accepted(request, reply, operation, {
        status: `${base}/operationStatus/${operation.id}`,
        result: `${base}/operationResults/${operation.id}`,
      });
    },
  );

  const listSchema = (params: typeof SubscriptionParams | typeof ResourceGroupParams, summary: string) => ({
    config: { action: 'Microsoft.RecoveryServices/vaults/read' },
    schema: {
      tags: ['vaults'],
      summary,
      params,
      querystring: PagedQuery,
      response: responses({ 200: listOf(VaultResource) }),
    },
  });

  app.get(
    `${RESOURCE_GROUP}/${PROVIDER}/vaults`,
    listSchema(ResourceGroupParams, 'List the vaults of a resource group'),
    async (request) => {
      const { subscriptionId, resourceGroupName } = request.params as Static<typeof ResourceGroupParams>;
      const where = { subscriptionId: subscriptionId.toLowerCase(), resourceGroupKey: resourceGroupName.toLowerCase() };
      return page(request, {
        path: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/${PROVIDER}/vaults`,
        fetch: (after, take) =>
          app.db.vault.findMany({
            where: after === undefined ? where : { ...where, nameKey: { gt: after[0] } },
            orderBy: { nameKey: 'asc' },
            take,
          }),
        cursorOf: (vault) => [vault.nameKey],
        render: renderVault,
      });
    },
  );

  app.get(
    `${SUBSCRIPTION}/${PROVIDER}/vaults`,
    listSchema(SubscriptionParams, 'List the vaults of a subscription'),
    async (request) => {
      const { subscriptionId } = request.params as Static<typeof SubscriptionParams>;
      const where = { subscriptionId: subscriptionId.toLowerCase() };
      return page(request, {
        path: `/subscriptions/${subscriptionId}/${PROVIDER}/vaults`,
        fetch: (after, take) =>
          app.db.vault.findMany({
            where: { ...where, ...afterPair('nameKey', 'resourceGroupKey', after) },
            orderBy: [{ nameKey: 'asc' }, { resourceGroupKey: 'asc' }],
            take,
          }),
        cursorOf: (vault) => [vault.nameKey, vault.resourceGroupKey],
        render: renderVault,
      });
    },
  );

  const CheckNameBody = Type.Object(
    { name: Type.String({ minLength: 1, maxLength: 260 }), type: Type.String({ maxLength: 128 }) },
    { additionalProperties: true },
  );
  app.post(
    `${RESOURCE_GROUP}/${PROVIDER}/locations/:location/checkNameAvailability`,
    {
      config: { action: 'Microsoft.RecoveryServices/locations/checkNameAvailability/action' },
      schema: {
        tags: ['vaults'],
        summary: 'Check whether a vault name is available in a resource group',
        params: Type.Object({ ...ResourceGroupParams.properties, location: Type.String({ maxLength: 64 }) }),
        querystring: ApiVersionQuery,
        body: CheckNameBody,
        response: responses({ 200: CheckNameAvailabilityResult }),
      },
    },
    async (request) => {
      const { subscriptionId, resourceGroupName } = request.params;
      const { name, type } = request.body;
      if (type.toLowerCase() !== 'microsoft.recoveryservices/vaults') {
        throw errors.invalidInput(
          `The resource type '${type}' is not supported; use Microsoft.RecoveryServices/Vaults.`,
        );
      }
      const problem = vaultNameProblem(name);
      if (problem !== undefined) return { nameAvailable: false, reason: 'Invalid', message: problem };
      const taken = await app.db.vault.count({
        where: {
          subscriptionId: subscriptionId.toLowerCase(),
          resourceGroupKey: resourceGroupName.toLowerCase(),
          nameKey: name.toLowerCase(),
        },
      });
      return taken > 0
        ? { nameAvailable: false, reason: 'AlreadyExists', message: 'Resource already exists with the same name.' }
        : { nameAvailable: true };
    },
  );
};

export default vaultRoutes;
