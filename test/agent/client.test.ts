import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AgentApiError, AgentClient, AgentNetworkError, type FetchLike } from '../../src/agent/client.ts';
import { vmInventory } from '../../src/agent/inventory.ts';
import { parseCredentials } from '../../src/agent/files.ts';
import { parseVmSpec } from '../../src/agent/simulation/spec.ts';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** A fetch that answers from a script, one answer per call, and records the calls. */
function scripted(...answers: (Response | Error)[]) {
  const calls: { url: string; method: string; headers: Record<string, string>; body?: string }[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({
      url,
      method: init.method,
      headers: init.headers,
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    const next = answers.shift();
    if (next === undefined) throw new Error('no more scripted answers');
    if (next instanceof Error) throw next;
    return next;
  };
  return { fetch, calls };
}

const fast = { retries: 3, minDelayMs: 1, maxDelayMs: 5 };
const registerBody = {
  credentials: {
    vaultId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v',
    secret: 'x',
  },
  vm: { vmName: 'vm', resourceGroup: 'rg', os: 'WindowsServer2019' },
  agentVersion: 'test',
};

describe('the agent protocol client', () => {
  it('retries 503, 429 and network errors with backoff, then succeeds', async () => {
    const { fetch, calls } = scripted(
      json(503, { error: { code: 'ServiceUnavailable', message: 'busy' } }),
      new TypeError('fetch failed'),
      json(429, { error: { code: 'TooManyRequests', message: 'slow down' } }, { 'retry-after': '0' }),
      json(200, { serverTime: '2024-01-01T00:00:00Z', heartbeatIntervalSeconds: 30 }),
    );
    const retries: number[] = [];
    const client = new AgentClient({
      serverUrl: 'http://vault.test/',
      fetch,
      retry: fast,
      onRetry: (r) => retries.push(r.attempt),
    });
    const answer = await client
      .container('VMAppContainer;Compute;rg;vm', 'token-1')
      .heartbeat({ agentVersion: 'test' });
    expect(answer.heartbeatIntervalSeconds).toBe(30);
    expect(retries).toEqual([1, 2, 3]);
    expect(calls).toHaveLength(4);
    expect(calls[0]).toMatchObject({
      url: 'http://vault.test/agent/v1/containers/VMAppContainer%3BCompute%3Brg%3Bvm/heartbeat',
      method: 'POST',
      headers: { authorization: 'Bearer token-1', 'content-type': 'application/json' },
      body: '{"agentVersion":"test"}',
    });
  });

  it('never retries a 4xx other than 429, and reports the service’s error code', async () => {
    for (const status of [400, 401, 403, 404, 409]) {
      const { fetch, calls } = scripted(json(status, { error: { code: `Code${status}`, message: 'no' } }));
      const client = new AgentClient({ serverUrl: 'http://vault.test', fetch, retry: fast });
      const error = await client.register(registerBody).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AgentApiError);
      expect(error).toMatchObject({ status, code: `Code${status}`, retryable: false, message: `Code${status}: no` });
      expect(calls).toHaveLength(1);
    }
  });

  it('gives up after its retries with the last error', async () => {
    const { fetch, calls } = scripted(
      ...Array.from({ length: 4 }, () => json(500, { error: { code: 'InternalError', message: 'boom' } })),
    );
    const client = new AgentClient({ serverUrl: 'http://vault.test', fetch, retry: fast });
    await expect(client.register(registerBody)).rejects.toMatchObject({ status: 500, code: 'InternalError' });
    expect(calls).toHaveLength(4);
  });

  it('waits at least the Retry-After the service asks for (up to its ceiling)', async () => {
    const { fetch } = scripted(
      json(503, { error: { code: 'Busy', message: '' } }, { 'retry-after': '1' }),
      json(200, { commands: [] }),
    );
    const delays: number[] = [];
    const client = new AgentClient({
      serverUrl: 'http://vault.test',
      fetch,
      retry: { retries: 1, minDelayMs: 1, maxDelayMs: 5_000 },
      onRetry: (r) => delays.push(r.delayMs),
    });
    await client.container('c', 't').pollCommands(0);
    expect(delays[0]).toBeGreaterThanOrEqual(1000);
  });

  it('turns a refused connection into a retryable network error', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const client = new AgentClient({
      serverUrl: `http://127.0.0.1:${port}`,
      retry: { retries: 1, minDelayMs: 1, maxDelayMs: 2 },
    });
    const error = await client.register(registerBody).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentNetworkError);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('times out a request that gets no answer, and stops at once when aborted', async () => {
    const server: Server = createServer(() => undefined); // never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const client = new AgentClient({
        serverUrl: `http://127.0.0.1:${port}`,
        retry: { retries: 0 },
        requestTimeoutMs: 200,
      });
      await expect(client.register(registerBody)).rejects.toThrow(/no answer within 200 ms/);
      const controller = new AbortController();
      const pending = client.container('c', 't').pollCommands(30, controller.signal);
      setTimeout(() => controller.abort(), 50);
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses a server URL that is not http(s)', () => {
    expect(() => new AgentClient({ serverUrl: 'not a url' })).toThrow(/is not a URL/);
    expect(() => new AgentClient({ serverUrl: 'ftp://x' })).toThrow(/must use http: or https:/);
  });
});

