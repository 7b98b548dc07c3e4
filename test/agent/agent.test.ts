import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import type { RecoveryServicesClient } from '@azure/arm-recoveryservices';
import { Agent, AGENT_VERSION, type AgentLogEntry, type AgentOptions } from '../../src/agent/agent.ts';
import type { FetchLike } from '../../src/agent/client.ts';
import { parseCredentials, type VaultCredentialsFile } from '../../src/agent/files.ts';
import { COORDINATOR_STATE_FILE, type CoordinatorState } from '../../src/agent/coordinator-state.ts';
import { parseVmSpec, type VmSpec } from '../../src/agent/simulation/spec.ts';
import type { Command, InventoryReport } from '../../src/protocol/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';
import { fetchVaultCredentials } from '../support/agent-process.ts';

const poll = { updateIntervalInMs: 50 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fastRetry = { retries: 0, minDelayMs: 10, maxDelayMs: 50 };

async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const vmSpec = (vmName: string, reportingIsSysadmin = false): VmSpec =>
  parseVmSpec({
    vmName,
    resourceGroup: 'sql-rg',
    instances: [
      {
        name: 'MSSQLSERVER',
        version: '2019',
        pluginIsSysadmin: true,
        databases: [{ name: 'sales', sizeMiB: 8, writesPerMinute: 0 }],
      },
      {
        name: 'REPORTING',
        version: '2017',
        pluginIsSysadmin: reportingIsSysadmin,
        databases: [{ name: 'reports', recoveryModel: 'SIMPLE', writesPerMinute: 0 }],
      },
    ],
  });

/**
 * A transport in front of the real one: records the protocol traffic and can refuse chosen calls (503) — how a test
 * loses an acknowledgement or a result on the way.
 */
function tap() {
  const commands = new Map<string, Command>();
  const inventories: InventoryReport[] = [];
  const refuse = new Set<(path: string) => boolean>();
  const link = { down: false };
  const fetch: FetchLike = async (url, init) => {
    const path = new URL(url).pathname;
    if (link.down)
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED (test)'), { code: 'ECONNREFUSED' }),
      });
    for (const rule of refuse) {
      if (rule(path))
        return new Response(JSON.stringify({ error: { code: 'ServiceUnavailable', message: 'refused by the test' } }), {
          status: 503,
        });
    }
    if (path.endsWith('/inventory') && init.body !== undefined)
      inventories.push(JSON.parse(init.body) as InventoryReport);
    const response = await globalThis.fetch(url, init);
    if (init.method === 'GET' && path.endsWith('/commands') && response.ok) {
      const body = (await response.clone().json()) as { commands: Command[] };
      for (const command of body.commands) commands.set(`${command.id}#${command.attempt}`, command);
    }
    return response;
  };
  return { fetch, commands, inventories, refuse, link };
}

