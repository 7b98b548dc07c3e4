import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ArmError, errors } from '../../domain/errors.ts';
import {
  ApiVersionQuery,
  Empty,
  listOf,
  ListQuery,
  responses,
  VaultParams,
  FabricParams,
  segment,
} from '../../arm/schemas.ts';
import { VAULT, vaultId } from '../../arm/paths.ts';
import { afterPair, page } from '../../arm/paging.ts';
import { filterEquals, readFilter } from '../../arm/filter.ts';
import { findVault } from '../../arm/vault-lookup.ts';
import { findFabricVault } from '../../arm/container-lookup.ts';
import { renderIntent } from './views/intents.ts';
import { model } from '../../arm/models/index.ts';

const IntentResource = model('ProtectionIntentResource');

const IntentParams = Type.Object({ ...FabricParams.properties, intentObjectName: segment(260) });
const IntentBody = Type.Object(
  {
    properties: Type.Object(
      {
        protectionIntentItemType: Type.String({ maxLength: 64 }),
        itemId: Type.String({ minLength: 1, maxLength: 2048 }),
        policyId: Type.String({ minLength: 1, maxLength: 1024 }),
        backupManagementType: Type.Optional(Type.String({ maxLength: 64 })),
        sourceResourceId: Type.Optional(Type.String({ maxLength: 1024 })),
      },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: true },
);
const INTENT = `${VAULT}/backupFabrics/:fabricName/backupProtectionIntent/:intentObjectName`;
const INTENT_TYPES = [
  'RecoveryServiceVaultItem',
  'AzureWorkloadAutoProtectionIntent',
  'AzureWorkloadSQLAutoProtectionIntent',
];
/** What auto-protection can be enabled on (az's `auto-enable-for-azurewl` takes these two protectable item types). */
const INTENT_ITEM_TYPES = ['SQLInstance', 'SQLAvailabilityGroupContainer'];
const tags = ['protection'];
const invalid = (message: string) => new ArmError(400, 'BMSUserErrorInvalidInput', message);

/**
 * Auto-protection (docs/protection.md): an intent on a SQL instance or an availability group (docs/availability-groups.md)
 * protects its databases now and every database discovered later (periodic discovery: RV_DISCOVERY_INTERVAL_SECONDS, 8 hours by default). Deleting the intent stops
 * new auto-protection and leaves protected databases protected.
 */
const intentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.put(
    INTENT,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/backupProtectionIntent/write' },
      schema: {
        tags,
        summary: 'Enable auto-protection of a SQL instance or availability group (200)',
        params: IntentParams,
        querystring: ApiVersionQuery,
        body: IntentBody,
        response: responses({ 200: IntentResource }),
      },
    },
    async (request) => {
      const vault = await findFabricVault(app, request.params);
      const { itemId, policyId, protectionIntentItemType } = request.body.properties;
      if (!INTENT_TYPES.includes(protectionIntentItemType))
        throw invalid(
          `protectionIntentItemType must be one of ${INTENT_TYPES.join(', ')} (got '${protectionIntentItemType}').`,
        );
      const containersPrefix = `${vaultId(vault)}/backupFabrics/Azure/protectionContainers/`.toLowerCase();
      const match = /^(.+)\/protectableItems\/(.+)$/i.exec(itemId.slice(containersPrefix.length));
      if (!itemId.toLowerCase().startsWith(containersPrefix) || match?.[1] === undefined || match[2] === undefined) {
        throw invalid(
          `itemId must be a SQL instance's or availability group's protectable item of this vault: '${vaultId(vault)}/backupFabrics/Azure/protectionContainers/<container>/protectableItems/SQLInstance;<instance>' or '.../SQLAvailabilityGroupContainer;<group>' (got '${itemId}').`,
        );
      }
      const container = await app.db.protectionContainer.findUnique({
        where: { vaultId_nameKey: { vaultId: vault.id, nameKey: match[1].toLowerCase() } },
      });
      const instance =
        container === null
          ? null
          : await app.db.sqlInstance.findUnique({
              where: { containerId_itemNameKey: { containerId: container.id, itemNameKey: match[2].toLowerCase() } },
            });
      if (container === null || container.registrationStatus !== 'Registered' || instance === null) {
        throw new ArmError(
          404,
          'BMSUserErrorDataSourceObjectNotFound',
          `The SQL instance or availability group '${match[2]}' was not found on a registered container of this vault; register the VM (every node of a group) and run inquire first.`,
        );
      }
      if (!instance.isProtectable)
        throw invalid(
          `'${instance.name}' cannot be auto-protected: ${(instance.inquiryError as { message?: string } | null)?.message ?? (instance.notProtectableReason as { message?: string } | null)?.message ?? 'not protectable'}`,
        );
      const policyPrefix = `${vaultId(vault)}/backupPolicies/`.toLowerCase();
      const policy = policyId.toLowerCase().startsWith(policyPrefix)
        ? await app.db.policy.findUnique({
            where: {
              vaultId_nameKey: { vaultId: vault.id, nameKey: policyId.slice(policyPrefix.length).toLowerCase() },
            },
          })
        : null;
      if (policy === null) throw invalid(`policyId '${policyId}' is not a policy of vault '${vault.name}'.`);
      if (policy.backupManagementType !== 'AzureWorkload')
        throw invalid(`The policy '${policy.name}' is an ${policy.backupManagementType} policy, not a SQL one.`);
      const name = request.params.intentObjectName;
      const now = app.clock.now();
      const fields = {
        containerId: container.id,
        itemName: instance.itemName,
        itemNameKey: instance.itemNameKey,
        policyId: policy.id,
        updatedAt: now,
      };
      const intent = await app.db.protectionIntent.upsert({
        where: { vaultId_nameKey: { vaultId: vault.id, nameKey: name.toLowerCase() } },
        create: { ...fields, vaultId: vault.id, name, nameKey: name.toLowerCase(), createdAt: now },
        update: fields,
      });
      await app.queues.maintenance.add(
        'autoprotect',
        { intentId: intent.id },
        { removeOnComplete: 1000, removeOnFail: 1000 },
      );
      return renderIntent(vault, intent, container, policy);
    },
  );

  const findIntent = async (params: {
    subscriptionId: string;
    resourceGroupName: string;
    vaultName: string;
    fabricName: string;
    intentObjectName: string;
  }) => {
    const vault = await findFabricVault(app, params);
    const intent = await app.db.protectionIntent.findUnique({
      where: { vaultId_nameKey: { vaultId: vault.id, nameKey: params.intentObjectName.toLowerCase() } },
      include: { policy: true, container: true },
    });
    return { vault, intent };
  };

  app.get(
    INTENT,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/backupProtectionIntent/read' },
      schema: {
        tags,
        summary: 'Get an auto-protection intent',
        params: IntentParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: IntentResource }),
      },
    },
    async (request) => {
      const { vault, intent } = await findIntent(request.params);
      if (intent === null) throw errors.resourceNotFound(`The protection intent '${request.params.intentObjectName}'`);
      return renderIntent(vault, intent, intent.container, intent.policy);
    },
  );

  app.delete(
    INTENT,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/backupProtectionIntent/delete' },
      schema: {
        tags,
        summary: 'Disable auto-protection (204); protected databases stay protected',
        params: IntentParams,
        querystring: ApiVersionQuery,
        response: responses({ 204: Empty }),
      },
    },
    async (request, reply) => {
      const { intent } = await findIntent(request.params);
      if (intent !== null) await app.db.protectionIntent.delete({ where: { id: intent.id } });
      return reply.code(204).send();
    },
  );

  app.get(
    `${VAULT}/backupProtectionIntents`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupProtectionIntents/read' },
      schema: {
        tags,
        summary: 'Auto-protection intents of a vault',
        params: VaultParams,
        querystring: ListQuery,
        response: responses({ 200: listOf(IntentResource) }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      const filter = readFilter(request, {
        backupManagementType: ['eq'],
        itemType: ['eq'],
        itemName: ['eq'],
        parentName: ['eq'],
        policyName: ['eq'],
      });
      const management = filterEquals(filter, 'backupManagementType');
      const itemType = filterEquals(filter, 'itemType');
      const itemName = filterEquals(filter, 'itemName');
      const parentName = filterEquals(filter, 'parentName');
      const policyName = filterEquals(filter, 'policyName');
      const types = INTENT_ITEM_TYPES.filter((t) => itemType === undefined || t === itemType);
      const matches = (management === undefined || management === 'AzureWorkload') && types.length > 0;
      return page(request, {
        path: `${vaultId(vault)}/backupProtectionIntents`,
        carry: { $filter: request.query.$filter },
        fetch: async (after, take) =>
          matches
            ? app.db.protectionIntent.findMany({
                where: {
                  vaultId: vault.id,
                  // An intent's item name starts with its protectable item type (`SQLInstance;…`).
                  OR: types.map((t) =>
                    itemName === undefined
                      ? { itemNameKey: { startsWith: `${t.toLowerCase()};` } }
                      : { itemNameKey: `${t};${itemName}`.toLowerCase() },
                  ),
                  ...(parentName === undefined ? {} : { container: { nameKey: parentName.toLowerCase() } }),
                  ...(policyName === undefined ? {} : { policy: { nameKey: policyName.toLowerCase() } }),
                  ...afterPair('nameKey', 'id', after),
                },
                orderBy: [{ nameKey: 'asc' }, { id: 'asc' }],
                include: { policy: true, container: true },
                take,
              })
            : [],
        cursorOf: (intent) => [intent.nameKey, intent.id],
        render: (intent) => renderIntent(vault, intent, intent.container, intent.policy),
      });
    },
  );
};

export default intentRoutes;
