import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApiVersionQuery, responses, VaultParams } from '../../arm/schemas.ts';
import { findVault } from '../../arm/vault-lookup.ts';
import { vaultSummary } from '../../services/portal-read-models.ts';
import { PORTAL_VAULT, Summary, tags } from './schemas.ts';

const summaryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    `${PORTAL_VAULT}/summary`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/read' },
      schema: {
        tags,
        summary:
          'A vault at a glance: items by health and state, containers by health, the last 24 hours of jobs, open alerts, storage by backup type',
        params: VaultParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: Summary }),
      },
    },
    async (request) => vaultSummary(app, await findVault(app, request.params)),
  );
};

export default summaryRoutes;
