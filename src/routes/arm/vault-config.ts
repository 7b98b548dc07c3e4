import { PROTECTED_ITEMS_PER_VAULT } from '../../domain/limits.ts';
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { Vault } from '../../generated/prisma/client.ts';
import { applySettingsChange, type SettingsChange } from '../../domain/vaults.ts';
import { errors } from '../../domain/errors.ts';
import { filterEquals, readFilter } from '../../arm/filter.ts';
import { ApiVersionQuery, Empty, FilterQuery, listOf, responses, VaultParams } from '../../arm/schemas.ts';
import { VAULT, vaultId } from '../../arm/paths.ts';
import { findVault, vaultContents, type VaultPathParams } from '../../arm/vault-lookup.ts';
import { settingsOf } from './vaults.ts';
import { model } from '../../arm/models/index.ts';

const StorageConfigResource = model('BackupResourceConfigResource');
const VaultConfigResource = model('BackupResourceVaultConfigResource');
const Usage = model('Usage');

const VaultConfigProperties = Type.Object(
  {
    softDeleteFeatureState: Type.Optional(Type.String({ maxLength: 32 })),
    softDeleteRetentionPeriodInDays: Type.Optional(Type.Integer()),
    enhancedSecurityState: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: true },
);
const VaultConfigBody = Type.Object(
  { properties: Type.Optional(VaultConfigProperties), eTag: Type.Optional(Type.String()) },
  { additionalProperties: true },
);
const StorageConfigBody = Type.Object(
  {
    properties: Type.Optional(
      Type.Object(
        {
          storageModelType: Type.Optional(Type.String({ maxLength: 64 })),
          storageType: Type.Optional(Type.String({ maxLength: 64 })),
          crossRegionRestoreFlag: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: true },
      ),
    ),
    eTag: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

function renderVaultConfig(vault: Vault, storageLocked: boolean) {
  return {
    id: `${vaultId(vault)}/backupconfig/vaultconfig`,
    name: 'vaultconfig' as const,
    type: 'Microsoft.RecoveryServices/vaults/backupconfig',
    eTag: vault.etag,
    properties: {
      softDeleteFeatureState: vault.softDeleteState,
      softDeleteRetentionPeriodInDays: vault.softDeleteRetentionDays,
      enhancedSecurityState: vault.enhancedSecurityState,
      isSoftDeleteFeatureStateEditable: vault.softDeleteState !== 'AlwaysON',
      storageModelType: vault.storageType,
      storageType: vault.storageType,
      storageTypeState: storageLocked ? 'Locked' : 'Unlocked',
      resourceGuardOperationRequests: [],
    },
  };
}

function renderStorageConfig(vault: Vault, storageLocked: boolean) {
  return {
    id: `${vaultId(vault)}/backupstorageconfig/vaultstorageconfig`,
    name: 'vaultstorageconfig' as const,
    type: 'Microsoft.RecoveryServices/vaults/backupstorageconfig',
    eTag: vault.etag,
    properties: {
      storageModelType: vault.storageType,
      storageType: vault.storageType,
      storageTypeState: storageLocked ? 'Locked' : 'Unlocked',
      crossRegionRestoreFlag: vault.crossRegionRestore,
      dedupState: 'Disabled',
      xcoolState: 'Disabled',
    },
  };
}

/** Reads a vault for a configuration change and applies the change through the domain rules. */
async function changeSettings(app: FastifyInstance, params: VaultPathParams, change: SettingsChange) {
  const vault = await findVault(app, params);
  const locked = (await vaultContents(app, vault)).protectedItems > 0;
  const settings = applySettingsChange(settingsOf(vault), change, { storageLocked: locked });
  const updated = await app.db.vault.update({
    where: { id: vault.id },
    data: { ...settings, updatedAt: app.clock.now() },
  });
  return { vault: updated, locked };
}

const vaultConfigChange = (body: Static<typeof VaultConfigBody>): SettingsChange => ({
  softDeleteState: body.properties?.softDeleteFeatureState,
  softDeleteRetentionDays: body.properties?.softDeleteRetentionPeriodInDays,
  enhancedSecurityState: body.properties?.enhancedSecurityState,
});

const storageConfigChange = (body: Static<typeof StorageConfigBody>): SettingsChange => {
  const { storageModelType, storageType } = body.properties ?? {};
  if (storageModelType !== undefined && storageType !== undefined && storageModelType !== storageType) {
    throw errors.invalidInput(`storageModelType '${storageModelType}' and storageType '${storageType}' disagree.`);
  }
  return { storageType: storageType ?? storageModelType, crossRegionRestore: body.properties?.crossRegionRestoreFlag };
};

/** vaultconfig (soft delete, enhanced security), vaultstorageconfig (redundancy) and usage of a vault. */
const vaultConfigRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const VAULT_CONFIG = `${VAULT}/backupconfig/vaultconfig`;
  const STORAGE_CONFIG = `${VAULT}/backupstorageconfig/vaultstorageconfig`;
  const read = 'Microsoft.RecoveryServices/vaults/backupconfig/read';
  const write = 'Microsoft.RecoveryServices/vaults/backupconfig/write';
  const tags = ['vault configuration'];

  app.get(
    VAULT_CONFIG,
    {
      config: { action: read },
      schema: {
        tags,
        summary: 'Get the backup configuration (soft delete)',
        params: VaultParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: VaultConfigResource }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      return renderVaultConfig(vault, (await vaultContents(app, vault)).protectedItems > 0);
    },
  );
  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: VAULT_CONFIG,
      config: { action: write },
      schema: {
        tags,
        summary: `${method === 'PUT' ? 'Replace' : 'Update'} the backup configuration`,
        params: VaultParams,
        querystring: ApiVersionQuery,
        body: VaultConfigBody,
        response: responses({ 200: VaultConfigResource }),
      },
      handler: async (request) => {
        const { vault, locked } = await changeSettings(app, request.params, vaultConfigChange(request.body));
        return renderVaultConfig(vault, locked);
      },
    });
  }

  const storageRead = 'Microsoft.RecoveryServices/vaults/backupstorageconfig/read';
  const storageWrite = 'Microsoft.RecoveryServices/vaults/backupstorageconfig/write';
  app.get(
    STORAGE_CONFIG,
    {
      config: { action: storageRead },
      schema: {
        tags,
        summary: 'Get the storage configuration (redundancy)',
        params: VaultParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: StorageConfigResource }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      return renderStorageConfig(vault, (await vaultContents(app, vault)).protectedItems > 0);
    },
  );
  app.put(
    STORAGE_CONFIG,
    {
      config: { action: storageWrite },
      schema: {
        tags,
        summary: 'Replace the storage configuration',
        params: VaultParams,
        querystring: ApiVersionQuery,
        body: StorageConfigBody,
        response: responses({ 200: StorageConfigResource }),
      },
    },
    async (request) => {
      const { vault, locked } = await changeSettings(app, request.params, storageConfigChange(request.body));
      return renderStorageConfig(vault, locked);
    },
  );
  app.patch(
    STORAGE_CONFIG,
    {
      config: { action: storageWrite },
      schema: {
        tags,
        summary: 'Update the storage configuration (204)',
        params: VaultParams,
        querystring: ApiVersionQuery,
        body: StorageConfigBody,
        response: responses({ 204: Empty }),
      },
    },
    async (request, reply) => {
      await changeSettings(app, request.params, storageConfigChange(request.body));
      return reply.code(204).send();
    },
  );

  app.get(
    `${VAULT}/usages`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/usages/read' },
      schema: {
        tags,
        summary: 'Usage of a vault',
        params: VaultParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: listOf(Usage) }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      const contents = await vaultContents(app, vault);
      const usage = (value: string, localizedValue: string, unit: string, currentValue: number, limit: number) => ({
        name: { value, localizedValue },
        unit,
        currentValue,
        limit,
        quotaPeriod: 'P1D',
        nextResetTime: '9999-12-31T23:59:59.9999999Z',
      });
      return {
        value: [
          usage('ProtectedItemCount', 'Protected Items', 'Count', contents.protectedItems, PROTECTED_ITEMS_PER_VAULT),
          usage('ProtectionContainerCount', 'Registered Servers', 'Count', contents.containers, -1),
          usage('StorageUsage', 'Backup Storage', 'Bytes', 0, -1),
        ],
      };
    },
  );

  const summaryKinds = ['BackupProtectedItemCountSummary', 'BackupProtectionContainerCountSummary'] as const;
  app.get(
    `${VAULT}/backupUsageSummaries`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupUsageSummaries/read' },
      schema: {
        tags,
        summary: 'Protected item and container counts against the limits',
        params: VaultParams,
        querystring: FilterQuery,
        response: responses({ 200: listOf(Usage) }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      const type = filterEquals(readFilter(request, { type: ['eq'] }), 'type', summaryKinds);
      const kinds = type === undefined ? summaryKinds : [type];
      const contents = await vaultContents(app, vault);
      const name = { value: 'AzureWorkload', localizedValue: 'SQL in Azure VM' };
      return {
        value: kinds.map((kind) =>
          kind === 'BackupProtectedItemCountSummary'
            ? { name, unit: 'Count', currentValue: contents.protectedItems, limit: PROTECTED_ITEMS_PER_VAULT }
            : { name, unit: 'Count', currentValue: contents.containers, limit: -1 },
        ),
      };
    },
  );
};

export default vaultConfigRoutes;
