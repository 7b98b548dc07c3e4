import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import { startTestServer, principalWith, type TestServer } from '../support/server.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';
import { DEV_PRINCIPAL } from '../../src/config.ts';

/** The built-in issuer, and validation of the emulator's own and an external issuer's tokens. */
describe('identity', () => {
  const subscriptionId = randomUUID();
  const externalPrincipal = {
    ...principalWith('Contributor', [subscriptionId]),
    clientId: undefined,
    clientSecret: undefined,
  } as never;
  let server: TestServer;
  let jwksServer: Server;
  let externalKey: CryptoKey;
  const externalIssuer = 'https://login.example.test/tenant/v2.0';
  const externalAudience = 'api://recovery-vault';

  beforeAll(async () => {
    // An external identity provider: a real HTTP endpoint publishing its JWKS.
    const pair = await generateKeyPair('RS256');
    externalKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'ext-1', alg: 'RS256', use: 'sig' };
    jwksServer = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/keys`;
    server = await startTestServer(
      { RV_EXTERNAL_JWKS_URL: jwksUrl, RV_EXTERNAL_ISSUER: externalIssuer, RV_EXTERNAL_AUDIENCE: externalAudience },
      [externalPrincipal],
    );
  });
  afterAll(async () => {
    await server?.stop();
    jwksServer?.close();
  });

  const getVaults = (token: string) =>
    fetch(
      `${server.httpsUrl}/subscriptions/${subscriptionId}/providers/Microsoft.RecoveryServices/vaults?api-version=2026-07-01`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
  const tokenRequest = (body: Record<string, string>, path = '/oauth2/token') =>
    fetch(`${server.httpsUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });

  it('issues ES256 tokens for client credentials that verify against the published JWKS', async () => {
    const response = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: DEV_PRINCIPAL.clientId ?? '',
      client_secret: DEV_PRINCIPAL.clientSecret ?? '',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token_type: string; access_token: string; expires_in: number };
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(3600);
    const jwks = (await (await fetch(`${server.httpsUrl}/.well-known/jwks.json`)).json()) as { keys: [] };
    const { payload, protectedHeader } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), {
      issuer: server.config.token.issuer,
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.oid).toBe(DEV_PRINCIPAL.id);
    expect((await getVaults(body.access_token)).status).toBe(200);
    // Entra ID's tenant-scoped paths work too: the service's tenant, `organizations` and `adfs`.
    const tenantId = server.config.tenantId;
    for (const path of [
      `/${tenantId}/oauth2/v2.0/token`,
      `/${tenantId.toUpperCase()}/oauth2/token`,
      '/organizations/oauth2/v2.0/token',
      '/adfs/oauth2/token',
    ]) {
      const answer = await tokenRequest(
        {
          grant_type: 'client_credentials',
          client_id: DEV_PRINCIPAL.clientId ?? '',
          client_secret: DEV_PRINCIPAL.clientSecret ?? '',
          // What MSAL (az) sends besides.
          client_info: '1',
          claims: '{"access_token":{"xms_cc":{"values":["CP1"]}}}',
          scope: 'https://management.core.windows.net//.default',
        },
        path,
      );
      expect(answer.status, path).toBe(200);
      const { access_token } = (await answer.json()) as { access_token: string };
      const claims = JSON.parse(Buffer.from(access_token.split('.')[1] ?? '', 'base64url').toString()) as {
        tid: string;
      };
      expect(claims.tid, path).toBe(tenantId);
    }
  });

  /** An OAuth error as Entra ID sends it; the description starts with the AADSTS code and repeats the ids. */
  async function expectOAuthError(response: Response, status: number, error: string, code: number) {
    expect(response.status).toBe(status);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error, error_codes: [code] });
    expect(body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
    expect(body.error_description).toContain(`Trace ID: ${String(body.trace_id)}`);
    expect(body.error_description).toContain(`Correlation ID: ${String(body.correlation_id)}`);
    expect(body.timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
    return body;
  }

  it('refuses bad client credentials, grants, tenants and bodies in OAuth’s shape, with Entra ID’s codes', async () => {
    const dev = { grant_type: 'client_credentials', client_id: DEV_PRINCIPAL.clientId ?? '' };
    const secret = DEV_PRINCIPAL.clientSecret ?? '';
    const wrongSecret = await fetch(`${server.httpsUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'client-request-id': 'my-request-1' },
      body: new URLSearchParams({ ...dev, client_secret: 'nope' }),
    });
    expect((await expectOAuthError(wrongSecret, 401, 'invalid_client', 7000215)).correlation_id).toBe('my-request-1');
    const unknownClient = await tokenRequest({ ...dev, client_id: 'nobody', client_secret: 'x' });
    await expectOAuthError(unknownClient, 400, 'unauthorized_client', 700016);
    await expectOAuthError(await tokenRequest(dev), 401, 'invalid_client', 7000218);
    const password = await tokenRequest({ grant_type: 'password', username: 'u', password: 'p' });
    await expectOAuthError(password, 400, 'unsupported_grant_type', 70003);
    await expectOAuthError(await tokenRequest({ client_id: 'x' }), 400, 'invalid_request', 900144);
    const strangeTenant = await tokenRequest({ ...dev, client_secret: secret }, `/${randomUUID()}/oauth2/v2.0/token`);
    await expectOAuthError(strangeTenant, 400, 'invalid_request', 90002);
    const common = await tokenRequest({ ...dev, client_secret: secret }, '/common/oauth2/v2.0/token');
    await expectOAuthError(common, 400, 'invalid_request', 9001023);
    // Not a form: JSON, a repeated field, a field over its limit.
    const asJson = await fetch(`${server.httpsUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...dev, client_secret: secret }),
    });
    await expectOAuthError(asJson, 400, 'invalid_request', 900144);
    const repeated = await fetch(`${server.httpsUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&grant_type=password',
    });
    await expectOAuthError(repeated, 400, 'invalid_request', 900144);
    const long = await tokenRequest({ ...dev, client_secret: 'x'.repeat(2000) });
    await expectOAuthError(long, 400, 'invalid_request', 900144);
  });

  it('serves OpenID configuration for every authority form MSAL and azure-identity use', async () => {
    const tenantId = server.config.tenantId;
    const cases: [string, string][] = [
      [`/${tenantId}/.well-known/openid-configuration`, `/${tenantId}/oauth2/token`],
      [`/${tenantId}/v2.0/.well-known/openid-configuration`, `/${tenantId}/oauth2/v2.0/token`],
      ['/organizations/v2.0/.well-known/openid-configuration', '/organizations/oauth2/v2.0/token'],
      ['/common/v2.0/.well-known/openid-configuration', '/common/oauth2/v2.0/token'],
      ['/adfs/.well-known/openid-configuration', '/adfs/oauth2/token'],
      ['/adfs/v2.0/.well-known/openid-configuration', '/adfs/oauth2/token'],
      ['/.well-known/openid-configuration', `/${tenantId}/oauth2/token`],
    ];
    const jwks: unknown = await (await fetch(`${server.httpsUrl}/.well-known/jwks.json`)).json();
    for (const [path, tokenPath] of cases) {
      const response = await fetch(`${server.httpsUrl}${path}`);
      expect(response.status, path).toBe(200);
      const document = (await response.json()) as Record<string, string>;
      expect(document, path).toMatchObject({
        issuer: server.config.token.issuer,
        token_endpoint: `${server.httpsUrl}${tokenPath}`,
        authorization_endpoint: `${server.httpsUrl}${tokenPath.replace(/token$/, 'authorize')}`,
      });
      expect(await (await fetch(document.jwks_uri ?? '')).json()).toEqual(jwks);
    }
    const unknown = await fetch(`${server.httpsUrl}/${randomUUID()}/v2.0/.well-known/openid-configuration`);
    await expectOAuthError(unknown, 400, 'invalid_tenant', 90002);
  });

  it('lists the subscriptions and the tenant the caller’s role assignments reach, in ARM’s shape', async () => {
    const other = randomUUID();
    const scoped = principalWith('BackupReader', [subscriptionId.toUpperCase(), other]);
    const own = await startTestServer({}, [scoped]);
    try {
      const token = await fetchToken(own.httpsUrl, scoped.clientId, scoped.clientSecret);
      const get = async (path: string, bearer = token) => {
        const response = await fetch(`${own.httpsUrl}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const list = await get('/subscriptions?api-version=2019-11-01');
      expect(list.status).toBe(200);
      const ids = [subscriptionId, other].sort();
      expect(list.body).toEqual({
        value: ids.map((id) => ({
          id: `/subscriptions/${id}`,
          authorizationSource: 'RoleBased',
          managedByTenants: [],
          subscriptionId: id,
          tenantId: own.config.tenantId,
          displayName: `recovery-vault ${id}`,
          state: 'Enabled',
          subscriptionPolicies: {
            locationPlacementId: 'Public_2014-09-01',
            quotaId: 'PayAsYouGo_2014-09-01',
            spendingLimit: 'Off',
          },
        })),
        count: { type: 'Total', value: 2 },
      });
      const one = await get(`/subscriptions/${other}?api-version=2022-12-01`);
      expect(one.body).toMatchObject({ subscriptionId: other });
      const hidden = await get(`/subscriptions/${randomUUID()}?api-version=2022-12-01`);
      expect(hidden.status).toBe(404);
      expect(hidden.body).toMatchObject({ error: { code: 'SubscriptionNotFound' } });
      const malformed = await get('/subscriptions/not-a-guid?api-version=2022-12-01');
      expect(malformed.body).toMatchObject({ error: { code: 'InvalidSubscriptionId' } });
      const noVersion = await get('/subscriptions');
      expect(noVersion.body).toMatchObject({ error: { code: 'MissingApiVersionParameter' } });
      expect((await get('/subscriptions?api-version=2022-12-01', 'garbage')).status).toBe(401);
      expect((await get('/tenants?api-version=2022-12-01')).body).toEqual({
        value: [
          {
            id: `/tenants/${own.config.tenantId}`,
            tenantId: own.config.tenantId,
            tenantCategory: 'Home',
            displayName: 'recovery-vault',
            domains: [],
          },
        ],
      });
      // The development principal (every subscription) sees those named by any assignment, and vaults' ones.
      const devList = await get('/subscriptions?api-version=2019-11-01', await fetchToken(own.httpsUrl));
      const devIds = (devList.body.value as { subscriptionId: string }[]).map((s) => s.subscriptionId);
      expect(devIds).toEqual(expect.arrayContaining(ids));
    } finally {
      await own.stop();
    }
  });

  it('serves ARM cloud metadata for az cloud register, in both api-version shapes', async () => {
    const legacy = await fetch(`${server.httpsUrl}/metadata/endpoints?api-version=2015-01-01`);
    expect(legacy.status).toBe(200);
    expect(await legacy.json()).toMatchObject({
      graphEndpoint: 'https://graph.windows.net/',
      authentication: { loginEndpoint: `${server.httpsUrl}/adfs`, audiences: server.config.token.audiences },
    });
    const current = await fetch(`${server.httpsUrl}/metadata/endpoints?api-version=2022-09-01`);
    expect(await current.json()).toMatchObject([
      {
        resourceManager: `${server.httpsUrl}/`,
        authentication: { loginEndpoint: `${server.httpsUrl}/adfs`, audiences: server.config.token.audiences },
      },
    ]);
    const missing = await fetch(`${server.httpsUrl}/metadata/endpoints`);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: { code: 'MissingApiVersionParameter' } });
  });

  it('refuses tokens that are expired, for another audience, unsigned (alg none) or from an unknown issuer', async () => {
    const good = await fetchToken(server.httpsUrl);
    const [, payload] = good.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const now = Math.floor(Date.now() / 1000);
    const { privateKey: strangerKey } = await generateKeyPair('ES256');
    const sign = (overrides: Record<string, unknown>, key: CryptoKey = strangerKey, alg = 'ES256') =>
      new SignJWT({ ...claims, ...overrides }).setProtectedHeader({ alg }).sign(key);
    const cases: [string, string][] = [
      ['alg none', unsigned],
      ['signed by a stranger', await sign({})],
      [
        'external issuer, expired',
        await sign(
          { iss: externalIssuer, aud: externalAudience, exp: now - 60, oid: (externalPrincipal as { id: string }).id },
          externalKey,
          'RS256',
        ),
      ],
      [
        'external issuer, wrong audience',
        await sign(
          { iss: externalIssuer, aud: 'api://someone-else', oid: (externalPrincipal as { id: string }).id },
          externalKey,
          'RS256',
        ),
      ],
    ];
    for (const [label, token] of cases) {
      const response = await getVaults(token);
      expect(response.status, label).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code, label).toBe('AuthenticationFailed');
    }
  });

  it('accepts a valid token from the configured external issuer, with that principal’s roles', async () => {
    const token = await new SignJWT({ oid: (externalPrincipal as { id: string }).id })
      .setProtectedHeader({ alg: 'RS256', kid: 'ext-1' })
      .setIssuer(externalIssuer)
      .setAudience(externalAudience)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(externalKey);
    const { vaults } = sdkClients(server.httpsUrl, token, subscriptionId);
    const vault = await vaults.vaults.createOrUpdate(
      'rg',
      'external-vault',
      { location: 'westeurope', sku: { name: 'Standard' } },
      { updateIntervalInMs: 50 },
    );
    expect(vault.name).toBe('external-vault');
    // Its role is scoped to this subscription only.
    expect(
      (
        await fetch(
          `${server.httpsUrl}/subscriptions/${randomUUID()}/providers/Microsoft.RecoveryServices/vaults?api-version=2026-07-01`,
          { headers: { authorization: `Bearer ${token}` } },
        )
      ).status,
    ).toBe(404);
  });

  it('stops accepting a token the moment it expires, though it was accepted (and remembered) just before', async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 4; // at least 3 s to be accepted twice, on a loaded machine too
    const token = await new SignJWT({ oid: (externalPrincipal as { id: string }).id })
      .setProtectedHeader({ alg: 'RS256', kid: 'ext-1' })
      .setIssuer(externalIssuer)
      .setAudience(externalAudience)
      .setExpirationTime(expiresAt)
      .sign(externalKey);
    expect((await getVaults(token)).status).toBe(200);
    expect((await getVaults(token)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, expiresAt * 1000 - Date.now() + 50));
    const response = await getVaults(token);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('expired');
    // A management token the service accepted (and remembers) is still no agent token.
    const managementToken = await fetchToken(server.httpsUrl);
    expect((await getVaults(managementToken)).status).toBe(200);
    const agentCall = await fetch(`${server.httpsUrl}/agent/v1/containers/VMAppContainer;Compute;rg;vm/heartbeat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${managementToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(agentCall.status).toBe(401);
  });
});
