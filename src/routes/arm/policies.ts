import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Policy, Vault } from '../../generated/prisma/client.ts';
import { ArmError, errors } from '../../domain/errors.ts';
import { validateSqlPolicy } from '../../domain/policy/validate.ts';
import { ApiVersionQuery, Empty, listOf, ListQuery, responses, VaultParams, segment } from '../../arm/schemas.ts';
import { VAULT, vaultId, policyId } from '../../arm/paths.ts';
import { page } from '../../arm/paging.ts';
import { filterEquals, readFilter } from '../../arm/filter.ts';
import { findVault, vaultScope } from '../../arm/vault-lookup.ts';
import { operationResult, operationStatus } from '../../arm/operation-views.ts';
import { accepted, StillRunning } from '../../arm/models/common.ts';
import { renderPolicy, WORKLOAD_OF_MANAGEMENT_TYPE } from './views/policies.ts';
import { model } from '../../arm/models/index.ts';

const PolicyResource = model('ProtectionPolicyResource');
const OperationStatus = model('OperationStatus');

const PolicyParams = Type.Object({ ...VaultParams.properties, policyName: segment(150) });
const PolicyOperationParams = Type.Object({ ...PolicyParams.properties, operationId: segment(64) });
const PolicyBody = Type.Object(
  {
    properties: Type.Object({ backupManagementType: Type.String({ maxLength: 64 }) }, { additionalProperties: true }),
    eTag: Type.Optional(Type.String()),
    location: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
const POLICY_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,149}$/;
const tags = ['policies'];
/** Items whose schedules follow their policy: protected or about to be. */
const ACTIVE_STATES = ['IRPending', 'Protected', 'ProtectionError'] as const;

/**
 * Backup policies (docs/protection.md): PUT answers 200 with the policy, or 202 when the change reaches protected
 * items (each gets a ConfigureBackup job). DELETE answers 200 with no async headers, as Azure does (recorded
 * traffic; az's SDK accepts nothing else), and is refused while anything uses the policy.
 */
const policyInUse = (policy: Policy, items: number, intents: number) =>
  new ArmError(
    400,
    'BMSUserErrorPolicyInUse',
    `The policy '${policy.name}' is used by ${items} protected item(s) and ${intents} auto-protection intent(s). Move them to another policy or stop their protection first.`,
  );

const policyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const findPolicy = async (vault: Vault, name: string): Promise<Policy | null> =>
    app.db.policy.findUnique({ where: { vaultId_nameKey: { vaultId: vault.id, nameKey: name.toLowerCase() } } });
  const activeItems = (policy: Policy) =>
    app.db.protectedItem.count({
      where: { policyId: policy.id, protectionState: { in: [...ACTIVE_STATES] }, deferredDeleteAt: null },
    });

  app.put(
    `${VAULT}/backupPolicies/:policyName`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupPolicies/write' },
      schema: {
        tags,
        summary: 'Create or update a policy (200, or 202 when protected items must follow)',
        params: PolicyParams,
        querystring: ApiVersionQuery,
        body: PolicyBody,
        response: responses({ 200: PolicyResource, 202: accepted('Protected items must follow the change') }),
      },
    },
    async (request, reply) => {
      const vault = await findVault(app, request.params);
      const { policyName } = request.params;
      if (!POLICY_NAME.test(policyName)) {
        throw errors.badRequest(
          'BMSUserErrorInvalidPolicyName',
          `The policy name '${policyName.slice(0, 80)}' is invalid: use 1 to 150 letters, digits, hyphens or underscores, starting with a letter or digit.`,
        );
      }
      if (request.body.properties.backupManagementType !== 'AzureWorkload') {
        throw errors.badRequest(
          'BMSUserErrorInvalidPolicyInput',
          `properties.backupManagementType must be 'AzureWorkload' (SQL Server in Azure VM); got '${request.body.properties.backupManagementType}'.`,
        );
      }
      const normalized = validateSqlPolicy(request.body.properties) as unknown as object;
      const now = app.clock.now();
      const existing = await findPolicy(vault, policyName);
      if (existing !== null && existing.backupManagementType !== 'AzureWorkload') {
        throw errors.badRequest(
          'BMSUserErrorInvalidPolicyInput',
          `The policy '${existing.name}' is an ${existing.backupManagementType} policy; its backup management type cannot change. Choose another name.`,
        );
      }
      const policy =
        existing === null
          ? await app.db.policy.create({
              data: {
                vaultId: vault.id,
                name: policyName,
                nameKey: policyName.toLowerCase(),
                properties: normalized,
                createdAt: now,
                updatedAt: now,
              },
            })
          : await app.db.policy.update({
              where: { id: existing.id },
              data: { properties: normalized, updatedAt: now },
            });
      const items = existing === null ? 0 : await activeItems(policy);
      if (items === 0) return reply.code(200).send(renderPolicy(vault, policy, 0));
      const operation = await app.operations.start(vaultScope(request.params), 'policy.update', {
        vaultId: vault.id,
        policyId: policy.id,
        policyNameKey: policy.nameKey,
      });
      const base = policyId(vault, policy.name);
      return app.operations.accepted(request, reply, operation, {
        status: `${base}/operations/${operation.id}`,
        result: `${base}/operationResults/${operation.id}`,
      });
    },
  );

  app.get(
    `${VAULT}/backupPolicies/:policyName`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupPolicies/read' },
      schema: {
        tags,
        summary: 'Get a policy',
        params: PolicyParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: PolicyResource }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      const policy = await findPolicy(vault, request.params.policyName);
      if (policy === null) throw errors.resourceNotFound(`The policy '${request.params.policyName}'`);
      return renderPolicy(vault, policy, await activeItems(policy));
    },
  );

  app.get(
    `${VAULT}/backupPolicies`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupPolicies/read' },
      schema: {
        tags,
        summary: 'Policies of a vault',
        params: VaultParams,
        querystring: ListQuery,
        response: responses({ 200: listOf(PolicyResource) }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      const filter = readFilter(request, { backupManagementType: ['eq'], workloadType: ['eq'] });
      const management = filterEquals(filter, 'backupManagementType');
      const workload = filterEquals(filter, 'workloadType');
      const types = Object.keys(WORKLOAD_OF_MANAGEMENT_TYPE).filter(
        (type) =>
          (management === undefined || management === type) &&
          (workload === undefined || workload === WORKLOAD_OF_MANAGEMENT_TYPE[type]),
      );
      const items = await page(request, {
        path: `${vaultId(vault)}/backupPolicies`,
        carry: { $filter: request.query.$filter },
        fetch: async (after, take) =>
          types.length > 0
            ? app.db.policy.findMany({
                where: {
                  vaultId: vault.id,
                  backupManagementType: { in: types },
                  ...(after === undefined ? {} : { nameKey: { gt: after[0] } }),
                },
                orderBy: { nameKey: 'asc' },
                take,
              })
            : [],
        cursorOf: (policy) => [policy.nameKey],
        render: (policy) => policy,
      });
      const counts = await app.db.protectedItem.groupBy({
        by: ['policyId'],
        where: {
          policyId: { in: items.value.map((p) => p.id) },
          protectionState: { in: [...ACTIVE_STATES] },
          deferredDeleteAt: null,
        },
        _count: { _all: true },
      });
      return {
        ...items,
        value: items.value.map((p) =>
          renderPolicy(vault, p, counts.find((c) => c.policyId === p.id)?._count._all ?? 0),
        ),
      };
    },
  );

  app.delete(
    `${VAULT}/backupPolicies/:policyName`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupPolicies/delete' },
      schema: {
        tags,
        summary: 'Delete a policy (200 at once, as Azure; refused while items or auto-protection use it)',
        params: PolicyParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: Empty, 204: Empty }),
      },
    },
    async (request, reply) => {
      const vault = await findVault(app, request.params);
      const policy = await findPolicy(vault, request.params.policyName);
      if (policy === null) return reply.code(204).send();
      const [items, intents] = await Promise.all([
        app.db.protectedItem.count({ where: { policyId: policy.id } }),
        app.db.protectionIntent.count({ where: { policyId: policy.id } }),
      ]);
      if (items > 0 || intents > 0) throw policyInUse(policy, items, intents);
      try {
        await app.db.policy.delete({ where: { id: policy.id } });
      } catch (error) {
        // An item or intent took the policy since the count (the foreign keys restrict): refused as above.
        if ((error as { code?: string }).code === 'P2003') throw policyInUse(policy, 1, 0);
        if ((error as { code?: string }).code !== 'P2025') throw error;
      }
      return reply.code(200).send();
    },
  );

  const policyOperation = async (params: {
    subscriptionId: string;
    resourceGroupName: string;
    vaultName: string;
    policyName: string;
    operationId: string;
  }) => {
    const operation = await app.operations.find(vaultScope(params), params.operationId);
    if ((operation.target as { policyNameKey?: string }).policyNameKey !== params.policyName.toLowerCase())
      throw errors.operationNotFound(params.operationId);
    return operation;
  };

  app.get(
    `${VAULT}/backupPolicies/:policyName/operations/:operationId`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupPolicies/operationsStatus/read' },
      schema: {
        tags,
        summary: 'Status of a policy operation (jobIds of the items it reconfigured)',
        params: PolicyOperationParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: OperationStatus }),
      },
    },
    async (request) => {
      const operation = await policyOperation(request.params);
      const status = operationStatus(operation);
      const { jobIds } = operation.target as { jobIds?: string[] };
      return jobIds === undefined
        ? status
        : { ...status, properties: { objectType: 'OperationStatusJobsExtendedInfo', jobIds } };
    },
  );

  app.get(
    `${VAULT}/backupPolicies/:policyName/operationResults/:operationId`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupPolicies/operationResults/read' },
      schema: {
        tags,
        summary: 'Result of a policy operation: 202 while running; then the policy (or 204 when it is gone)',
        params: PolicyOperationParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: PolicyResource, 202: StillRunning, 204: Empty }),
      },
    },
    async (request, reply) => {
      const operation = await policyOperation(request.params);
      return operationResult(reply, operation, async () => {
        const vault = await findVault(app, request.params);
        const policy = await findPolicy(vault, request.params.policyName);
        return policy === null
          ? reply.code(204).send()
          : reply.code(200).send(renderPolicy(vault, policy, await activeItems(policy)));
      });
    },
  );
};

export default policyRoutes;
