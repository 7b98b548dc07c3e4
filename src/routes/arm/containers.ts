import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Operation } from '../../generated/prisma/client.ts';
import { ArmError, errors } from '../../domain/errors.ts';
import { startJob } from '../../jobs/job-records.ts';
import { activityIdOf } from '../../arm/activity.ts';
import {
  ApiVersionQuery,
  Empty,
  FilterQuery,
  listOf,
  ListQuery,
  responses,
  VaultParams,
  FabricParams,
  ContainerParams,
  segment,
} from '../../arm/schemas.ts';
import { VAULT, vaultId, containerId, fabricId } from '../../arm/paths.ts';
import { afterPair, page } from '../../arm/paging.ts';
import { filterEquals, readFilter } from '../../arm/filter.ts';
import { findVault, vaultScope } from '../../arm/vault-lookup.ts';
import {
  containerNotFound,
  findContainer,
  findFabricVault,
  type ContainerPathParams,
} from '../../arm/container-lookup.ts';
import { operationResult, operationStatus } from '../../arm/operation-views.ts';
import { assertSqlBackupAvailableIn } from '../../domain/support-matrix.ts';
import { containerNodes, protectedGroupsOf } from '../../services/availability-groups.ts';
import { accepted, StillRunning } from '../../arm/models/common.ts';
import { renderContainer, renderProtectableContainer } from './views/containers.ts';
import { model } from '../../arm/models/index.ts';

const ContainerResource = model('ProtectionContainerResource');
const ProtectableContainerResource = model('ProtectableContainerResource');
const OperationStatus = model('OperationStatus');

const FABRIC = `${VAULT}/backupFabrics/:fabricName`;
const CONTAINER = `${FABRIC}/protectionContainers/:containerName`;
const ContainerOperationParams = Type.Object({ ...ContainerParams.properties, operationId: segment(64) });
const FabricOperationParams = Type.Object({ ...FabricParams.properties, operationId: segment(64) });

