import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createVaultCredential } from '../../services/agent-registration.ts';
import { ApiVersionQuery, responses, VaultParams } from '../../arm/schemas.ts';
import { VAULT, vaultId } from '../../arm/paths.ts';
import { findVault } from '../../arm/vault-lookup.ts';
import { origin } from '../../arm/urls.ts';

export const VaultCredentialsFile = Type.Object(
  {
    vaultId: Type.String(),
    vaultName: Type.String(),
    resourceGroup: Type.String(),
    subscriptionId: Type.String(),
    serviceUrl: Type.String({ description: 'where agents reach the vault (the origin this request used)' }),
    secret: Type.String(),
    expiresAt: Type.String({ format: 'date-time' }),
  },
  {
    description:
      'Vault credentials: what a VM agent needs to register with the vault (the content of the credentials file)',
  },
);

/**
 * Vault credentials for agents (Azure's "download vault credentials"): `POST {vault}/backupRegistrationCredentials`.
 * They expire (RV_CREDENTIALS_LIFETIME_HOURS, 48 h by default) and register any number of VMs to this one vault.
 */
const registrationCredentialRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    `${VAULT}/backupRegistrationCredentials`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupRegistrationCredentials/action' },
      schema: {
        tags: ['containers'],
        summary: 'Create vault credentials for registering VMs (agents) with this vault',
        params: VaultParams,
        querystring: ApiVersionQuery,
        response: responses({
          200: Type.Object({
            id: Type.String(),
            name: Type.String(),
            type: Type.String(),
            properties: VaultCredentialsFile,
          }),
        }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      const { secret, expiresAt } = await createVaultCredential(app, vault, request.caller?.principalId ?? 'unknown');
      const id = secret.split('.')[0] ?? '';
      return {
        id: `${vaultId(vault)}/backupRegistrationCredentials/${id}`,
        name: id,
        type: 'Microsoft.RecoveryServices/vaults/backupRegistrationCredentials',
        properties: {
          vaultId: vaultId(vault),
          vaultName: vault.name,
          resourceGroup: vault.resourceGroup,
          subscriptionId: vault.subscriptionId,
          serviceUrl: origin(request),
          secret,
          expiresAt: expiresAt.toISOString(),
        },
      };
    },
  );
};

export default registrationCredentialRoutes;
