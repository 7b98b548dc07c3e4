import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import type { RecoveryServicesClient } from '@azure/arm-recoveryservices';
import { COORDINATOR_STATE_FILE } from '../../src/agent/coordinator-state.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';
import { fetchVaultCredentials, runAgent, spawnAgent, type AgentProcess } from '../support/agent-process.ts';

const poll = { updateIntervalInMs: 50 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const spec = (vmName: string) => ({
  vmName,
  resourceGroup: 'sql-rg',
  os: 'WindowsServer2019',
  instances: [
    {
      name: 'MSSQLSERVER',
      version: '2019',
      edition: 'Enterprise',
      pluginIsSysadmin: true,
      databases: [{ name: 'sales', recoveryModel: 'FULL', sizeMiB: 8, files: 2, writesPerMinute: 0 }],
    },
    {
      name: 'REPORTING',
      version: '2017',
      edition: 'Standard',
      pluginIsSysadmin: false,
      databases: [{ name: 'reports', writesPerMinute: 0 }],
    },
  ],
});

const VAULT_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v';

describe('recovery-vault-agent: arguments and input files', () => {
  let dir: string;
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rv-agent-args-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const credentials = {
    vaultId: VAULT_ID,
    vaultName: 'v',
    serviceUrl: 'http://127.0.0.1:9',
    secret: 'x.y',
    expiresAt: '2099-01-01T00:00:00.000Z',
  };
  const cases: [string, () => string[], RegExp][] = [
    [
      'no arguments',
      () => [],
      /^recovery-vault-agent: required option '--credentials <file>' not specified \(see --help\)$/,
    ],
    [
      'an unknown option',
      () => ['--credentials', file('c1.json', credentials), '--spec', file('s1.json', spec('vm')), '--frobnicate'],
      /^recovery-vault-agent: unknown option '--frobnicate' \(see --help\)$/,
    ],
    [
      'a missing credentials file',
      () => ['--credentials', join(dir, 'nope.json'), '--spec', file('s2.json', spec('vm'))],
      /^recovery-vault-agent: cannot read the credentials file .*nope\.json: no such file$/,
    ],
    [
      'credentials that are not JSON',
      () => ['--credentials', file('c3.json', 'vaultId=1'), '--spec', file('s3.json', spec('vm'))],
      /^recovery-vault-agent: the credentials file .*c3\.json is not JSON: /,
    ],
    [
      'a file that is not vault credentials',
      () => ['--credentials', file('c4.json', { vaultId: VAULT_ID }), '--spec', file('s4.json', spec('vm'))],
      /^recovery-vault-agent: the credentials file .*c4\.json: 'secret' is missing \(is this a vault credentials file\?\)$/,
    ],
    [
      'a spec that is not JSON',
      () => ['--credentials', file('c5.json', credentials), '--spec', file('s5.json', '{ vmName: ')],
      /^recovery-vault-agent: the spec file .*s5\.json is not JSON: /,
    ],
    [
      'an invalid spec',
      () => [
        '--credentials',
        file('c6.json', credentials),
        '--spec',
        file('s6.json', {
          ...spec('vm'),
          instances: [{ name: 'I', databases: [{ name: 'd', recoveryModel: 'PARTIAL' }] }],
        }),
      ],
      /^recovery-vault-agent: the spec file .*s6\.json is invalid: instances\[0\]\.databases\[0\]\.recoveryModel: expected one of FULL, SIMPLE, BULK_LOGGED, got "PARTIAL"$/,
    ],
    [
      'a server URL that is not one',
      () => [
        '--server',
        'localhost:8443',
        '--credentials',
        file('c7.json', credentials),
        '--spec',
        file('s7.json', spec('vm')),
      ],
      /^recovery-vault-agent: the server URL 'localhost:8443' must use http: or https:$/,
    ],
    [
      'no server anywhere',
      () => [
        '--credentials',
        file('c8.json', { ...credentials, serviceUrl: undefined }),
        '--spec',
        file('s8.json', spec('vm')),
      ],
      /^recovery-vault-agent: no --server given and the credentials file .*c8\.json has no serviceUrl$/,
    ],
    [
      'a CA file that is missing',
      () => [
        '--ca',
        join(dir, 'ca.pem'),
        '--credentials',
        file('c9.json', credentials),
        '--spec',
        file('s9.json', spec('vm')),
      ],
      /^recovery-vault-agent: cannot read the CA file .*ca\.pem: ENOENT/,
    ],
    [
      'a CA file with no certificate',
      () => [
        '--ca',
        file('ca.pem', 'hello'),
        '--credentials',
        file('c10.json', credentials),
        '--spec',
        file('s10.json', spec('vm')),
      ],
      /^recovery-vault-agent: the CA file .*ca\.pem holds no PEM certificate$/,
    ],
  ];

  it.each(cases)('%s: exit 2 with one line on stderr', (_name, args, message) => {
    const result = runAgent(args());
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(2);
  });

  it('prints its version and help with exit 0', () => {
    expect(runAgent(['--version'])).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/^recovery-vault-agent\/\d+\.\d+\.\d+\n$/),
    });
    expect(runAgent(['--help'])).toMatchObject({ status: 0, stdout: expect.stringContaining('--credentials <file>') });
  });
});

