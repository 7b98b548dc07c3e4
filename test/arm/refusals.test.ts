import { randomUUID } from 'node:crypto';
import { connect as tcp } from 'node:net';
import { connect as tls } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { fetchToken } from '../support/sdk.ts';

/**
 * Refusals the request fuzzer (test/faults/fuzz.test.ts) found answered wrongly, one focused case each: what Node's
 * HTTP parser and Fastify's router refuse, U+0000 in any input, forged $skipToken cursors, loose $top, malformed
 * subscription ids and resource group names — all 4xx with ARM's error body, none reaching the database.
 */
describe('refusals in ARM’s words', () => {
  const subscriptionId = randomUUID();
  let server: TestServer;
  let token: string;
  const vaults = (rg = 'rg', sub: string = subscriptionId) =>
    `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.RecoveryServices/vaults`;

  beforeAll(async () => {
    server = await startTestServer();
    token = await fetchToken(server.httpsUrl);
    for (const name of ['alpha', 'bravo', 'charlie']) {
      const created = await call('PUT', `${vaults()}/${name}?api-version=2023-06-01`, {
        body: JSON.stringify({ location: 'westeurope', sku: { name: 'Standard' } }),
      });
      expect(created.status).toBe(201);
    }
  });
  afterAll(async () => server?.stop());

  function call(
    method: string,
    path: string,
    options: { body?: string; contentType?: string; headers?: Record<string, string> } = {},
  ) {
    return fetch(`${server.httpsUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(options.body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: options.body }),
    });
  }
  const expectArmError = async (response: Response, status: number, code: string) => {
    expect({ status: response.status, type: response.headers.get('content-type') }).toEqual({
      status,
      type: 'application/json; charset=utf-8',
    });
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(10);
  };
  /** A raw exchange on a fresh connection (for what fetch would never send): the status line and the JSON body. */
  const raw = (url: string, request: string) =>
    new Promise<{ status: number; body: { error: { code: string; message: string } } }>((resolve, reject) => {
      const { hostname, port, protocol } = new URL(url);
      const socket =
        protocol === 'https:'
          ? tls({ host: hostname, port: Number(port), servername: hostname })
          : tcp({ host: hostname, port: Number(port) });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head = '', body = ''] = text.split('\r\n\r\n');
        resolve({
          status: Number(head.split(' ')[1]),
          body: JSON.parse(body) as { error: { code: string; message: string } },
        });
      });
      socket.write(request);
    });
  const vaultExists = async (name: string) =>
    (await call('GET', `${vaults()}/${name}?api-version=2023-06-01`)).status === 200;

  it('answers what the router refuses — bad percent-encoding, over-long names — in ARM’s shape', async () => {
    await expectArmError(await call('GET', `${vaults()}/%zz?api-version=2023-06-01`), 400, 'InvalidRequestUri');
    await expectArmError(
      await call('GET', `${vaults()}/${'a'.repeat(2000)}?api-version=2023-06-01`),
      414,
      'RequestUriTooLong',
    );
  });

  it('answers what Node’s HTTP parser refuses — oversized headers, malformed requests — in ARM’s shape, on HTTPS and HTTP', async () => {
    for (const url of [server.httpsUrl, server.httpUrl]) {
      const huge = await raw(url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`);
      expect({ url, status: huge.status, code: huge.body.error.code }).toEqual({
        url,
        status: 431,
        code: 'RequestHeaderFieldsTooLarge',
      });
      const garbage = await raw(url, 'THIS IS NOT HTTP\r\n\r\n');
      expect({ url, status: garbage.status, code: garbage.body.error.code }).toEqual({
        url,
        status: 400,
        code: 'BadRequest',
      });
    }
  });

  it('refuses U+0000 in a name, a query, a JSON value or key and a form field with 400, writing nothing', async () => {
    await expectArmError(
      await call('GET', `${vaults()}/al%00pha?api-version=2023-06-01`),
      400,
      'InvalidRequestContent',
    );
    await expectArmError(
      await call(
        'GET',
        `${vaults()}/alpha/backupJobs?api-version=2023-06-01&$filter=${encodeURIComponent("status eq '\u0000'")}`,
      ),
      400,
      'InvalidRequestContent',
    );
    const body = (tags: object) => JSON.stringify({ location: 'westeurope', sku: { name: 'Standard' }, tags });
    await expectArmError(
      await call('PUT', `${vaults()}/delta?api-version=2023-06-01`, { body: body({ owner: 'a\u0000b' }) }),
      400,
      'InvalidRequestContent',
    );
    await expectArmError(
      await call('PUT', `${vaults()}/delta?api-version=2023-06-01`, { body: body({ 'own\u0000er': 'a' }) }),
      400,
      'InvalidRequestContent',
    );
    expect(await vaultExists('delta')).toBe(false);
    const form = await fetch(`${server.httpsUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=%00&client_secret=x',
    });
    // A token endpoint answers in OAuth's shape, as Entra ID does, not ARM's.
    expect(form.status).toBe(400);
    const oauth = (await form.json()) as { error: unknown; error_description: string };
    expect(oauth.error).toBe('invalid_request');
    expect(oauth.error_description.length).toBeGreaterThan(10);
  });

  it('pages only with skip tokens the list itself issued: altered, foreign or hand-made ones are a 400', async () => {
    const first = (await (await call('GET', `${vaults()}?api-version=2023-06-01&$top=1`)).json()) as {
      value: { name: string }[];
      nextLink: string;
    };
    expect(first.value.map((v) => v.name)).toEqual(['alpha']);
    const next = new URL(first.nextLink);
    const second = (await (await call('GET', `${next.pathname}${next.search}`)).json()) as {
      value: { name: string }[];
    };
    expect(second.value.map((v) => v.name)).toEqual(['bravo']);

    const genuine = next.searchParams.get('$skipToken') ?? '';
    const [payload = '', mac = ''] = genuine.split('.');
    const hostile = {
      'another cursor, same MAC': `${Buffer.from(JSON.stringify(['\u0000'])).toString('base64url')}.${mac}`,
      'the MAC altered': `${payload}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`,
      // Base64url decoding ignores the last character's spare bits: the MAC must be compared as issued.
      'the MAC’s last character altered': `${payload}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`,
      'no MAC (a bare cursor)': Buffer.from(JSON.stringify(['alpha'])).toString('base64url'),
    };
    for (const [label, skipToken] of Object.entries(hostile)) {
      const response = await call(
        'GET',
        `${vaults()}?api-version=2023-06-01&$top=1&$skipToken=${encodeURIComponent(skipToken)}`,
      );
      expect(response.status, label).toBe(400);
      await expectArmError(response, 400, 'BMSUserErrorInvalidInput');
    }
    // A genuine token of one list means nothing to another (here: the subscription's list, not the resource group's).
    await expectArmError(
      await call(
        'GET',
        `/subscriptions/${subscriptionId}/providers/Microsoft.RecoveryServices/vaults?api-version=2023-06-01&$top=1&$skipToken=${genuine}`,
      ),
      400,
      'BMSUserErrorInvalidInput',
    );
  });

  it('takes $top as decimal digits only', async () => {
    for (const top of ['0x10', '1e1', '%205', '0', '-1', '1.0']) {
      await expectArmError(
        await call('GET', `${vaults()}?api-version=2023-06-01&$top=${top}`),
        400,
        'BMSUserErrorInvalidInput',
      );
    }
    expect(
      ((await (await call('GET', `${vaults()}?api-version=2023-06-01&$top=2`)).json()) as { value: unknown[] }).value,
    ).toHaveLength(2);
  });

  it('refuses a subscription id that is no GUID (400) and a resource group ARM could not have named (404)', async () => {
    await expectArmError(
      await call('GET', `${vaults('rg', 'not-a-guid')}?api-version=2023-06-01`),
      400,
      'InvalidSubscriptionId',
    );
    await expectArmError(
      await call('GET', `/subscriptions/..%2F/providers/Microsoft.RecoveryServices/vaults?api-version=2023-06-01`),
      400,
      'InvalidSubscriptionId',
    );
    // The portal's read models scope alike.
    await expectArmError(
      await call('GET', `/portal/v1${vaults('rg', 'not-a-guid')}/echo/summary`),
      400,
      'InvalidSubscriptionId',
    );
    await expectArmError(await call('GET', `/portal/v1${vaults('rg.')}/echo/summary`), 404, 'ResourceGroupNotFound');
    for (const rg of ['rg.', '(rg)..', 'a%3Bb', 'x'.repeat(91), '%E2%9C%93']) {
      await expectArmError(await call('GET', `${vaults(rg)}?api-version=2023-06-01`), 404, 'ResourceGroupNotFound');
    }
    await expectArmError(
      await call('PUT', `${vaults('rg.')}/echo?api-version=2023-06-01`, {
        body: JSON.stringify({ location: 'westeurope', sku: { name: 'Standard' } }),
      }),
      404,
      'ResourceGroupNotFound',
    );
    // ARM's rule admits Unicode letters, digits, '_', '-', '.', '(' and ')' (just not a final '.').
    for (const rg of ['Sql-RG', 'grupo_ñ.(1)', 'x'.repeat(90)])
      expect((await call('GET', `${vaults(encodeURIComponent(rg))}?api-version=2023-06-01`)).status, rg).toBe(200);
  });
});
