import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Az, azInstalled } from '../support/az.ts';
import { principalWith, startTestServer, type TestServer } from '../support/server.ts';

if (!azInstalled) {
  // Loud on purpose: a machine without az passes this file without running it.
  process.stderr.write(
    '\n*** az (Microsoft azure-cli) is not installed: the az tests are SKIPPED. `.ci/run` installs it (apt-get install azure-cli). ***\n\n',
  );
}

describe.skipIf(!azInstalled)('az drives the SQL workflow against the service', () => {
  const subscriptionId = randomUUID();
  const principal = principalWith('Contributor', [subscriptionId]);
  let server: TestServer;
  let az: Az;

  beforeAll(async () => {
    server = await startTestServer({ RV_AGENT_HEARTBEAT_SECONDS: '1' }, [principal]);
    az = new Az(inject('tlsCertFile'));
  });
  afterAll(async () => {
    await server?.stop();
    az?.cleanUp();
  });

  it('logs in with a service principal to a cloud registered from the service alone', async () => {
    const cloud = await az.run([
      'cloud',
      'register',
      '-n',
      'RecoveryVault',
      '--endpoint-resource-manager',
      server.httpsUrl,
    ]);
    expect(cloud.code, cloud.stderr).toBe(0);
    expect((await az.run(['cloud', 'set', '-n', 'RecoveryVault'])).code).toBe(0);

    const wrong = await az.run([
      'login',
      '--service-principal',
      '-u',
      principal.clientId,
      '-p',
      'wrong',
      '--tenant',
      server.config.tenantId,
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('AADSTS7000215');

    const login = await az.run([
      'login',
      '--service-principal',
      '-u',
      principal.clientId,
      '-p',
      principal.clientSecret,
      '--tenant',
      server.config.tenantId,
    ]);
    expect(login.code, login.stderr).toBe(0);
    expect(login.json).toMatchObject([
      {
        id: subscriptionId,
        tenantId: server.config.tenantId,
        user: { name: principal.clientId, type: 'servicePrincipal' },
      },
    ]);
  });
});
