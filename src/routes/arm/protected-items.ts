import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { groupProtectionProblem } from '../../services/availability-groups.ts';
import { Type } from 'typebox';
import type { Operation, Vault } from '../../generated/prisma/client.ts';
import { ArmError, errors } from '../../domain/errors.ts';
import { startJob } from '../../jobs/job-records.ts';
import { activityIdOf } from '../../arm/activity.ts';
import { protect } from '../../services/protection.ts';
import { isBackupType } from '../../protocol/agent.ts';
import {
  ApiVersionQuery,
  Empty,
  listOf,
  ListQuery,
  responses,
  VaultParams,
  ProtectedItemParams,
  segment,
} from '../../arm/schemas.ts';
import { VAULT, vaultId, protectedItemId } from '../../arm/paths.ts';
import { page } from '../../arm/paging.ts';
import { filterEquals, readFilter } from '../../arm/filter.ts';
import { protectedItemOfContainer, protectedItemsOfVault } from '../../services/protected-item-views.ts';
import { findVault, vaultScope } from '../../arm/vault-lookup.ts';
import { findItemContainer, findProtectedItem, type ContainerPathParams } from '../../arm/container-lookup.ts';
import { operationResult, operationStatus } from '../../arm/operation-views.ts';
import { accepted as acceptedAnswer, StillRunning } from '../../arm/models/common.ts';
import { protectedItemRenderer } from './views/protected-items.ts';
import { model } from '../../arm/models/index.ts';

const ItemResource = model('ProtectedItemResource');
const OperationStatus = model('OperationStatus');

