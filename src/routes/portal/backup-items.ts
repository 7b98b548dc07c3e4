import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listOf, PagedQuery, responses, VaultParams } from '../../arm/schemas.ts';
import { vaultId, protectedItemId } from '../../arm/paths.ts';
import { page } from '../../arm/paging.ts';
import { findVault } from '../../arm/vault-lookup.ts';
import { backupItemRows, backupItemView } from '../../services/portal-read-models.ts';
import { BackupItemView, PORTAL_VAULT, tags } from './schemas.ts';

const backupItemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    `${PORTAL_VAULT}/backupItems`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupProtectedItems/read' },
      schema: {
        tags,
        summary:
          'Protected items with their last backup of each type, restore point range and health; paged ($top, $skipToken)',
        params: VaultParams,
        querystring: PagedQuery,
        response: responses({ 200: listOf(BackupItemView) }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      return page(request, {
        path: `/portal/v1${vaultId(vault)}/backupItems`,
        fetch: (after, take) =>
          backupItemRows(app, vault.id, after === undefined ? undefined : [after[0] ?? '', after[1] ?? ''], take),
        cursorOf: (row) => [row.itemNameKey, row.id],
        render: (row) => backupItemView(row, protectedItemId(vault, { name: row.containerName }, row)),
      });
    },
  );
};

export default backupItemRoutes;
