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
    // Entra ID's tenant-scoped path works too.
    expect(
      (
        await tokenRequest(
          {
            grant_type: 'client_credentials',
            client_id: DEV_PRINCIPAL.clientId ?? '',
            client_secret: DEV_PRINCIPAL.clientSecret ?? '',
          },
          '/my-tenant/oauth2/v2.0/token',
        )
      ).status,
    ).toBe(200);
  });

  it('refuses bad client credentials and grants', async () => {
    const wrongSecret = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: DEV_PRINCIPAL.clientId ?? '',
      client_secret: 'nope',
    });
    expect(wrongSecret.status).toBe(401);
    expect(((await wrongSecret.json()) as { error: { code: string } }).error.code).toBe('invalid_client');
    const wrongGrant = await tokenRequest({ grant_type: 'password', username: 'u', password: 'p' });
    expect(wrongGrant.status).toBe(400);
    expect(((await wrongGrant.json()) as { error: { code: string } }).error.code).toBe('unsupported_grant_type');
    const missing = await tokenRequest({ client_id: 'x' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('InvalidRequestContent');
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
