import type { TokenCredential } from '@azure/core-auth';
import { RecoveryServicesClient } from '@azure/arm-recoveryservices';
import { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import { DEV_PRINCIPAL } from '../../src/config.ts';
import { recordResponses } from './azure-model/traffic.ts';

/** A token from the service's own /oauth2/token endpoint, as a client-credentials script would get it. */
export async function fetchToken(
  baseUrl: string,
  clientId = DEV_PRINCIPAL.clientId ?? '',
  clientSecret = DEV_PRINCIPAL.clientSecret ?? '',
): Promise<string> {
  const response = await fetch(`${baseUrl}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: 'https://management.azure.com/.default',
    }),
  });
  if (!response.ok) throw new Error(`token request failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export function staticCredential(token: string): TokenCredential {
  return { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
}

/**
 * The official clients, unchanged, pointed at the emulator's HTTPS endpoint. Every response they receive is recorded
 * for the check against Azure's model that runs after each test file (test/support/azure-model/per-file.ts).
 */
export function sdkClients(httpsUrl: string, token: string, subscriptionId: string) {
  const credential = staticCredential(token);
  const vaults = new RecoveryServicesClient(credential, subscriptionId, { endpoint: httpsUrl });
  const backup = new RecoveryServicesBackupClient(credential, subscriptionId, { endpoint: httpsUrl });
  recordResponses('vaults', vaults.pipeline);
  recordResponses('backup', backup.pipeline);
  return { vaults, backup };
}

/** A Standard vault in westeurope, resource group `rg`, created through the SDK: its ARM id. */
export async function createdVault(vaults: RecoveryServicesClient, name: string): Promise<string> {
  const vault = await vaults.vaults.createOrUpdate(
    'rg',
    name,
    { location: 'westeurope', sku: { name: 'Standard' } },
    { updateIntervalInMs: 50 },
  );
  return vault.id ?? '';
}
