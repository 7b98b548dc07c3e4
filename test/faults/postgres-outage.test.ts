import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchToken } from '../support/sdk.ts';
import {
  deployment,
  eventually,
  freePort,
  spawnApi,
  startPrivatePostgres,
  type Deployment,
  type PrivatePostgres,
  type ServiceProcess,
} from '../support/processes.ts';

const API = 'api-version=2023-06-01';

/**
 * PostgreSQL goes away for a few seconds under a running service (its own cluster: the machine's shared one is never
 * touched). Requests answer 503 ServiceUnavailable with the ARM body and Retry-After — quickly, not after a hang —
 * the process stays up, /readyz says what is down, and once the database is back the service answers again by itself.
 */
describe('a PostgreSQL outage', () => {
  let postgres: PrivatePostgres;
  let deploy: Deployment;
  let api: ServiceProcess;
  let token: string;
  const subscriptionId = randomUUID();
  const vaultUrl = (name: string) =>
    `/subscriptions/${subscriptionId}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/${name}?${API}`;

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    deploy = deployment({
      DATABASE_URL: postgres.url('recovery_vault'),
      RV_MIGRATE_ON_START: 'true',
      RV_LOG_LEVEL: 'warn',
    });
    api = await spawnApi(deploy, { httpsPort: await freePort() });
    token = await fetchToken(api.httpsUrl);
  });
  afterAll(async () => {
    await api?.stop();
    await postgres?.destroy();
    deploy?.remove();
  });

  const call = (path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${api.httpsUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(15_000),
    });
  const vaultBody = { location: 'westeurope', sku: { name: 'Standard' } };

  it('answers 503 with the ARM error body while the database is down, and recovers by itself', async () => {
    expect((await call(vaultUrl('before'), { method: 'PUT', body: vaultBody })).status).toBe(201);

    await postgres.stop();
    const requests: [string, () => Promise<Response>][] = [
      ['GET vault', () => call(vaultUrl('before'))],
      ['PUT vault', () => call(vaultUrl('during'), { method: 'PUT', body: vaultBody })],
      [
        'list vaults',
        () => call(`/subscriptions/${subscriptionId}/providers/Microsoft.RecoveryServices/vaults?${API}`),
      ],
      [
        'token',
        () =>
          fetch(`${api.httpsUrl}/oauth2/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'client_credentials',
              client_id: 'recovery-vault-dev',
              client_secret: 'recovery-vault-dev-secret',
            }),
            signal: AbortSignal.timeout(15_000),
          }),
      ],
    ];
    for (const [label, send] of requests) {
      const started = Date.now();
      const response = await send();
      // ARM's words on ARM's endpoints; the token endpoint answers in OAuth's, as Entra ID does.
      const body = (await response.json()) as
        { error?: { code?: string; message?: string } } | { error: string; error_description: string };
      const [code, message] =
        typeof body.error === 'string'
          ? [body.error, (body as { error_description: string }).error_description]
          : [body.error?.code, body.error?.message];
      expect({ label, status: response.status, code }).toEqual({
        label,
        status: 503,
        code: label === 'token' ? 'temporarily_unavailable' : 'ServiceUnavailable',
      });
      expect(message, label).toMatch(/unavailable/);
      expect(response.headers.get('retry-after'), label).toMatch(/^\d+$/);
      // The pool's connection timeout is 5 s: an answer, not a hang.
      expect(Date.now() - started, label).toBeLessThan(10_000);
    }
    const ready = await fetch(`${api.httpsUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { database: { status: string } } }).checks.database.status).toBe(
      'unavailable',
    );
    expect((await fetch(`${api.httpsUrl}/healthz`)).status).toBe(200);
    expect(api.running).toBe(true);

    await postgres.start();
    // No restart, no operator: the pool reconnects on the next request.
    const back = await eventually(
      'the service to answer again',
      async () => {
        const response = await call(vaultUrl('before'));
        return response.status === 200 ? response : undefined;
      },
      30_000,
      200,
    );
    expect(((await back.json()) as { name: string }).name).toBe('before');
    expect((await call(vaultUrl('after'), { method: 'PUT', body: vaultBody })).status).toBe(201);
    expect((await fetch(`${api.httpsUrl}/readyz`)).status).toBe(200);
    // The vault refused during the outage was not half-created.
    expect((await call(vaultUrl('during'))).status).toBe(404);
    expect(api.running).toBe(true);
  });
});
