import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, principalWith, type TestServer } from '../support/server.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';

/** ARM conventions and access control, as any ARM client (SDK or hand-written) sees them. */
describe('ARM conventions and access control', () => {
  const subscriptionA = randomUUID();
  const subscriptionB = randomUUID();
  const reader = principalWith('BackupReader', [subscriptionA]);
  const operator = principalWith('BackupOperator', [subscriptionA]);
  const ownerOfB = principalWith('Contributor', [subscriptionB]);
  let server: TestServer;
  let devToken: string;
  const vaultPath = (sub: string, rg: string, vault: string) =>
    `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.RecoveryServices/vaults/${vault}`;
  const poll = { updateIntervalInMs: 50 };

  const call = (
    method: string,
    path: string,
    options: { token?: string; body?: string; contentType?: string; query?: string } = {},
  ) =>
    fetch(`${server.httpsUrl}${path}${options.query ?? '?api-version=2026-07-01'}`, {
      method,
      headers: {
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        ...(options.body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: options.body }),
    });

  const expectArmError = async (response: Response, status: number, code: string) => {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(10);
    return body.error.message;
  };

  beforeAll(async () => {
    server = await startTestServer({}, [reader, operator, ownerOfB]);
    devToken = await fetchToken(server.httpsUrl);
    const { vaults } = sdkClients(server.httpsUrl, devToken, subscriptionA);
    await vaults.vaults.createOrUpdate(
      'rg',
      'shared-vault',
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
  });
  afterAll(async () => server?.stop());

  it('refuses a request without a token (401) or with a forged one', async () => {
    await expectArmError(
      await call('GET', vaultPath(subscriptionA, 'rg', 'shared-vault')),
      401,
      'AuthenticationFailed',
    );
    const [header, payload] = devToken.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    await expectArmError(
      await call('GET', vaultPath(subscriptionA, 'rg', 'shared-vault'), { token: forged }),
      401,
      'AuthenticationFailed',
    );
    await expectArmError(
      await call('GET', vaultPath(subscriptionA, 'rg', 'shared-vault'), { token: 'garbage' }),
      401,
      'AuthenticationFailed',
    );
  });

  it('lets a Backup Reader read but not write (403 AuthorizationFailed), and changes nothing', async () => {
    const token = await fetchToken(server.httpsUrl, reader.clientId, reader.clientSecret);
    const { vaults } = sdkClients(server.httpsUrl, token, subscriptionA);
    expect((await vaults.vaults.get('rg', 'shared-vault')).name).toBe('shared-vault');
    await expect(
      vaults.vaults
        .createOrUpdate('rg', 'readers-vault', { location: 'westeurope', sku: { name: 'Standard' } }, poll)
        .pollUntilDone(),
    ).rejects.toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    await expect(vaults.vaults.delete('rg', 'shared-vault', poll).pollUntilDone()).rejects.toMatchObject({
      statusCode: 403,
    });
    const dev = sdkClients(server.httpsUrl, devToken, subscriptionA).vaults;
    await expect(dev.vaults.get('rg', 'readers-vault')).rejects.toMatchObject({ statusCode: 404 });
    expect((await dev.vaults.get('rg', 'shared-vault')).properties?.provisioningState).toBe('Succeeded');
  });

  it('lets a Backup Operator read vault settings but not change the vault or its policies', async () => {
    const token = await fetchToken(server.httpsUrl, operator.clientId, operator.clientSecret);
    const { vaults, backup } = sdkClients(server.httpsUrl, token, subscriptionA);
    expect((await backup.backupResourceVaultConfigs.get('shared-vault', 'rg')).name).toBe('vaultconfig');
    await expect(
      vaults.vaults.update('rg', 'shared-vault', { tags: { x: 'y' } }, poll).pollUntilDone(),
    ).rejects.toMatchObject({ statusCode: 403 });
    await expect(
      backup.backupResourceVaultConfigs.update('shared-vault', 'rg', {
        properties: { softDeleteFeatureState: 'Disabled' },
      }),
    ).rejects.toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
  });

  it('hides other subscriptions entirely (404, not 403)', async () => {
    const token = await fetchToken(server.httpsUrl, ownerOfB.clientId, ownerOfB.clientSecret);
    const { vaults } = sdkClients(server.httpsUrl, token, subscriptionA);
    await expect(vaults.vaults.get('rg', 'shared-vault')).rejects.toMatchObject({
      statusCode: 404,
      code: 'SubscriptionNotFound',
    });
    await expect(async () => {
      for await (const _ of vaults.vaults.listBySubscriptionId()) void _;
    }).rejects.toMatchObject({ statusCode: 404 });
    // In its own subscription the same principal works, and sees none of A's vaults.
    const own = sdkClients(server.httpsUrl, token, subscriptionB).vaults;
    await own.vaults.createOrUpdate('rg', 'b-vault', { location: 'westeurope', sku: { name: 'Standard' } }, poll);
    const names = [];
    for await (const v of own.vaults.listBySubscriptionId()) names.push(v.name);
    expect(names).toEqual(['b-vault']);
  });

  it('answers malformed requests with 400 and the ARM error body', async () => {
    const path = vaultPath(subscriptionA, 'rg', 'new-vault');
    await expectArmError(
      await call('PUT', path, { token: devToken, body: '{"location": "westeurope",' }),
      400,
      'InvalidRequestContent',
    );
    await expectArmError(
      await call('PUT', path, { token: devToken, body: '{"location": 42}' }),
      400,
      'InvalidRequestContent',
    );
    await expectArmError(
      await call('PUT', path, { token: devToken, body: '{"location":"w","sku":{"name":"Gold"}}' }),
      400,
      'InvalidRequestContent',
    );
    await expectArmError(
      await call('PUT', vaultPath(subscriptionA, 'rg', '-bad'), { token: devToken, body: '{"location":"westeurope"}' }),
      400,
      'InvalidResourceName',
    );
    await expectArmError(await call('GET', path, { token: devToken, query: '' }), 400, 'MissingApiVersionParameter');
    await expectArmError(
      await call('GET', path, { token: devToken, query: '?api-version=latest' }),
      400,
      'InvalidApiVersionParameter',
    );
    await expectArmError(
      await call('PUT', path, { token: devToken, body: 'location=westeurope', contentType: 'text/plain' }),
      415,
      'UnsupportedMediaType',
    );
    const message = await expectArmError(
      await call('GET', `${vaultPath(subscriptionA, 'rg', 'shared-vault')}/backupUsageSummaries`, {
        token: devToken,
        query: `?api-version=2023-06-01&$filter=${encodeURIComponent("type eq 'x' or type eq 'y'")}`,
      }),
      400,
      'InvalidFilterParameter',
    );
    expect(message).toContain("'or'");
    await expectArmError(
      await call('GET', `/subscriptions/${subscriptionA}/providers/Microsoft.RecoveryServices/vaults`, {
        token: devToken,
        query: '?api-version=2026-07-01&$skipToken=bm90LWpzb24',
      }),
      400,
      'BMSUserErrorInvalidInput',
    );
    // None of these created the vault.
    await expectArmError(await call('GET', path, { token: devToken }), 404, 'ResourceNotFound');
    await expectArmError(await call('GET', '/no/such/route', { token: devToken }), 404, 'NoRegisteredProviderFound');
  });

  it('matches paths case-insensitively and echoes tracing headers', async () => {
    const response = await fetch(
      `${server.httpsUrl}/SUBSCRIPTIONS/${subscriptionA}/RESOURCEGROUPS/RG/PROVIDERS/microsoft.recoveryservices/VAULTS/Shared-Vault?api-version=2026-07-01`,
      {
        headers: {
          authorization: `Bearer ${devToken}`,
          'x-ms-client-request-id': 'client-123',
          'x-ms-correlation-request-id': 'corr-456',
        },
      },
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { name: string }).name).toBe('shared-vault');
    expect(response.headers.get('x-ms-client-request-id')).toBe('client-123');
    expect(response.headers.get('x-ms-correlation-request-id')).toBe('corr-456');
    expect(response.headers.get('x-ms-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // A client id no job could record as its activity id is not echoed either.
    const odd = await fetch(
      `${server.httpsUrl}${vaultPath(subscriptionA, 'rg', 'shared-vault')}?api-version=2026-07-01`,
      {
        headers: { authorization: `Bearer ${devToken}`, 'x-ms-client-request-id': 'not an id; <b>' },
      },
    );
    expect(odd.status).toBe(200);
    expect(odd.headers.get('x-ms-client-request-id')).toBeNull();
  });

  it('serves plain HTTP too, with the same API', async () => {
    const response = await fetch(
      `${server.httpUrl}${vaultPath(subscriptionA, 'rg', 'shared-vault')}?api-version=2026-07-01`,
      {
        headers: { authorization: `Bearer ${devToken}` },
      },
    );
    expect(response.status).toBe(200);
  });

  it('reports a vault deletion through every operation URL, at vault level too', async () => {
    const { vaults, backup } = sdkClients(server.httpsUrl, devToken, subscriptionA);
    await vaults.vaults.createOrUpdate('rg', 'doomed', { location: 'westeurope', sku: { name: 'Standard' } }, poll);
    const headers: Record<string, string> = {};
    await vaults.vaults.delete('rg', 'doomed', {
      ...poll,
      onResponse: (raw) => {
        if (raw.status === 202) {
          headers.status = raw.headers.get('azure-asyncoperation') ?? '';
          headers.result = raw.headers.get('location') ?? '';
        }
      },
    });
    expect(headers.status).toContain('/vaults/doomed/operationStatus/');
    expect(headers.status).toContain('api-version=2026-07-01');
    expect(headers.result).toContain('/vaults/doomed/operationResults/');
    const operationId = new URL(headers.status ?? '').pathname.split('/').pop() ?? '';
    // The backup client's vault-level status and result endpoints know the same operation.
    const status = await backup.backupOperationStatuses.get('doomed', 'rg', operationId);
    expect(status).toMatchObject({ id: operationId, status: 'Succeeded' });
    await backup.backupOperationResults.get('doomed', 'rg', operationId);
    expect(await vaults.getOperationStatus('rg', 'doomed', operationId)).toMatchObject({
      name: operationId,
      status: 'Succeeded',
    });
    // Another vault's path does not reveal it.
    await expect(backup.backupOperationStatuses.get('shared-vault', 'rg', operationId)).rejects.toMatchObject({
      statusCode: 404,
    });
  });
});