const RegisterBody = Type.Object(
  {
    properties: Type.Object(
      {
        containerType: Type.String({ maxLength: 64 }),
        backupManagementType: Type.Optional(Type.String({ maxLength: 64 })),
        sourceResourceId: Type.Optional(Type.String({ maxLength: 1024 })),
        workloadType: Type.Optional(Type.String({ maxLength: 64 })),
        operationType: Type.Optional(
          Type.Union([Type.Literal('Invalid'), Type.Literal('Register'), Type.Literal('Reregister')]),
        ),
        friendlyName: Type.Optional(Type.String({ maxLength: 256 })),
      },
      { additionalProperties: true },
    ),
    eTag: Type.Optional(Type.String()),
    location: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

const tags = ['containers'];
const managementTypes = [
  'AzureWorkload',
  'AzureIaasVM',
  'MAB',
  'DPM',
  'AzureBackupServer',
  'AzureSql',
  'AzureStorage',
  'Invalid',
  'DefaultBackup',
];
/** Only AzureWorkload exists here; filtering on another management type matches nothing. */
const isWorkloadFilter = (value: string | undefined) => value === undefined || value === 'AzureWorkload';

/**
 * Registration and discovery: refresh → protectable containers → register (LRO, the agent installs
 * the extension) → inquire (the agent reports inventory) → unregister. Async steps answer as the SDKs poll.
 */
const containerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const unhealthyAfter = app.config.agent.unhealthyAfterSeconds;
  /** An operation of this container (it may be gone since: unregistration deletes it). */
  const containerOperation = async (params: ContainerPathParams & { operationId: string }): Promise<Operation> => {
    const operation = await app.operations.find(vaultScope(params), params.operationId);
    const target = operation.target as { containerNameKey?: string };
    if (target.containerNameKey !== params.containerName.toLowerCase())
      throw errors.operationNotFound(params.operationId);
    return operation;
  };

  app.post(
    `${FABRIC}/refreshContainers`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/refreshContainers/action' },
      schema: {
        tags,
        summary: 'Discover VMs whose agents registered with the vault (202; poll the Location)',
        params: FabricParams,
        querystring: FilterQuery,
        response: responses({ 202: accepted('Refresh accepted', false) }),
      },
    },
    async (request, reply) => {
      const vault = await findFabricVault(app, request.params);
      readFilter(request, { backupManagementType: ['eq'] });
      const operation = await app.operations.start(vaultScope(request.params), 'fabric.refresh', { vaultId: vault.id });
      return app.operations.accepted(request, reply, operation, {
        result: `${fabricId(vault)}/operationResults/${operation.id}`,
      });
    },
  );

  app.get(
    `${FABRIC}/operationResults/:operationId`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/operationResults/read' },
      schema: {
        tags,
        summary: 'Result of a refresh: 202 while running, then 204',
        params: FabricOperationParams,
        querystring: ApiVersionQuery,
        response: responses({ 202: StillRunning, 204: Empty }),
      },
    },
    async (request, reply) => {
      await findFabricVault(app, request.params);
      return operationResult(reply, await app.operations.find(vaultScope(request.params), request.params.operationId));
    },
  );

  app.get(
    `${FABRIC}/protectableContainers`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectableContainers/read' },
      schema: {
        tags,
        summary: 'VMs that can be registered (found by the last refresh)',
        params: FabricParams,
        querystring: ListQuery,
        response: responses({ 200: listOf(ProtectableContainerResource) }),
      },
    },
    async (request) => {
      const vault = await findFabricVault(app, request.params);
      const filter = readFilter(request, { backupManagementType: ['eq'], friendlyName: ['eq'] });
      const friendlyName = filterEquals(filter, 'friendlyName');
      return page(request, {
        path: `${fabricId(vault)}/protectableContainers`,
        carry: { $filter: request.query.$filter },
        fetch: async (after, take) =>
          isWorkloadFilter(filterEquals(filter, 'backupManagementType', managementTypes))
            ? app.db.protectionContainer.findMany({
                where: {
                  vaultId: vault.id,
                  discovered: true,
                  registrationStatus: 'NotRegistered',
                  ...(friendlyName === undefined
                    ? {}
                    : { friendlyName: { equals: friendlyName, mode: 'insensitive' as const } }),
                  ...(after === undefined ? {} : { nameKey: { gt: after[0] } }),
                },
                orderBy: { nameKey: 'asc' },
                take,
              })
            : [],
        cursorOf: (c) => [c.nameKey],
        render: (c) => renderProtectableContainer(vault, c, unhealthyAfter),
      });
    },
  );

  app.put(
    CONTAINER,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/write' },
      schema: {
        tags,
        summary: 'Register (or re-register) a VM: long-running, completes when its agent has installed the extension',
        params: ContainerParams,
        querystring: ApiVersionQuery,
        body: RegisterBody,
        response: responses({ 200: ContainerResource, 202: accepted('Registration accepted') }),
      },
    },
    async (request, reply) => {
      const { vault, container } = await findContainer(app, request.params, false);
      const properties = request.body.properties;
      if (properties.containerType !== 'VMAppContainer') {
        throw errors.invalidInput(
          `containerType '${properties.containerType}' cannot be registered here; SQL Server VMs are 'VMAppContainer'.`,
        );
      }
      if (properties.backupManagementType !== undefined && properties.backupManagementType !== 'AzureWorkload') {
        throw errors.invalidInput(
          `backupManagementType must be 'AzureWorkload' (got '${properties.backupManagementType}').`,
        );
      }
      if (properties.workloadType !== undefined && properties.workloadType !== 'SQLDataBase') {
        throw errors.invalidInput(`workloadType must be 'SQLDataBase' (got '${properties.workloadType}').`);
      }
      if (
        properties.sourceResourceId !== undefined &&
        properties.sourceResourceId.toLowerCase() !== container.vmResourceId.toLowerCase()
      ) {
        throw errors.invalidInput(
          `sourceResourceId '${properties.sourceResourceId}' is not the VM of container '${container.name}' (${container.vmResourceId}).`,
        );
      }
      assertSqlBackupAvailableIn(vault.location, app.config.supportMatrix);
      const reregister = properties.operationType === 'Reregister';
      if (container.registrationStatus === 'Registering' || container.registrationStatus === 'Unregistering') {
        throw errors.conflict(
          'BMSUserErrorContainerOperationInProgress',
          `The container '${container.name}' is ${container.registrationStatus.toLowerCase()}; wait for that operation to finish.`,
        );
      }
      if (container.registrationStatus === 'Registered' && !reregister) {
        return reply.code(200).send(renderContainer(vault, container, unhealthyAfter));
      }
      if (container.registrationStatus === 'NotRegistered' && !container.discovered)
        throw containerNotFound(container.name);
      const claimed = await app.db.protectionContainer.updateMany({
        where: { id: container.id, registrationStatus: container.registrationStatus },
        data: { registrationStatus: 'Registering', updatedAt: app.clock.now() },
      });
      if (claimed.count === 0)
        throw errors.conflict(
          'BMSUserErrorContainerOperationInProgress',
          `The container '${container.name}' changed meanwhile; retry.`,
        );
      const job = await startJob(app, vault.id, 'Register', container.friendlyName, {
        activityId: activityIdOf(request),
      });
      const operation = await app.operations.start(
        vaultScope(request.params),
        'container.register',
        { vaultId: vault.id, containerId: container.id, containerNameKey: container.nameKey, reregister },
        job.id,
      );
      const base = containerId(vault, container);
      return app.operations.accepted(request, reply, operation, {
        status: `${base}/operationsStatus/${operation.id}`,
        result: `${base}/operationResults/${operation.id}`,
      });
    },
  );

  app.get(
    CONTAINER,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/read' },
      schema: {
        tags,
        summary: 'Get a registered container',
        params: ContainerParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: ContainerResource }),
      },
    },
    async (request) => {
      const { vault, container } = await findContainer(app, request.params, true);
      return renderContainer(vault, container, unhealthyAfter, await containerNodes(app, container));
    },
  );

  app.get(
    `${CONTAINER}/operationResults/:operationId`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/operationResults/read' },
      schema: {
        tags,
        summary:
          'Result of a container operation: 202 while running; then the container (register) or 204 (inquire, unregister)',
        params: ContainerOperationParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: ContainerResource, 202: StillRunning, 204: Empty }),
      },
    },
    async (request, reply) => {
      const operation = await containerOperation(request.params);
      return operationResult(reply, operation, async () => {
        if (operation.kind !== 'container.register') return reply.code(204).send();
        const { vault, container } = await findContainer(app, request.params, true);
        return reply.code(200).send(renderContainer(vault, container, unhealthyAfter));
      });
    },
  );

  app.get(
    `${CONTAINER}/operationsStatus/:operationId`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/operationsStatus/read' },
      schema: {
        tags,
        summary: 'Status of a container operation',
        params: ContainerOperationParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: OperationStatus }),
      },
    },
    async (request) => operationStatus(await containerOperation(request.params)),
  );

  app.post(
    `${CONTAINER}/inquire`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/inquire/action' },
      schema: {
        tags,
        summary: 'Discover the databases on a registered VM (202; poll the Location)',
        params: ContainerParams,
        querystring: FilterQuery,
        response: responses({ 202: accepted('Inquiry accepted', false) }),
      },
    },
    async (request, reply) => {
      const { vault, container } = await findContainer(app, request.params, true);
      readFilter(request, { backupManagementType: ['eq'], workloadType: ['eq'] });
      if (container.registrationStatus !== 'Registered') {
        throw errors.conflict(
          'BMSUserErrorContainerOperationInProgress',
          `The container '${container.name}' is ${container.registrationStatus.toLowerCase()}.`,
        );
      }
      const operation = await app.operations.start(vaultScope(request.params), 'container.inquire', {
        vaultId: vault.id,
        containerId: container.id,
        containerNameKey: container.nameKey,
      });
      return app.operations.accepted(request, reply, operation, {
        result: `${containerId(vault, container)}/operationResults/${operation.id}`,
      });
    },
  );

  app.delete(
    CONTAINER,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/delete' },
      schema: {
        tags,
        summary:
          'Unregister a VM (202; poll the Location); refused while it, or an availability group it is a replica of, has protected items',
        params: ContainerParams,
        querystring: ApiVersionQuery,
        response: responses({ 202: accepted('Unregistration accepted', false), 204: Empty }),
      },
    },
    async (request, reply) => {
      const { vault, container } = await findContainer(app, request.params, true);
      if (container.registrationStatus !== 'Registered') {
        throw errors.conflict(
          'BMSUserErrorContainerOperationInProgress',
          `The container '${container.name}' is ${container.registrationStatus.toLowerCase()}.`,
        );
      }
      const protectedItems = await app.db.protectedItem.count({ where: { containerId: container.id } });
      if (protectedItems > 0) {
        throw new ArmError(
          400,
          'BMSUserErrorContainerHasDatasources',
          `The container '${container.name}' has ${protectedItems} protected items. Stop protection and delete their data before unregistering.`,
        );
      }
      const [group] = await protectedGroupsOf(app, container);
      if (group !== undefined) {
        throw new ArmError(
          400,
          'BMSUserErrorContainerHasDatasources',
          `The VM '${container.friendlyName}' is a replica of the availability group '${group.name}', which has ${group.protectedItems} protected databases. Remove the VM from the group first (its next discovery tells the vault), then unregister it.`,
        );
      }
      await app.db.protectionContainer.update({
        where: { id: container.id },
        data: { registrationStatus: 'Unregistering', updatedAt: app.clock.now() },
      });
      const job = await startJob(app, vault.id, 'UnRegister', container.friendlyName, {
        activityId: activityIdOf(request),
      });
      const operation = await app.operations.start(
        vaultScope(request.params),
        'container.unregister',
        { vaultId: vault.id, containerId: container.id, containerNameKey: container.nameKey },
        job.id,
      );
      return app.operations.accepted(request, reply, operation, {
        result: `${containerId(vault, container)}/operationResults/${operation.id}`,
      });
    },
  );

  app.get(
    `${VAULT}/backupProtectionContainers`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupProtectionContainers/read' },
      schema: {
        tags,
        summary: 'Registered containers of a vault',
        params: VaultParams,
        querystring: ListQuery,
        response: responses({ 200: listOf(ContainerResource) }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      const filter = readFilter(request, { backupManagementType: ['eq'], friendlyName: ['eq'], status: ['eq'] });
      const friendlyName = filterEquals(filter, 'friendlyName');
      const status = filterEquals(filter, 'status', [
        'Registered',
        'Registering',
        'Unregistering',
        'NotRegistered',
      ] as const);
      const containers = await page(request, {
        path: `${vaultId(vault)}/backupProtectionContainers`,
        carry: { $filter: request.query.$filter },
        fetch: async (after, take) =>
          isWorkloadFilter(filterEquals(filter, 'backupManagementType', managementTypes)) && status !== 'NotRegistered'
            ? app.db.protectionContainer.findMany({
                where: {
                  vaultId: vault.id,
                  registrationStatus: status ?? { not: 'NotRegistered' },
                  ...(friendlyName === undefined
                    ? {}
                    : { friendlyName: { equals: friendlyName, mode: 'insensitive' as const } }),
                  ...afterPair('nameKey', 'id', after),
                },
                orderBy: [{ nameKey: 'asc' }, { id: 'asc' }],
                take,
              })
            : [],
        cursorOf: (c) => [c.nameKey, c.id],
        render: (c) => c,
      });
      const nodes = await Promise.all(containers.value.map((c) => containerNodes(app, c)));
      return {
        ...containers,
        value: containers.value.map((c, i) => renderContainer(vault, c, unhealthyAfter, nodes[i])),
      };
    },
  );
};

export default containerRoutes;
