import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ArmError } from '../../domain/errors.ts';
import { ApiVersionQuery, listOf, responses, VaultParams, segment } from '../../arm/schemas.ts';
import { VAULT } from '../../arm/paths.ts';
import { findVault } from '../../arm/vault-lookup.ts';

/**
 * Resource guard proxies: the link from a vault to a Resource Guard that makes critical operations need a second
 * authorisation (multi-user authorisation). The service has no Resource Guards, so every vault has none — but az
 * lists them before guarded operations (`protection disable --delete-backup-data`, policy changes) and fails on a
 * 404 from the list.
 */
const resourceGuardProxyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    `${VAULT}/backupResourceGuardProxies`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupResourceGuardProxies/read' },
      schema: {
        tags: ['vaults'],
        summary: "The vault's resource guard proxies (always none here)",
        params: VaultParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: listOf(Type.Object({}, { additionalProperties: true })) }),
      },
    },
    async (request) => {
      await findVault(app, request.params);
      return { value: [] };
    },
  );

  app.get(
    `${VAULT}/backupResourceGuardProxies/:resourceGuardProxyName`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupResourceGuardProxies/read' },
      schema: {
        tags: ['vaults'],
        summary: 'A resource guard proxy (never found here)',
        params: Type.Object({
          ...VaultParams.properties,
          resourceGuardProxyName: segment(260),
        }),
        querystring: ApiVersionQuery,
        response: responses({}),
      },
    },
    async (request) => {
      await findVault(app, request.params);
      throw new ArmError(
        404,
        'ResourceNotFound',
        `The resource guard proxy '${request.params.resourceGuardProxyName}' was not found: the vault '${request.params.vaultName}' has no Resource Guard.`,
      );
    },
  );
};

export default resourceGuardProxyRoutes;