describe('the reference agent (library)', () => {
  let server: TestServer;
  let vaults: RecoveryServicesClient;
  let backup: RecoveryServicesBackupClient;
  let token: string;
  let dir: string;
  const subscriptionId = randomUUID();
  const agents: Agent[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      RV_AGENT_HEARTBEAT_SECONDS: '1',
      RV_AGENT_COMMAND_LEASE_SECONDS: '1',
      RV_AGENT_TOKEN_LIFETIME_SECONDS: '3600',
    });
    token = await fetchToken(server.httpsUrl);
    ({ vaults, backup } = sdkClients(server.httpsUrl, token, subscriptionId));
    dir = mkdtempSync(join(tmpdir(), 'rv-agent-lib-'));
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function newVault(name: string): Promise<VaultCredentialsFile> {
    const vault = await vaults.vaults.createOrUpdate(
      'rg',
      name,
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    return parseCredentials(await fetchVaultCredentials(server.httpsUrl, token, vault.id ?? ''));
  }

  function newAgent(options: Partial<AgentOptions> & Pick<AgentOptions, 'credentials' | 'spec' | 'stateDir'>) {
    const events: AgentLogEntry[] = [];
    const agent = new Agent({ serverUrl: server.httpsUrl, retry: fastRetry, log: (e) => events.push(e), ...options });
    agents.push(agent);
    const count = (event: AgentLogEntry['event']) => events.filter((e) => e.event === event).length;
    return { agent, events, count };
  }

  /** refreshContainers until the VM is a protectable container, then register it (the agent installs the extension). */
  async function registerContainer(vaultName: string, vmName: string): Promise<string> {
    const containerName = `VMAppContainer;Compute;sql-rg;${vmName}`;
    await backup.protectionContainers.refresh(vaultName, 'rg', 'Azure');
    await until('the protectable container', async () => {
      for await (const c of backup.protectableContainers.list(vaultName, 'rg', 'Azure'))
        if (c.name === containerName) return true;
      return false;
    });
    const registered = await backup.protectionContainers.beginRegisterAndWait(
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
    expect(registered.properties?.registrationStatus).toBe('Registered');
    return containerName;
  }

  /** Starts an inquiry; resolves with the final status of its Location once the agent has answered. */
  async function inquire(vaultName: string, containerName: string): Promise<() => Promise<number>> {
    let location = '';
    await backup.protectionContainers.inquire(vaultName, 'rg', 'Azure', containerName, {
      onResponse: (raw) => {
        location = raw.headers.get('location') ?? '';
      },
    });
    const operationId = new URL(location).pathname.split('/').pop() ?? '';
    return () =>
      until('the inquiry to finish', async () => {
        let status = 0;
        await backup.protectionContainerOperationResults.get(vaultName, 'rg', 'Azure', containerName, operationId, {
          onResponse: (raw) => {
            status = raw.status;
          },
        });
        return status === 202 ? undefined : status;
      });
  }

  async function protectableNames(vaultName: string): Promise<string[]> {
    const names: string[] = [];
    for await (const item of backup.backupProtectableItems.list(vaultName, 'rg', {
      filter: "backupManagementType eq 'AzureWorkload'",
    }))
      names.push(item.name ?? '');
    return names.sort();
  }

  const readState = (stateDir: string) =>
    JSON.parse(readFileSync(join(stateDir, COORDINATOR_STATE_FILE), 'utf8')) as CoordinatorState;

  it('registers, installs the extension, reports the inventory, and rediscovers after updateSpec', async () => {
    const credentials = await newVault('lib-flow');
    const stateDir = join(dir, 'flow');
    const wire = tap();
    const { agent, events, count } = newAgent({ credentials, spec: vmSpec('flowvm'), stateDir, fetch: wire.fetch });
    const registration = await agent.start();
    expect(registration).toMatchObject({
      containerName: 'VMAppContainer;Compute;sql-rg;flowvm',
      vaultName: 'lib-flow',
      vaultId: credentials.vaultId,
    });
    expect(events[0]).toMatchObject({
      event: 'databasesSynced',
      message: 'simulated databases: added MSSQLSERVER/sales, REPORTING/reports',
    });
    expect(events[1]).toMatchObject({
      event: 'registered',
      message: 'registered VMAppContainer;Compute;sql-rg;flowvm with vault lib-flow',
    });
    // The simulated databases exist from the moment the agent first saw them, in the state dir.
    expect(
      agent.simulatedState?.state.databases.map((d) => [`${d.instanceName}/${d.name}`, d.chain.recoveryModel]),
    ).toEqual([
      ['MSSQLSERVER/sales', 'FULL'],
      ['REPORTING/reports', 'SIMPLE'],
    ]);
    expect(readState(stateDir).registration).toMatchObject({
      containerName: registration.containerName,
      agentToken: registration.agentToken,
    });

    const containerName = await registerContainer('lib-flow', 'flowvm');
    expect(count('extensionInstalled')).toBe(1);
    // Registering discovers right away: the inventory went out with the command's id.
    await until('the first inventory', () => wire.inventories.length === 1);
    const [first] = wire.inventories;
    expect(first?.commandId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first?.instances.map((i) => [i.name, i.isSysadmin, i.databases.map((d) => d.name)])).toEqual([
      ['MSSQLSERVER', true, ['master', 'model', 'msdb', 'sales']],
      ['REPORTING', false, []],
    ]);
    await until('the inventory line', () => events.find((e) => e.event === 'inventoryReported'));
    expect(events.find((e) => e.event === 'inventoryReported')?.message).toBe(
      'inventory reported: 2 instances, 4 databases (4 protectable)',
    );

    // The DBA grants the plugin sysadmin on REPORTING and drops sales: the next discover reports it.
    const granted = vmSpec('flowvm', true);
    granted.instances[0]!.databases = [];
    agent.updateSpec(granted);
    expect(await (await inquire('lib-flow', containerName))()).toBe(204);
    expect(events.filter((e) => e.event === 'databasesSynced').at(-1)?.message).toBe(
      'simulated databases: deleted MSSQLSERVER/sales',
    );
    expect(agent.simulatedState?.state.databases.map((d) => d.name)).toEqual(['reports']);
    expect(wire.inventories).toHaveLength(2);
    expect(await protectableNames('lib-flow')).toContain('SQLDataBase;REPORTING;reports');
    expect(await protectableNames('lib-flow')).toContain('SQLDataBase;MSSQLSERVER;msdb');
    expect(await protectableNames('lib-flow')).not.toContain('SQLDataBase;MSSQLSERVER;sales');
    expect(agent.appliedCommandIds).toHaveLength(3); // registerExtension, discover, discover
    await agent.stop();
    expect(await agent.stopped).toBe('stopped');
  });

  it('applies a redelivered command once: acknowledged, its recorded result re-sent, no second inventory', async () => {
    const credentials = await newVault('lib-redelivery');
    const wire = tap();
    const { agent, events } = newAgent({
      credentials,
      spec: vmSpec('redelivervm'),
      stateDir: join(dir, 'redelivery'),
      fetch: wire.fetch,
    });
    await agent.start();
    const containerName = await registerContainer('lib-redelivery', 'redelivervm');
    await until(
      'the discover after registration',
      () =>
        wire.inventories.length === 1 &&
        events.some((e) => e.event === 'commandSucceeded' && e.data?.type === 'discover'),
    );

    // The next discover's acknowledgement and result get lost until the vault redelivers it (lease: 1 s).
    const redelivered = () => [...wire.commands.values()].some((c) => c.type === 'discover' && c.attempt > 1);
    const lost = (path: string) => /\/commands\/[^/]+\/(ack|result)$/.test(path) && !redelivered();
    wire.refuse.add(lost);
    const finished = await inquire('lib-redelivery', containerName);
    expect(await finished()).toBe(204);

    const discover = [...wire.commands.values()].find((c) => c.type === 'discover' && c.attempt > 1) as Command;
    await until('the result line', () =>
      events.find((e) => e.event === 'commandSucceeded' && e.data?.commandId === discover.id),
    );
    expect(wire.inventories.filter((r) => r.commandId === discover.id)).toHaveLength(1);
    expect(events.filter((e) => e.data?.commandId === discover.id).map((e) => e.event)).toEqual([
      'commandReceived',
      'inventoryReported',
      'commandRedelivered',
      'commandSucceeded',
    ]);
    expect(events.find((e) => e.event === 'commandRedelivered')?.message).toMatch(
      /^command discover [0-9a-f]{8} redelivered \(attempt [2-9]\): already applied, re-sending its result$/,
    );
    await agent.stop();
  });

  it('survives a restart between applying a command and reporting it: the result is re-sent, not re-applied', async () => {
    const credentials = await newVault('lib-restart');
    const stateDir = join(dir, 'restart');
    const firstWire = tap();
    const first = newAgent({ credentials, spec: vmSpec('restartvm'), stateDir, fetch: firstWire.fetch });
    await first.agent.start();
    const containerName = await registerContainer('lib-restart', 'restartvm');
    await until('the discover after registration', () =>
      first.events.some((e) => e.event === 'commandSucceeded' && e.data?.type === 'discover'),
    );

    // Results no longer get through: the inquiry's discover is applied (inventory sent) but its result is not.
    firstWire.refuse.add((path) => path.endsWith('/result'));
    const finished = await inquire('lib-restart', containerName);
    await until('the inquiry inventory', () => firstWire.inventories.length === 2);
    await until('the deferred result', () => first.events.find((e) => e.event === 'resultDeferred'));
    await first.agent.stop();
    const saved = readState(stateDir);
    expect(saved.applied.filter((a) => !a.resultReported)).toEqual([
      expect.objectContaining({ type: 'discover', result: expect.objectContaining({ status: 'Succeeded' }) }),
    ]);

    const secondWire = tap();
    const second = newAgent({ credentials, spec: vmSpec('restartvm'), stateDir, fetch: secondWire.fetch });
    await second.agent.start();
    expect(second.events.map((e) => e.event)).toEqual(['resumed']);
    expect(await finished()).toBe(204);
    await until('the result line', () => second.events.find((e) => e.event === 'commandSucceeded'));
    expect(secondWire.inventories).toHaveLength(0);
    expect(second.events.find((e) => e.event === 'commandSucceeded')?.message).toMatch(
      /^command discover [0-9a-f]{8} succeeded \(result re-sent\)$/,
    );
    expect(readState(stateDir).applied.every((a) => a.resultReported)).toBe(true);
    await second.agent.stop();
  });

  it('keeps heartbeating while a long command runs', async () => {
    const credentials = await newVault('lib-long');
    let slow = false;
    const spec = vmSpec('longvm');
    const { agent, events } = newAgent({
      credentials,
      stateDir: join(dir, 'long'),
      spec: async () => {
        if (slow) await sleep(3_500);
        return spec;
      },
    });
    await agent.start();
    const containerName = await registerContainer('lib-long', 'longvm');
    await until('the discover after registration', () =>
      events.some((e) => e.event === 'commandSucceeded' && e.data?.type === 'discover'),
    );
    slow = true;
    const finished = await inquire('lib-long', containerName);
    expect(await finished()).toBe(204);
    const received = events.findLastIndex((e) => e.event === 'commandReceived');
    const reported = events.findLastIndex((e) => e.event === 'inventoryReported');
    const during = events.slice(received, reported).filter((e) => e.event === 'heartbeat');
    expect(during.length).toBeGreaterThanOrEqual(2);
    await agent.stop();
  });

  it('rides out an unreachable service: heartbeats and polling resume, the command waiting meanwhile is applied', async () => {
    const credentials = await newVault('lib-outage');
    const wire = tap();
    // Short long-polls: the one under way when the link goes down ends soon (a real outage would cut it).
    const { agent, events, count } = newAgent({
      credentials,
      spec: vmSpec('outagevm'),
      stateDir: join(dir, 'outage'),
      fetch: wire.fetch,
      commandWaitSeconds: 2,
    });
    await agent.start();
    const containerName = await registerContainer('lib-outage', 'outagevm');
    await until('the discover after registration', () =>
      events.some((e) => e.event === 'commandSucceeded' && e.data?.type === 'discover'),
    );

    wire.link.down = true;
    await until('a failed heartbeat', () => count('heartbeatFailed') > 0);
    await until('a failed poll', () => count('pollFailed') > 0);
    const finished = await inquire('lib-outage', containerName);
    await sleep(1_000);
    wire.link.down = false;
    expect(await finished()).toBe(204);
    await until('heartbeats again', () => count('heartbeatRestored') > 0);
    expect(events.find((e) => e.event === 'heartbeatFailed')?.message).toMatch(
      /^heartbeat failed: POST \/agent\/v1\/containers\/.+\/heartbeat: connect ECONNREFUSED \(test\)$/,
    );
    expect(wire.inventories).toHaveLength(2);
    await agent.stop();
  });

  it('answers an unknown command type with UserErrorUnsupportedCommand', async () => {
    const credentials = await newVault('lib-unknown');
    const { agent, events } = newAgent({ credentials, spec: vmSpec('unknownvm'), stateDir: join(dir, 'unknown') });
    const registration = await agent.start();
    // No ARM call issues a command the agent does not know yet (later issues add them): issue one directly.
    const container = await server.app.db.protectionContainer.findUniqueOrThrow({
      where: { vmResourceIdKey: registration.vmResourceId.toLowerCase() },
    });
    const command = await server.app.agentCommands.issue(container.id, 'frobnicate' as never, { level: 11 });
    await until('the failed command', () => events.find((e) => e.event === 'commandFailed')).catch((error: Error) => {
      throw new Error(`${error.message}; the agent logged:\n${events.map((e) => e.message).join('\n')}`);
    });
    expect(events.find((e) => e.event === 'commandFailed')?.message).toBe(
      `command frobnicate ${command.id.slice(0, 8)} failed: UserErrorUnsupportedCommand: The agent (${AGENT_VERSION}) does not support the command type 'frobnicate'.`,
    );
    const stored = await server.app.db.agentCommand.findUniqueOrThrow({ where: { id: command.id } });
    expect(stored).toMatchObject({ status: 'Failed', errorCode: 'UserErrorUnsupportedCommand' });
    await agent.stop();
  });

  it('a long-poll the agent hangs up on while commands are being claimed gives them back at once, not after the lease', async () => {
    const credentials = await newVault('lib-hangup');
    const { agent } = newAgent({ credentials, spec: vmSpec('hangupvm'), stateDir: join(dir, 'hangup') });
    const registration = await agent.start();
    await agent.stop(); // no poll of its own from here on
    const container = await server.app.db.protectionContainer.findUniqueOrThrow({
      where: { vmResourceIdKey: registration.vmResourceId.toLowerCase() },
    });
    const command = await server.app.agentCommands.issue(container.id, 'frobnicate' as never, {});
    const hungUp = new AbortController();
    const abandoned = server.app.agentCommands.poll(container.id, 0, hungUp.signal);
    hungUp.abort(); // after the poll checked the signal, while it claims
    expect(await abandoned).toEqual([]);
    expect(await server.app.db.agentCommand.findUniqueOrThrow({ where: { id: command.id } })).toMatchObject({
      status: 'Pending',
      attempts: 0,
      leaseUntil: null,
    });
    expect((await server.app.agentCommands.poll(container.id, 0)).map((c) => [c.id, c.attempts])).toEqual([
      [command.id, 1],
    ]);
  });

  it('on unregister: reports Succeeded, forgets the registration and stops; a new start registers afresh', async () => {
    const credentials = await newVault('lib-unregister');
    const stateDir = join(dir, 'unregister');
    const first = newAgent({ credentials, spec: vmSpec('leavingvm'), stateDir });
    await first.agent.start();
    const containerName = await registerContainer('lib-unregister', 'leavingvm');
    await backup.protectionContainers.unregister('lib-unregister', 'rg', 'Azure', containerName);
    expect(await first.agent.stopped).toBe('unregistered');
    expect(first.events.map((e) => e.event)).toEqual(
      expect.arrayContaining(['extensionRemoved', 'commandSucceeded', 'unregistered', 'stopped']),
    );
    expect(first.events.find((e) => e.event === 'unregistered')?.message).toBe(
      `unregistered: ${containerName} left vault lib-unregister; registration cleared`,
    );
    expect(readState(stateDir)).toMatchObject({ registration: null, received: [], applied: [] });
    await until(
      'the container to go',
      async () =>
        (await backup.protectionContainers
          .get('lib-unregister', 'rg', 'Azure', containerName)
          .catch((e: { statusCode?: number }) => e.statusCode)) === 404,
    );

    const second = newAgent({ credentials, spec: vmSpec('leavingvm'), stateDir });
    await second.agent.start();
    expect(second.events.map((e) => e.event)).toContain('registered');
    expect(second.events.map((e) => e.event)).not.toContain('resumed');
    await second.agent.stop();
  });

  it('clears the registration and stops when the vault rejects its token', async () => {
    const credentials = await newVault('lib-rejected');
    const stateDir = join(dir, 'rejected');
    const first = newAgent({ credentials, spec: vmSpec('rejectedvm'), stateDir });
    const registration = await first.agent.start();
    await first.agent.stop();
    // The state now holds a token the vault never issued (as after the container was unregistered elsewhere).
    const state = readState(stateDir);
    writeFileSync(
      join(stateDir, COORDINATOR_STATE_FILE),
      JSON.stringify({ ...state, registration: { ...state.registration, agentToken: `${registration.agentToken}x` } }),
    );

    const second = newAgent({ credentials, spec: vmSpec('rejectedvm'), stateDir });
    await second.agent.start();
    expect(second.events.map((e) => e.event)).toContain('resumed');
    expect(await second.agent.stopped).toBe('tokenRejected');
    const rejected = second.events.find((e) => e.event === 'tokenRejected');
    expect(rejected).toMatchObject({ level: 'error' });
    expect(rejected?.message).toMatch(
      /^the vault no longer accepts the agent token of VMAppContainer;Compute;sql-rg;rejectedvm \(AuthenticationFailed: .+\); registration cleared, stopping$/,
    );
    expect(readState(stateDir).registration).toBeNull();
  });

  it('renews its token when less than a fifth of its lifetime is left: same container, new token', async () => {
    const credentials = await newVault('lib-renewal');
    const stateDir = join(dir, 'renewal');
    let offsetMs = 0;
    const { agent, events, count } = newAgent({
      credentials,
      spec: vmSpec('renewvm'),
      stateDir,
      clock: { now: () => new Date(Date.now() + offsetMs) },
    });
    const registration = await agent.start();
    offsetMs = 50 * 60_000; // the token (1 h) has 10 minutes left by the agent's clock
    await until('the renewal', () => events.find((e) => e.event === 'tokenRenewed'));
    expect(agent.registration).toMatchObject({
      containerName: registration.containerName,
      vaultId: registration.vaultId,
    });
    expect(agent.registration?.agentToken).not.toBe(registration.agentToken);
    expect(readState(stateDir).registration?.agentToken).toBe(agent.registration?.agentToken);
    const beats = count('heartbeat');
    await until('a heartbeat with the new token', () => count('heartbeat') > beats);
    expect(count('tokenRenewed')).toBe(1);
    expect(count('heartbeatFailed') + count('tokenRenewalFailed')).toBe(0);
    await agent.stop();
  });

  it('refuses to start with expired credentials, without asking the vault', async () => {
    const credentials = { ...(await newVault('lib-expired')), expiresAt: new Date(Date.now() - 1000).toISOString() };
    const wire = tap();
    const { agent } = newAgent({
      credentials,
      spec: vmSpec('expiredvm'),
      stateDir: join(dir, 'expired'),
      fetch: wire.fetch,
    });
    await expect(agent.start()).rejects.toThrow(
      /^UserErrorVaultCredentialsExpired: the vault credentials expired at .+; download new credentials for vault lib-expired$/,
    );
    expect(await agent.stopped).toBe('stopped');
  });
});
