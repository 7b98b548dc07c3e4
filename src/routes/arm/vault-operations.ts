import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApiVersionQuery, Empty, responses, VaultOperationParams } from '../../arm/schemas.ts';
import { StillRunning } from '../../arm/models/common.ts';
import { vaultScope } from '../../arm/vault-lookup.ts';
import { VAULT } from '../../arm/paths.ts';
import { operationResult, operationStatus } from '../../arm/operation-views.ts';
import { model } from '../../arm/models/index.ts';

const OperationStatus = model('OperationStatus');

/**
 * Every asynchronous operation of a vault is readable at vault level, whatever URL first announced it (azure-cli
 * takes the last path segment and asks here): the vault client's operationStatus/operationResults and the backup
 * client's backupOperations/backupOperationResults.
 */
const vaultOperationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const statusSchema = {
    tags: ['operations'],
    params: VaultOperationParams,
    querystring: ApiVersionQuery,
    response: responses({ 200: OperationStatus }),
  };
  const resultSchema = {
    tags: ['operations'],
    params: VaultOperationParams,
    querystring: ApiVersionQuery,
    response: responses({ 202: StillRunning, 204: Empty }),
  };

  for (const segment of ['operationStatus', 'backupOperations']) {
    app.get(
      `${VAULT}/${segment}/:operationId`,
      {
        config: { action: 'Microsoft.RecoveryServices/vaults/operationStatus/read' },
        schema: { ...statusSchema, summary: 'Status of an asynchronous operation' },
      },
      async (request) =>
        operationStatus(await app.operations.find(vaultScope(request.params), request.params.operationId)),
    );
  }
  for (const segment of ['operationResults', 'backupOperationResults']) {
    app.get(
      `${VAULT}/${segment}/:operationId`,
      {
        config: { action: 'Microsoft.RecoveryServices/vaults/operationResults/read' },
        schema: { ...resultSchema, summary: 'Result of an asynchronous operation: 202 while running, 204 when done' },
      },
      async (request, reply) =>
        operationResult(reply, await app.operations.find(vaultScope(request.params), request.params.operationId)),
    );
  }
};

export default vaultOperationRoutes;