const ItemOperationParams = Type.Object({ ...ProtectedItemParams.properties, operationId: segment(64) });
const ItemBody = Type.Object(
  {
    properties: Type.Object(
      {
        protectedItemType: Type.String({ maxLength: 64 }),
        policyId: Type.Optional(Type.String({ maxLength: 1024 })),
        protectionState: Type.Optional(Type.String({ maxLength: 64 })),
        isRehydrate: Type.Optional(Type.Boolean()),
        backupManagementType: Type.Optional(Type.String({ maxLength: 64 })),
        workloadType: Type.Optional(Type.String({ maxLength: 64 })),
      },
      { additionalProperties: true },
    ),
    location: Type.Optional(Type.String({ maxLength: 64 })),
    eTag: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
const ITEM = `${VAULT}/backupFabrics/:fabricName/protectionContainers/:containerName/protectedItems/:protectedItemName`;
const tags = ['protection'];
const invalidConfigure = (message: string) =>
  new ArmError(400, 'BMSUserErrorInvalidConfigureProtectionRequest', message);

/**
 * Configure protection, change policy, stop (keeping data), resume, stop and delete data (soft delete), undelete
 * (docs/protection.md). Every change is a 202 with an operation and a job, as Azure answers them.
 */
const protectedItemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  type ItemPath = ContainerPathParams & { protectedItemName: string };
  const findItem = (params: ItemPath) => findProtectedItem(app, params);
  /** The item as its view shows it (null when the container protects no such database). */
  const findItemView = async (params: ItemPath) => {
    const { vault, container } = await findItemContainer(app, params);
    return { vault, item: await protectedItemOfContainer(app.db, container.id, params.protectedItemName) };
  };
  const policyFromId = async (vault: Vault, id: string) => {
    const prefix = `${vaultId(vault)}/backupPolicies/`.toLowerCase();
    if (!id.toLowerCase().startsWith(prefix) || id.length === prefix.length) {
      throw invalidConfigure(
        `policyId '${id}' is not a policy of vault '${vault.name}' (expected '${vaultId(vault)}/backupPolicies/<name>').`,
      );
    }
    const policy = await app.db.policy.findUnique({
      where: { vaultId_nameKey: { vaultId: vault.id, nameKey: id.slice(prefix.length).toLowerCase() } },
    });
    if (policy === null)
      throw invalidConfigure(`The policy '${id.slice(prefix.length)}' does not exist in vault '${vault.name}'.`);
    if (policy.backupManagementType !== 'AzureWorkload')
      throw invalidConfigure(
        `The policy '${policy.name}' is an ${policy.backupManagementType} policy; a SQL database needs an AzureWorkload policy.`,
      );
    return policy;
  };
  const accepted = (
    request: Parameters<typeof app.operations.accepted>[0],
    reply: Parameters<typeof app.operations.accepted>[1],
    operation: Operation,
    base: string,
  ) =>
    app.operations.accepted(request, reply, operation, {
      status: `${base}/operationsStatus/${operation.id}`,
      result: `${base}/operationResults/${operation.id}`,
    });

  app.put(
    ITEM,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/write' },
      schema: {
        tags,
        summary: 'Configure protection, change policy, stop protection keeping data, resume, or undelete (isRehydrate)',
        params: ProtectedItemParams,
        querystring: ApiVersionQuery,
        body: ItemBody,
        response: responses({ 202: acceptedAnswer('Accepted: the operation gives the job') }),
      },
    },
    async (request, reply) => {
      const properties = request.body.properties;
      if (properties.protectedItemType !== 'AzureVmWorkloadSQLDatabase') {
        throw invalidConfigure(
          `protectedItemType must be 'AzureVmWorkloadSQLDatabase' for a SQL database (got '${properties.protectedItemType}').`,
        );
      }
      const { vault, container, item } = await findItem(request.params);
      const scope = vaultScope(request.params);
      const entity = `${item?.friendlyName ?? request.params.protectedItemName} [${container.friendlyName}]`;
      const base = protectedItemId(vault, container, { itemName: item?.itemName ?? request.params.protectedItemName });
      const target = {
        vaultId: vault.id,
        containerId: container.id,
        itemNameKey: request.params.protectedItemName.toLowerCase(),
      };

      if (properties.isRehydrate === true) {
        if (item === null || item.deferredDeleteAt === null)
          throw invalidConfigure(
            `The item '${request.params.protectedItemName}' is not soft-deleted; only soft-deleted items can be undeleted.`,
          );
        const job = await startJob(app, vault.id, 'Undelete', entity, { activityId: activityIdOf(request) });
        return accepted(request, reply, await app.operations.start(scope, 'item.undelete', target, job.id), base);
      }
      if (item?.deferredDeleteAt != null) {
        throw invalidConfigure(
          `The item '${item.itemName}' is soft-deleted; undelete it (isRehydrate: true) before changing its protection.`,
        );
      }
      const state = properties.protectionState;
      const stopping = state === 'ProtectionStopped' || state === 'BackupsSuspended';
      if (stopping && (properties.policyId === undefined || properties.policyId === '')) {
        if (item === null) throw errors.itemNotFound();
        const job = await startJob(app, vault.id, 'DisableBackup', entity, { activityId: activityIdOf(request) });
        return accepted(
          request,
          reply,
          await app.operations.start(scope, 'item.stop', { ...target, state }, job.id),
          base,
        );
      }
      if (properties.policyId === undefined || properties.policyId === '') {
        throw invalidConfigure(
          'properties.policyId is required to configure protection (or protectionState ProtectionStopped to stop it).',
        );
      }
      if (container.registrationStatus !== 'Registered')
        throw invalidConfigure(`The container '${container.name}' is not registered.`);
      const policy = await policyFromId(vault, properties.policyId);
      const database = await app.db.sqlDatabase.findUnique({
        where: {
          containerId_itemNameKey: {
            containerId: container.id,
            itemNameKey: request.params.protectedItemName.toLowerCase(),
          },
        },
      });
      if (database === null) {
        throw new ArmError(
          404,
          'BMSUserErrorDataSourceObjectNotFound',
          `The database '${request.params.protectedItemName}' was not discovered on '${container.name}'. Run inquire (Rediscover DBs) and take the name from backupProtectableItems.`,
        );
      }
      if (!database.isProtectable) {
        const reason = database.notProtectableReason as { code?: string; message?: string } | null;
        throw new ArmError(
          400,
          reason?.code ?? 'BMSUserErrorInvalidConfigureProtectionRequest',
          reason?.message ?? `The database '${database.itemName}' cannot be protected.`,
        );
      }
      const unmet = await groupProtectionProblem(app, container);
      if (unmet !== undefined) throw new ArmError(400, unmet.code, unmet.message);
      const { item: protectedItem, created } = await protect(app, vault, database, policy);
      const job = await startJob(app, vault.id, 'ConfigureBackup', `${database.name} [${container.friendlyName}]`, {
        activityId: activityIdOf(request),
      });
      const operation = await app.operations.start(
        scope,
        'item.configure',
        { ...target, itemId: protectedItem.id, created },
        job.id,
      );
      return accepted(request, reply, operation, protectedItemId(vault, container, protectedItem));
    },
  );

  app.get(
    ITEM,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/read' },
      schema: {
        tags,
        summary: 'Get a protected item',
        params: ProtectedItemParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: ItemResource }),
      },
    },
    async (request) => {
      const { vault, item } = await findItemView(request.params);
      if (item === null) throw errors.itemNotFound();
      return protectedItemRenderer(vault, app.clock.now())(item);
    },
  );

  app.delete(
    ITEM,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/delete' },
      schema: {
        tags,
        summary: 'Stop protection and delete backup data (soft-deleted while the vault keeps deleted data)',
        params: ProtectedItemParams,
        querystring: ApiVersionQuery,
        response: responses({ 202: acceptedAnswer('Deletion accepted'), 204: Empty }),
      },
    },
    async (request, reply) => {
      const { vault, container, item } = await findItem(request.params);
      if (item === null || item.deferredDeleteAt !== null) return reply.code(204).send();
      const job = await startJob(
        app,
        vault.id,
        'DeleteBackupData',
        `${item.friendlyName} [${container.friendlyName}]`,
        {
          activityId: activityIdOf(request),
        },
      );
      const operation = await app.operations.start(
        vaultScope(request.params),
        'item.delete',
        { vaultId: vault.id, containerId: container.id, itemNameKey: item.itemNameKey },
        job.id,
      );
      return app.operations.accepted(request, reply, operation, {
        status: `${vaultId(vault)}/backupOperations/${operation.id}`,
        result: `${vaultId(vault)}/backupOperationResults/${operation.id}`,
      });
    },
  );

  const BackupBody = Type.Object(
    {
      properties: Type.Object(
        {
          objectType: Type.String({ maxLength: 64 }),
          backupType: Type.Optional(Type.String({ maxLength: 32 })),
          enableCompression: Type.Optional(Type.Boolean()),
          recoveryPointExpiryTimeInUTC: Type.Optional(Type.String({ format: 'date-time' })),
        },
        { additionalProperties: true },
      ),
    },
    { additionalProperties: true },
  );
  app.post(
    `${ITEM}/backup`,
    {
      config: {
        action: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/backup/action',
      },
      schema: {
        tags,
        summary: 'Back up now: Full, Differential, Log or CopyOnlyFull (202; the operation gives the Backup job)',
        params: ProtectedItemParams,
        querystring: ApiVersionQuery,
        body: BackupBody,
        response: responses({ 202: acceptedAnswer('Backup accepted: the operation gives the Backup job') }),
      },
    },
    async (request, reply) => {
      const { properties } = request.body;
      if (properties.objectType !== 'AzureWorkloadBackupRequest') {
        throw errors.invalidInput(
          `properties.objectType must be 'AzureWorkloadBackupRequest' for a SQL database (got '${properties.objectType}').`,
        );
      }
      const backupType = properties.backupType ?? 'Full';
      if (!isBackupType(backupType)) {
        throw errors.invalidInput(
          `properties.backupType must be Full, Differential, Log or CopyOnlyFull (got '${backupType}').`,
        );
      }
      const { vault, container, item } = await findItem(request.params);
      if (item === null || item.deferredDeleteAt !== null) throw errors.itemNotFound();
      if (
        item.protectionState !== 'IRPending' &&
        item.protectionState !== 'Protected' &&
        item.protectionState !== 'ProtectionError'
      ) {
        throw new ArmError(
          400,
          'BMSUserErrorBackupNotAllowed',
          `The item '${item.itemName}' is ${item.protectionState}; resume protection before backing it up.`,
        );
      }
      const now = app.clock.now();
      let expiresAt: string | undefined;
      if (backupType === 'Full' || backupType === 'CopyOnlyFull') {
        // azure-cli's defaults when none is given: 45 days for a Full, 30 for a CopyOnlyFull.
        const expiry =
          properties.recoveryPointExpiryTimeInUTC === undefined
            ? new Date(now.getTime() + (backupType === 'Full' ? 45 : 30) * 86_400_000)
            : new Date(properties.recoveryPointExpiryTimeInUTC);
        if (expiry <= now)
          throw errors.invalidInput(
            `recoveryPointExpiryTimeInUTC must be in the future (got ${expiry.toISOString()}).`,
          );
        expiresAt = expiry.toISOString();
      }
      const operation = await app.operations.start(vaultScope(request.params), 'item.backup', {
        vaultId: vault.id,
        containerId: container.id,
        itemNameKey: item.itemNameKey,
        backupType,
        activityId: activityIdOf(request),
        ...(expiresAt === undefined ? {} : { expiresAt }),
        ...(properties.enableCompression === undefined ? {} : { compress: properties.enableCompression }),
      });
      return accepted(request, reply, operation, protectedItemId(vault, container, item));
    },
  );

  const itemOperation = async (params: ItemPath & { operationId: string }) => {
    const operation = await app.operations.find(vaultScope(params), params.operationId);
    if ((operation.target as { itemNameKey?: string }).itemNameKey !== params.protectedItemName.toLowerCase())
      throw errors.operationNotFound(params.operationId);
    return operation;
  };
  app.get(
    `${ITEM}/operationsStatus/:operationId`,
    {
      config: {
        action:
          'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/operationsStatus/read',
      },
      schema: {
        tags,
        summary: 'Status of an operation on a protected item',
        params: ItemOperationParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: OperationStatus }),
      },
    },
    async (request) => operationStatus(await itemOperation(request.params)),
  );
  app.get(
    `${ITEM}/operationResults/:operationId`,
    {
      config: {
        action:
          'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/operationResults/read',
      },
      schema: {
        tags,
        summary: 'Result of an operation on a protected item: 202 while running, then the item (204 once it is gone)',
        params: ItemOperationParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: ItemResource, 202: StillRunning, 204: Empty }),
      },
    },
    async (request, reply) => {
      const operation = await itemOperation(request.params);
      return operationResult(reply, operation, async () => {
        const { vault, item } = await findItemView(request.params);
        return item === null
          ? reply.code(204).send()
          : reply.code(200).send(protectedItemRenderer(vault, app.clock.now())(item));
      });
    },
  );

  app.get(
    `${VAULT}/backupProtectedItems`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupProtectedItems/read' },
      schema: {
        tags,
        summary: 'Protected items of a vault',
        params: VaultParams,
        querystring: ListQuery,
        response: responses({ 200: listOf(ItemResource) }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      const filter = readFilter(request, {
        backupManagementType: ['eq'],
        itemType: ['eq'],
        workloadType: ['eq'],
        policyName: ['eq'],
        containerName: ['eq'],
        friendlyName: ['eq'],
      });
      const management = filterEquals(filter, 'backupManagementType');
      const itemType = filterEquals(filter, 'itemType') ?? filterEquals(filter, 'workloadType');
      const matches =
        (management === undefined || management === 'AzureWorkload') &&
        (itemType === undefined || itemType === 'SQLDataBase');
      const render = protectedItemRenderer(vault, app.clock.now());
      return page(request, {
        path: `${vaultId(vault)}/backupProtectedItems`,
        carry: { $filter: request.query.$filter },
        fetch: async (after, take) =>
          matches
            ? protectedItemsOfVault(
                app.db,
                vault.id,
                {
                  policyName: filterEquals(filter, 'policyName'),
                  containerName: filterEquals(filter, 'containerName'),
                  friendlyName: filterEquals(filter, 'friendlyName'),
                },
                after,
                take,
              )
            : [],
        cursorOf: (item) => [item.itemNameKey, item.id],
        render,
      });
    },
  );
};

export default protectedItemRoutes;
