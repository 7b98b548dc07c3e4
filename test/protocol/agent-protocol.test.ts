import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';

/**
 * The agent protocol at the wire: registration rules, container-scoped tokens, command delivery semantics, and
 * malformed requests that must be refused without changing anything.
 */
describe('agent protocol', () => {
  let server: TestServer;
  let token: string;
  const subscriptionId = randomUUID();
  const poll = { updateIntervalInMs: 50 };

  beforeAll(async () => {
    server = await startTestServer({ RV_AGENT_COMMAND_LEASE_SECONDS: '1' });
    token = await fetchToken(server.httpsUrl);
  });
  afterAll(async () => server?.stop());

  const clients = () => sdkClients(server.httpsUrl, token, subscriptionId);

  async function vaultWithCredentials(name: string) {
    const vault = await clients().vaults.vaults.createOrUpdate(
      'rg',
      name,
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    const response = await fetch(`${server.httpsUrl}${vault.id}/backupRegistrationCredentials?api-version=2023-06-01`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    return {
      vault,
      credentials: ((await response.json()) as { properties: { vaultId: string; secret: string } }).properties,
    };
  }

  const register = (credentials: object, vm: object) =>
    fetch(`${server.httpUrl}/agent/v1/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ credentials, vm, agentVersion: 'test-1.0' }),
    });

  async function registeredAgent(credentials: object, vmName: string) {
    const response = await register(credentials, { vmName, resourceGroup: 'sql-rg', os: 'WindowsServer2022' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { containerName: string; agentToken: string; vmResourceId: string };
    const call = (path: string, init: { method?: string; body?: unknown; token?: string; container?: string } = {}) =>
      fetch(
        `${server.httpUrl}/agent/v1/containers/${encodeURIComponent(init.container ?? body.containerName)}${path}`,
        {
          method: init.method ?? 'GET',
          headers: {
            authorization: `Bearer ${init.token ?? body.agentToken}`,
            ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(init.body === undefined
            ? {}
            : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
        },
      );
    return { ...body, call };
  }

  const errorOf = async (response: Response) =>
    ((await response.json()) as { error: { code: string; message: string } }).error;

  it('refuses wrong credentials, Linux VMs and over-long names at registration', async () => {
    const { credentials } = await vaultWithCredentials('proto-vault-1');
    const wrong = await register(
      { ...credentials, secret: `${credentials.secret.split('.')[0]}.forged` },
      { vmName: 'vm1', resourceGroup: 'rg', os: 'WindowsServer2019' },
    );
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).code).toBe('UserErrorInvalidVaultCredentials');
    const otherVault = await register(
      { ...credentials, vaultId: credentials.vaultId.replace('proto-vault-1', 'other') },
      { vmName: 'vm1', resourceGroup: 'rg', os: 'WindowsServer2019' },
    );
    expect(otherVault.status).toBe(401);
    const linux = await register(credentials, { vmName: 'vm1', resourceGroup: 'rg', os: 'Ubuntu 22.04' });
    expect(linux.status).toBe(400);
    expect((await errorOf(linux)).code).toBe('UserErrorUnsupportedOperatingSystem');
    const long = await register(credentials, {
      vmName: 'v'.repeat(60),
      resourceGroup: 'r'.repeat(30),
      os: 'WindowsServer2019',
    });
    expect(long.status).toBe(400);
    expect((await errorOf(long)).message).toContain('84');
    const malformed = await fetch(`${server.httpUrl}/agent/v1/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"credentials":',
    });
    expect(malformed.status).toBe(400);
    // None of these created a container.
    await clients().backup.protectionContainers.refresh('proto-vault-1', 'rg', 'Azure');
    const listed = [];
    for await (const c of clients().backup.protectableContainers.list('proto-vault-1', 'rg', 'Azure')) listed.push(c);
    expect(listed).toEqual([]);
  });

  it('scopes an agent token to its own container, and keeps management and agent tokens apart', async () => {
    const { credentials } = await vaultWithCredentials('proto-vault-2');
    const a = await registeredAgent(credentials, 'vm-a');
    const b = await registeredAgent(credentials, 'vm-b');
    const heartbeat = { method: 'POST', body: { agentVersion: 'test-1.0' } };
    expect((await a.call('/heartbeat', heartbeat)).status).toBe(200);
    const cross = await a.call('/heartbeat', { ...heartbeat, container: b.containerName });
    expect(cross.status).toBe(403);
    expect((await errorOf(cross)).code).toBe('UserErrorAgentNotAuthorizedForContainer');
    expect((await a.call('/heartbeat', { ...heartbeat, token: token })).status).toBe(401);
    expect((await a.call('/heartbeat', { ...heartbeat, token: 'not-a-token' })).status).toBe(401);
    const agentOnArm = await fetch(
      `${server.httpsUrl}/subscriptions/${subscriptionId}/providers/Microsoft.RecoveryServices/vaults?api-version=2023-06-01`,
      {
        headers: { authorization: `Bearer ${a.agentToken}` },
      },
    );
    expect(agentOnArm.status).toBe(401);
  });

  it('redelivers an unacknowledged command after its lease, and counts only the first result', async () => {
    const { credentials } = await vaultWithCredentials('proto-vault-3');
    const agent = await registeredAgent(credentials, 'vm-redeliver');
    const { backup } = clients();
    await backup.protectionContainers.refresh('proto-vault-3', 'rg', 'Azure');
    await new Promise((r) => setTimeout(r, 300));
    void backup.protectionContainers.beginRegister('proto-vault-3', 'rg', 'Azure', agent.containerName, {
      properties: { containerType: 'VMAppContainer' },
    });
    type Polled = { commands: { id: string; type: string; attempt: number }[] };
    const first = (await (await agent.call('/commands?waitSeconds=10')).json()) as Polled;
    expect(first.commands.map((c) => [c.type, c.attempt])).toEqual([['registerExtension', 1]]);
    // Not acknowledged: nothing until the lease (1 s) runs out, then the same command again.
    expect(((await (await agent.call('/commands?waitSeconds=0')).json()) as Polled).commands).toEqual([]);
    const again = (await (await agent.call('/commands?waitSeconds=5')).json()) as Polled;
    expect(again.commands.map((c) => [c.id, c.attempt])).toEqual([[first.commands[0]?.id, 2]]);
    const id = first.commands[0]?.id ?? '';
    // Another container's agent cannot acknowledge or answer it (404), and changes nothing.
    const other = await registeredAgent(credentials, 'vm-other');
    expect((await other.call(`/commands/${id}/ack`, { method: 'POST' })).status).toBe(404);
    expect((await other.call(`/commands/${id}/result`, { method: 'POST', body: { status: 'Succeeded' } })).status).toBe(
      404,
    );
    expect(await server.app.db.agentCommand.findUnique({ where: { id }, select: { status: true } })).toEqual({
      status: 'Delivered',
    });
    expect((await agent.call(`/commands/${id}/ack`, { method: 'POST' })).status).toBe(204);
    expect(
      (
        await agent.call(`/commands/${id}/result`, {
          method: 'POST',
          body: { status: 'Failed', error: { code: 'UserErrorTest', message: 'first result' } },
        })
      ).status,
    ).toBe(204);
    expect((await agent.call(`/commands/${id}/result`, { method: 'POST', body: { status: 'Succeeded' } })).status).toBe(
      204,
    );
    // The first result decided: the registration failed with the agent's code, the container is not registered.
    await expect(
      backup.protectionContainers.get('proto-vault-3', 'rg', 'Azure', agent.containerName),
    ).rejects.toMatchObject({ statusCode: 404 });
    const jobs = await server.app.db.job.findMany({
      where: { vault: { name: 'proto-vault-3', subscriptionId: subscriptionId.toLowerCase() } },
    });
    expect(jobs.map((j) => [j.operation, j.status])).toEqual([['Register', 'Failed']]);
    // Nor once it is completed.
    expect((await other.call(`/commands/${id}/ack`, { method: 'POST' })).status).toBe(404);
  });

  it('refuses invalid and oversized inventories without changing what was discovered', async () => {
    const { credentials } = await vaultWithCredentials('proto-vault-4');
    const agent = await registeredAgent(credentials, 'vm-inventory');
    const good = {
      instances: [
        {
          name: 'MSSQLSERVER',
          version: '2019',
          edition: 'Developer',
          isSysadmin: true,
          dataDirectoryPaths: [],
          databases: [{ name: 'sales', recoveryModel: 'FULL', fileCount: 2 }],
        },
      ],
    };
    expect((await agent.call('/inventory', { method: 'POST', body: good })).status).toBe(200);
    const before = await server.app.db.sqlDatabase.findMany({
      where: { container: { name: agent.containerName, vault: { subscriptionId: subscriptionId.toLowerCase() } } },
      select: { itemName: true },
    });
    expect(before).toEqual([{ itemName: 'SQLDataBase;MSSQLSERVER;sales' }]);

    const invalid = [
      { instances: [{ ...good.instances[0], databases: [{ name: 'x', recoveryModel: 'WEIRD', fileCount: 1 }] }] },
      { instances: [{ ...good.instances[0], isSysadmin: 'yes' }] },
      { instances: 'none' },
      { instances: Array.from({ length: 51 }, (_, i) => ({ ...good.instances[0], name: `I${i}` })) },
      { instances: [{ ...good.instances[0], databases: [{ name: '', recoveryModel: 'FULL', fileCount: 1 }] }] },
    ];
    for (const body of invalid) {
      const response = await agent.call('/inventory', { method: 'POST', body });
      expect(response.status).toBe(400);
      expect((await errorOf(response)).code).toBe('InvalidRequestContent');
    }
    const huge = await agent.call('/inventory', {
      method: 'POST',
      body: JSON.stringify({ instances: [], padding: 'x'.repeat(9 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    const deep = await agent.call('/inventory', { method: 'POST', body: `${'['.repeat(5000)}${']'.repeat(5000)}` });
    expect(deep.status).toBe(400);
    const after = await server.app.db.sqlDatabase.findMany({
      where: { container: { name: agent.containerName, vault: { subscriptionId: subscriptionId.toLowerCase() } } },
      select: { itemName: true },
    });
    expect(after).toEqual(before);
  });

  it('revokes the earlier token when a VM registers again, and tells the portal with an alert', async () => {
    const { vault, credentials } = await vaultWithCredentials('reregister-vault');
    const first = await registeredAgent(credentials, 'vm-again');
    expect((await first.call('/commands?waitSeconds=0')).status).toBe(200);
    const second = await registeredAgent(credentials, 'vm-again');
    expect(second.containerName).toBe(first.containerName);
    expect((await first.call('/commands?waitSeconds=0')).status).toBe(401);
    expect((await second.call('/commands?waitSeconds=0')).status).toBe(200);
    const alerts = await fetch(
      `${server.httpsUrl}/portal/v1${vault.id}/alerts?$filter=alertType eq 'AgentReRegistered'`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    expect(alerts.status).toBe(200);
    const { value } = (await alerts.json()) as { value: { alertType: string; entityName: string; severity: string }[] };
    expect(value.map((a) => [a.alertType, a.entityName, a.severity])).toEqual([
      ['AgentReRegistered', 'vm-again', 'Warning'],
    ]);
  });

  it('keeps a VM registered to one vault only', async () => {
    const first = await vaultWithCredentials('proto-vault-5');
    const second = await vaultWithCredentials('proto-vault-6');
    const agent = await registeredAgent(first.credentials, 'vm-one-vault');
    const { backup } = clients();
    await backup.protectionContainers.refresh('proto-vault-5', 'rg', 'Azure');
    await new Promise((r) => setTimeout(r, 300));
    const registration = backup.protectionContainers.beginRegisterAndWait(
      'proto-vault-5',
      'rg',
      'Azure',
      agent.containerName,
      { properties: { containerType: 'VMAppContainer' } },
      poll,
    );
    const { commands } = (await (await agent.call('/commands?waitSeconds=10')).json()) as {
      commands: { id: string }[];
    };
    await agent.call(`/commands/${commands[0]?.id}/result`, { method: 'POST', body: { status: 'Succeeded' } });
    expect((await registration).properties?.registrationStatus).toBe('Registered');
    const elsewhere = await register(second.credentials, {
      vmName: 'vm-one-vault',
      resourceGroup: 'sql-rg',
      os: 'WindowsServer2022',
    });
    expect(elsewhere.status).toBe(409);
    expect((await errorOf(elsewhere)).message).toContain('proto-vault-5');
  });
});