describe('recovery-vault-agent against the service', () => {
  let server: TestServer;
  let vaults: RecoveryServicesClient;
  let backup: RecoveryServicesBackupClient;
  let token: string;
  let dir: string;
  const subscriptionId = randomUUID();
  let running: AgentProcess[] = [];

  beforeAll(async () => {
    // A short lease: the service lets a long-poll that the stopped agent abandoned claim a command (see the
    // restart test); the command then comes to the next process once the lease is over.
    server = await startTestServer({ RV_AGENT_HEARTBEAT_SECONDS: '1', RV_AGENT_COMMAND_LEASE_SECONDS: '2' });
    token = await fetchToken(server.httpsUrl);
    ({ vaults, backup } = sdkClients(server.httpsUrl, token, subscriptionId));
    dir = mkdtempSync(join(tmpdir(), 'rv-agent-cli-'));
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(running.map((a) => a.stop()));
    running = [];
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A vault, its credentials file and a spec file for one VM. */
  async function setup(
    vaultName: string,
    vmName: string,
    edit: (c: Record<string, string>) => Record<string, string> = (c) => c,
  ) {
    const vault = await vaults.vaults.createOrUpdate(
      'rg',
      vaultName,
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    const credentials = await fetchVaultCredentials(server.httpsUrl, token, vault.id ?? '');
    const credentialsFile = join(dir, `${vaultName}.credentials.json`);
    writeFileSync(credentialsFile, JSON.stringify(edit(credentials)));
    const specFile = join(dir, `${vmName}.json`);
    writeFileSync(specFile, JSON.stringify(spec(vmName)));
    return {
      credentialsFile,
      specFile,
      stateDir: join(dir, `${vmName}.state`),
      containerName: `VMAppContainer;Compute;sql-rg;${vmName}`,
    };
  }

  function start(options: Parameters<typeof spawnAgent>[0]): AgentProcess {
    const agent = spawnAgent(options);
    running.push(agent);
    return agent;
  }

  async function registerContainer(vaultName: string, containerName: string) {
    await backup.protectionContainers.refresh(vaultName, 'rg', 'Azure');
    const found = await until('the protectable container', async () => {
      for await (const c of backup.protectableContainers.list(vaultName, 'rg', 'Azure'))
        if (c.name === containerName) return c;
      return undefined;
    });
    expect(found.properties).toMatchObject({ protectableContainerType: 'VMAppContainer', healthStatus: 'Healthy' });
    return backup.protectionContainers.beginRegisterAndWait(
      vaultName,
      'rg',
      'Azure',
      containerName,
      {
        properties: {
          containerType: 'VMAppContainer',
          backupManagementType: 'AzureWorkload',
          workloadType: 'SQLDataBase',
        } as never,
      },
      poll,
    );
  }

  it('registers, answers the vault, heartbeats (the container stays fresh), and exits 0 on SIGTERM', async () => {
    const { credentialsFile, specFile, stateDir, containerName } = await setup('cli-vault', 'clivm');
    const agent = start({ serverUrl: server.httpsUrl, credentialsFile, specFile, stateDir, verbose: true });
    await agent.waitForLine(/^registered VMAppContainer;Compute;sql-rg;clivm with vault cli-vault$/);

    const registered = await registerContainer('cli-vault', containerName);
    expect(registered.properties).toMatchObject({ registrationStatus: 'Registered', healthStatus: 'Healthy' });
    await agent.waitForLine(/^command registerExtension [0-9a-f]{8} received \(attempt 1\)$/);
    await agent.waitForLine(/^workload extension AzureBackupWindowsWorkload installed$/);
    await agent.waitForLine(/^command registerExtension [0-9a-f]{8} succeeded$/);
    await agent.waitForLine(/^command discover [0-9a-f]{8} received \(attempt 1\)$/);
    await agent.waitForLine(/^inventory reported: 2 instances, 4 databases \(4 protectable\)$/);

    // Heartbeats every second keep moving the container's last update.
    const lastUpdated = async () => {
      const container = await backup.protectionContainers.get('cli-vault', 'rg', 'Azure', containerName);
      return (container.properties as { lastUpdatedTime?: Date } | undefined)?.lastUpdatedTime?.getTime() ?? 0;
    };
    const before = await lastUpdated();
    await sleep(2_500);
    expect(await lastUpdated()).toBeGreaterThan(before);
    expect(agent.lines.filter((l) => /^heartbeat sent \(next in 1 s\)$/.test(l)).length).toBeGreaterThanOrEqual(2);

    expect(await agent.stop()).toBe(0);
    expect(agent.stdout.slice(-3)).toEqual([
      'SIGTERM received',
      'stopping: finishing the command in progress, then no more polling',
      'stopped (stopped)',
    ]);
    expect(agent.stderr).toEqual([]);
  });

  it('keeps its registration across a restart: the second process resumes instead of registering', async () => {
    // No --server: the credentials file's serviceUrl is the default.
    const { credentialsFile, specFile, stateDir, containerName } = await setup('cli-restart', 'restartvm');
    const first = start({ credentialsFile, specFile, stateDir });
    await first.waitForLine(/^registered /);
    const saved = JSON.parse(readFileSync(join(stateDir, COORDINATOR_STATE_FILE), 'utf8')) as {
      registration: { containerName: string; agentToken: string };
    };
    expect(saved.registration.containerName).toBe(containerName);
    first.process.kill('SIGINT');
    expect(await first.exited).toBe(0);

    const databases = () =>
      (
        JSON.parse(readFileSync(join(stateDir, 'agent-state.json'), 'utf8')) as {
          databases: { name: string; createdAt: string }[];
        }
      ).databases;
    const before = databases();
    expect(before.map((d) => d.name)).toEqual(['sales', 'reports']);
    expect(first.stdout[0]).toBe('simulated databases: added MSSQLSERVER/sales, REPORTING/reports');

    const second = start({ credentialsFile, specFile, stateDir });
    await second.waitForLine(
      new RegExp(
        `^resumed ${containerName.replace(/;/g, ';')} with vault cli-restart \\(state in .*restartvm\\.state\\)$`,
      ),
    );
    expect(second.lines.some((l) => l.startsWith('registered'))).toBe(false);
    expect(second.lines.some((l) => l.startsWith('simulated databases'))).toBe(false);
    expect(databases()).toEqual(before); // the same databases, born when the first process saw them
    const resumed = JSON.parse(readFileSync(join(stateDir, COORDINATOR_STATE_FILE), 'utf8')) as typeof saved;
    expect(resumed.registration).toEqual(saved.registration);
    // And it works: the vault registers the VM through it (the command may come at a second attempt: the first
    // process's abandoned long-poll can have claimed it).
    await registerContainer('cli-restart', containerName);
    await second.waitForLine(/^command registerExtension [0-9a-f]{8} succeeded$/);
    await second.waitForLine(/^inventory reported: /);
    expect(await second.stop()).toBe(0);
  });

  it('defaults the state directory to one beside the spec file', async () => {
    const { credentialsFile, specFile } = await setup('cli-default-state', 'defaultvm');
    const agent = start({ serverUrl: server.httpsUrl, credentialsFile, specFile });
    await agent.waitForLine(/^registered /);
    expect(existsSync(join(dir, 'defaultvm.state', COORDINATOR_STATE_FILE))).toBe(true);
  });

  it('exits 0 by itself once the VM is unregistered, its registration cleared', async () => {
    const { credentialsFile, specFile, stateDir, containerName } = await setup('cli-unregister', 'leavingvm');
    const agent = start({ serverUrl: server.httpsUrl, credentialsFile, specFile, stateDir });
    await agent.waitForLine(/^registered /);
    await registerContainer('cli-unregister', containerName);
    await backup.protectionContainers.unregister('cli-unregister', 'rg', 'Azure', containerName);
    expect(await agent.exited).toBe(0);
    expect(agent.stdout).toEqual(
      expect.arrayContaining([
        'workload extension AzureBackupWindowsWorkload removed',
        `unregistered: ${containerName} left vault cli-unregister; registration cleared`,
        'stopped (unregistered)',
      ]),
    );
    expect(JSON.parse(readFileSync(join(stateDir, COORDINATOR_STATE_FILE), 'utf8'))).toMatchObject({
      registration: null,
    });
  });

  it('trusts the service’s certificate with --ca alone, and says what to do without it', async () => {
    const { credentialsFile, specFile, stateDir } = await setup('cli-tls', 'tlsvm');
    const untrusted = start({
      serverUrl: server.httpsUrl,
      credentialsFile,
      specFile,
      stateDir,
      env: { NODE_EXTRA_CA_CERTS: undefined },
    });
    expect(await untrusted.exited).toBe(1);
    expect(untrusted.stderr).toEqual([
      expect.stringMatching(
        /^recovery-vault-agent: registration failed: POST \/agent\/v1\/register: the service's TLS certificate is not trusted \(\w+: .*\); pass its CA with --ca FILE \(caFile\) or NODE_EXTRA_CA_CERTS$/,
      ),
    ]);

    const trusted = start({
      serverUrl: server.httpsUrl,
      credentialsFile,
      specFile,
      stateDir,
      caFile: server.certificate.certFile,
      env: { NODE_EXTRA_CA_CERTS: undefined },
    });
    await trusted.waitForLine(/^registered VMAppContainer;Compute;sql-rg;tlsvm with vault cli-tls$/);
  });

  it('works over plain http too', async () => {
    const { credentialsFile, specFile, stateDir } = await setup('cli-http', 'httpvm');
    const agent = start({ serverUrl: server.httpUrl, credentialsFile, specFile, stateDir });
    await agent.waitForLine(/^registered VMAppContainer;Compute;sql-rg;httpvm with vault cli-http$/);
  });

  it('refuses invalid credentials: one clear line, exit 1', async () => {
    const { credentialsFile, specFile, stateDir } = await setup('cli-invalid', 'invalidvm', (c) => ({
      ...c,
      secret: `${c.secret}tampered`,
    }));
    const agent = start({ serverUrl: server.httpsUrl, credentialsFile, specFile, stateDir });
    expect(await agent.exited).toBe(1);
    expect(agent.stderr).toEqual([
      'recovery-vault-agent: registration failed: UserErrorInvalidVaultCredentials: The vault credentials are invalid. Download new credentials for the vault.',
    ]);
    expect(existsSync(join(stateDir, COORDINATOR_STATE_FILE))).toBe(false);
  });

  it('refuses credentials whose file says they expired, without asking the vault', async () => {
    const { credentialsFile, specFile, stateDir } = await setup('cli-expired-file', 'expiredvm', (c) => ({
      ...c,
      expiresAt: '2020-01-01T00:00:00.000Z',
    }));
    const agent = start({ serverUrl: server.httpsUrl, credentialsFile, specFile, stateDir });
    expect(await agent.exited).toBe(1);
    expect(agent.stderr).toEqual([
      'recovery-vault-agent: registration failed: UserErrorVaultCredentialsExpired: the vault credentials expired at 2020-01-01T00:00:00.000Z; download new credentials for vault cli-expired-file',
    ]);
  });

  it('reports the vault’s verdict on credentials that expired by its clock', async () => {
    const { credentialsFile, specFile, stateDir } = await setup('cli-expired', 'latevm');
    // The service's clock runs 49 h ahead (credentials last 48 h): it refuses them.
    const now = server.app.clock.now.bind(server.app.clock);
    vi.spyOn(server.app.clock, 'now').mockImplementation(() => new Date(now().getTime() + 49 * 3_600_000));
    const agent = start({ serverUrl: server.httpsUrl, credentialsFile, specFile, stateDir });
    expect(await agent.exited).toBe(1);
    expect(agent.stderr).toEqual([
      expect.stringMatching(
        /^recovery-vault-agent: registration failed: UserErrorVaultCredentialsExpired: The vault credentials expired at \S+\. Download new credentials for the vault\.$/,
      ),
    ]);
  });
});
