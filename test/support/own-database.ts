import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import type { RecoveryServicesClient } from '@azure/arm-recoveryservices';
import { ownDatabase } from './databases.ts';
import type { PrincipalSeed } from '../../src/config.ts';
import { startTestServer, type TestServer } from './server.ts';
import { fetchToken, sdkClients } from './sdk.ts';

/** A service with the emulator clock, on a database of its own (the clock and the scheduler are per deployment). */
export interface ClockDeployment {
  server: TestServer;
  token: string;
  subscriptionId: string;
  vaults: RecoveryServicesClient;
  backup: RecoveryServicesBackupClient;
  /** POST /emulator/v1/clock: `{ to }` or `{ advanceSeconds }`; expects 200. */
  clock(body: object): Promise<{ now: string; backupsStarted?: number; retentionSweeps?: number }>;
  stop(): Promise<void>;
}

export async function clockDeployment(
  name: string,
  env: Record<string, string> = {},
  principals: PrincipalSeed[] = [],
): Promise<ClockDeployment> {
  const database = ownDatabase(`recovery_vault_${name}`);
  const server = await startTestServer(
    {
      DATABASE_URL: database.url,
      RV_MIGRATE_ON_START: 'true',
      RV_EMULATOR_CONTROLS: 'true',
      ...env,
    },
    principals,
  );
  const token = await fetchToken(server.httpsUrl);
  const subscriptionId = randomUUID();
  const clients = sdkClients(server.httpsUrl, token, subscriptionId);
  return {
    server,
    token,
    subscriptionId,
    ...clients,
    async clock(body) {
      const response = await fetch(`${server.httpsUrl}/emulator/v1/clock`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { now: string; backupsStarted?: number; retentionSweeps?: number };
    },
    async stop() {
      await server.stop();
      await database.drop();
    },
  };
}