describe('the credentials file', () => {
  const good = {
    vaultId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v',
    vaultName: 'v',
    serviceUrl: 'https://localhost:8443',
    secret: 'id.secret',
    expiresAt: '2030-01-01T00:00:00.000Z',
  };

  it('accepts the file as written by the service (and the ARM envelope around it)', () => {
    expect(parseCredentials(good)).toEqual(good);
    expect(parseCredentials({ id: 'x', name: 'y', properties: good })).toEqual(good);
  });

  it.each([
    [[], 'must be a JSON object'],
    [{ ...good, vaultId: undefined }, "'vaultId' is missing"],
    [{ ...good, secret: '' }, "'secret' must be a non-empty string"],
    [{ ...good, expiresAt: 'soon' }, "'expiresAt' is not a date-time"],
    [{ ...good, vaultId: '/subscriptions/s/vaults/v' }, "'vaultId' is not a Recovery Services vault id"],
  ])('rejects %j', (value, message) => {
    expect(() => parseCredentials(value)).toThrow(message);
  });
});

describe('the inventory the simulated plugin reports', () => {
  const spec = parseVmSpec({
    vmName: 'sqlvm1',
    resourceGroup: 'sql-rg',
    instances: [
      {
        name: 'MSSQLSERVER',
        version: '2019',
        pluginIsSysadmin: true,
        dataDirectory: 'F:\\Data',
        logDirectory: 'G:\\Log',
        databases: [
          { name: 'sales', recoveryModel: 'FULL', sizeMiB: 64, files: 3 },
          { name: 'MSDB', recoveryModel: 'FULL', files: 2 },
          { name: 'snap', isSnapshot: true, readOnly: true, state: 'ONLINE' },
        ],
      },
      {
        name: 'REPORTING',
        version: '2017',
        edition: 'Standard',
        pluginIsSysadmin: false,
        isFailoverClusterInstance: true,
        databases: [{ name: 'reports' }],
      },
    ],
  });
  const [main, reporting] = vmInventory(spec);

  it('lists the system databases with SQL Server’s defaults, unless the spec describes them', () => {
    expect(main?.databases.map((d) => [d.name, d.recoveryModel])).toEqual([
      ['master', 'SIMPLE'],
      ['model', 'FULL'],
      ['sales', 'FULL'],
      ['MSDB', 'FULL'],
      ['snap', 'FULL'],
    ]);
    expect(main?.databases[0]).toEqual({
      name: 'master',
      recoveryModel: 'SIMPLE',
      state: 'ONLINE',
      isReadOnly: false,
      isSnapshot: false,
      isMirror: false,
      sizeBytes: 6 * 1024 * 1024,
      fileCount: 2,
      files: [
        { type: 'Data', logicalName: 'master', path: 'F:\\Data\\master.mdf' },
        { type: 'Log', logicalName: 'mastlog', path: 'G:\\Log\\mastlog.ldf' },
      ],
    });
  });

  it('maps each spec database with its files', () => {
    expect(main).toMatchObject({
      name: 'MSSQLSERVER',
      version: '2019',
      edition: 'Enterprise',
      isSysadmin: true,
      isFailoverClusterInstance: false,
    });
    expect(main?.dataDirectoryPaths).toEqual([
      { type: 'Data', path: 'F:\\Data' },
      { type: 'Log', path: 'G:\\Log' },
    ]);
    expect(main?.databases.find((d) => d.name === 'sales')).toEqual({
      name: 'sales',
      recoveryModel: 'FULL',
      state: 'ONLINE',
      isReadOnly: false,
      isSnapshot: false,
      isMirror: false,
      sizeBytes: 64 * 1024 * 1024,
      fileCount: 3,
      files: [
        { type: 'Data', logicalName: 'sales', path: 'F:\\Data\\sales.mdf' },
        { type: 'Data', logicalName: 'sales_1', path: 'F:\\Data\\sales_1.ndf' },
        { type: 'Log', logicalName: 'sales_log', path: 'G:\\Log\\sales_log.ldf' },
      ],
    });
    expect(main?.databases.find((d) => d.name === 'snap')).toMatchObject({ isSnapshot: true, isReadOnly: true });
  });

  it('lists no databases where the plugin lacks sysadmin', () => {
    expect(reporting).toMatchObject({
      name: 'REPORTING',
      version: '2017',
      edition: 'Standard',
      isSysadmin: false,
      isFailoverClusterInstance: true,
      databases: [],
    });
  });

  it('reports only the file count of a database with more files than the protocol carries', () => {
    const big = vmInventory(
      parseVmSpec({
        vmName: 'v',
        resourceGroup: 'r',
        instances: [{ name: 'I', databases: [{ name: 'huge', files: 2001 }] }],
      }),
    );
    const huge = big[0]?.databases.find((d) => d.name === 'huge');
    expect(huge?.fileCount).toBe(2001);
    expect(huge?.files).toBeUndefined();
  });
});
