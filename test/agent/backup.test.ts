import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResource, RecoveryServicesBackupClient } from '@azure/arm-recoveryservicesbackup';
import type { RecoveryServicesClient } from '@azure/arm-recoveryservices';
import { Agent, type AgentLogEntry } from '../../src/agent/agent.ts';
import { BlockBuffers, blocksOf } from '../../src/agent/backup.ts';
import type { Transport } from '../../src/agent/client.ts';
import { COORDINATOR_STATE_FILE, type CoordinatorState } from '../../src/agent/coordinator-state.ts';
import { parseCredentials } from '../../src/agent/files.ts';
import { openBackup } from '../../src/agent/simulation/backup.ts';
import { takeForeignBackup } from '../../src/agent/simulation/chain.ts';
import { recordBackup } from '../../src/agent/simulation/state.ts';
import { parseVmSpec } from '../../src/agent/simulation/spec.ts';
import { startBackup } from '../../src/services/backups.ts';
import { fetchVaultCredentials } from '../support/agent-process.ts';
import { fullPolicy, asSdkPolicy } from '../support/policies.ts';
import { fetchToken, sdkClients } from '../support/sdk.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registeredSqlVm, sqlVmSpec, until } from '../support/vm.ts';

const poll = { updateIntervalInMs: 50 };
const fastRetry = { retries: 0, minDelayMs: 10, maxDelayMs: 50 };
const BLOCK = 256 * 1024;

/**
 * A transport in front of the real one: records the block PUTs the vault acknowledged (their indexes, in order) and
 * can lose the answer to chosen ones (the block reached the vault, the agent sees a reset connection).
 */
function wire(
  options: { afterBlock?: (index: number, acknowledged: number) => void; loseAnswer?: (index: number) => boolean } = {},
) {
  const blocks: number[] = [];
  const fetch: Transport = async (url, init) => {
    const block = /\/uploads\/[0-9a-f-]+\/blocks\/(\d+)$/.exec(new URL(url).pathname);
    const response = await globalThis.fetch(url, init);
    if (block !== null && init.method === 'PUT' && response.ok) {
      const index = Number(block[1]);
      blocks.push(index);
      options.afterBlock?.(index, blocks.length);
      if (options.loseAnswer?.(index) === true) {
        await response.arrayBuffer();
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('socket hang up (test)'), { code: 'ECONNRESET' }),
        });
      }
    }
    return response;
  };
  return { fetch, blocks };
}

describe('backups by the reference agent', () => {
  let server: TestServer;
  let vaults: RecoveryServicesClient;
  let backup: RecoveryServicesBackupClient;
  let token: string;
  const subscriptionId = randomUUID();
  const agents: Agent[] = [];

  beforeAll(async () => {
    server = await startTestServer({ RV_BACKUP_BLOCK_SIZE_BYTES: String(BLOCK), RV_AGENT_HEARTBEAT_SECONDS: '1' });
    token = await fetchToken(server.httpsUrl);
    ({ vaults, backup } = sdkClients(server.httpsUrl, token, subscriptionId));
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.stop();
  });

  /** A vault with a policy, and a registered VM whose agent is ours (own log, own transport). */
  async function setUp(
    vault: string,
    vmName: string,
    databases: { name: string; sizeMiB?: number; writesPerMinute?: number }[],
  ) {
    const created = await vaults.vaults.createOrUpdate(
      'rg',
      vault,
      { location: 'westeurope', sku: { name: 'Standard' } },
      poll,
    );
    await backup.protectionPolicies.createOrUpdate(vault, 'rg', 'Weekly', asSdkPolicy(fullPolicy()));
    const spec = sqlVmSpec(
      vmName,
      databases.map((d) => d.name),
    );
    for (const [i, d] of databases.entries())
      Object.assign(spec.instances[0]!.databases[i]!, {
        sizeMiB: d.sizeMiB ?? 1,
        writesPerMinute: d.writesPerMinute ?? 0,
      });
    // Registered the way a user does it; then the support agent makes way for ours, on the same state dir.
    const registered = await registeredSqlVm(server, backup, token, created.id ?? '', spec);
    const stateDir = registered.agent.simulatedState?.stateDir ?? '';
    await registered.agent.stop();
    const credentials = parseCredentials(await fetchVaultCredentials(server.httpsUrl, token, created.id ?? ''));
    const containerName = registered.containerName;

    const start = async (fetch?: Transport) => {
      const events: AgentLogEntry[] = [];
      const agent = new Agent({
        serverUrl: server.httpsUrl,
        credentials,
        spec: parseVmSpec(spec),
        stateDir,
        retry: fastRetry,
        log: (e) => events.push(e),
        ...(fetch === undefined ? {} : { fetch }),
      });
      agents.push(agent);
      await agent.start();
      return {
        agent,
        events,
        lines: (event: AgentLogEntry['event']) => events.filter((e) => e.event === event).map((e) => e.message),
      };
    };

    /** Follows an item operation (202 + Azure-AsyncOperation) to its end. */
    const follow = async (
      send: (
        onResponse: (raw: { status: number; headers: { get(name: string): string | undefined } }) => void,
      ) => Promise<unknown>,
    ) => {
      let statusUrl = '';
      await send((raw) => {
        expect(raw.status).toBe(202);
        statusUrl = raw.headers.get('azure-asyncoperation') ?? '';
      });
      const operationId = new URL(statusUrl).pathname.split('/').pop() ?? '';
      return until('the operation to end', async () => {
        const status = await backup.backupOperationStatuses.get(vault, 'rg', operationId);
        return status.status === 'InProgress' ? undefined : status;
      }).catch(async (error: Error) => {
        // Where it stopped: the operation never sent its command, the command went to a poll nobody read, or the agent
        // did not finish it.
        const commands = await server.app.db.agentCommand.findMany({
          where: { container: { name: containerName } },
          orderBy: { issuedAt: 'asc' },
        });
        const seen = commands.map(
          (c) =>
            `${c.type} ${c.status} attempts ${c.attempts} issued ${c.issuedAt.toISOString()}${c.operationId === operationId ? ' (this operation)' : ''}`,
        );
        throw new Error(`${error.message}; the container's commands:\n${seen.join('\n')}`);
      });
    };
    const protect = async (db: string) => {
      const status = await follow((onResponse) =>
        backup.protectedItems.createOrUpdate(
          vault,
          'rg',
          'Azure',
          containerName,
          `SQLDataBase;MSSQLSERVER;${db}`,
          {
            properties: {
              protectedItemType: 'AzureVmWorkloadSQLDatabase',
              policyId: `${created.id}/backupPolicies/Weekly`,
            } as never,
          },
          { onResponse },
        ),
      );
      expect(status.status).toBe('Succeeded');
    };
    /** Backup now; resolves with the Backup job's id once the operation has created it. */
    const trigger = async (db: string, backupType: string): Promise<string> => {
      const status = await follow((onResponse) =>
        backup.backups.trigger(
          vault,
          'rg',
          'Azure',
          containerName,
          `SQLDataBase;MSSQLSERVER;${db}`,
          { properties: { objectType: 'AzureWorkloadBackupRequest', backupType } as never },
          { onResponse },
        ),
      );
      expect(status.status).toBe('Succeeded');
      return (status.properties as { jobId: string }).jobId;
    };
    const jobEnd = (jobId: string, timeoutMs = 30_000): Promise<JobResource> =>
      until(
        'the Backup job to end',
        async () => {
          const job = await backup.jobDetails.get(vault, 'rg', jobId);
          return job.properties?.status === 'InProgress' ? undefined : job;
        },
        timeoutMs,
      );
    const readState = () =>
      JSON.parse(readFileSync(join(stateDir, COORDINATOR_STATE_FILE), 'utf8')) as CoordinatorState;
    const points = (db: string) =>
      server.app.db.recoveryPoint.findMany({
        where: {
          protectedItem: {
            container: { name: containerName, vault: { subscriptionId } },
            itemNameKey: `sqldatabase;mssqlserver;${db}`,
          },
        },
        orderBy: { endTime: 'asc' },
      });
    return { vault, containerName, credentials, stateDir, start, protect, trigger, jobEnd, readState, points };
  }

  it('cuts a stream into blocks of exactly the block size, the last one shorter, reusing a buffer given back', async () => {
    const source = Readable.from([Buffer.alloc(5, 1), Buffer.alloc(1, 2), Buffer.alloc(9, 3)]);
    const seen: string[] = [];
    const memory = new Set<ArrayBufferLike>();
    const buffers = new BlockBuffers(4, 3);
    for await (const block of blocksOf(source, 4, buffers)) {
      seen.push(block.toString('hex'));
      memory.add(block.buffer);
      buffers.give(block);
    }
    expect(seen).toEqual(['01010101', '01020303', '03030303', '030303']);
    // Given back at once, the first buffer serves every block: the other two are never allocated.
    expect(memory.size).toBe(1);
  });

  it('with buffers to take from, each block keeps its own until given back, and the next one waits for a free one', async () => {
    const buffers = new BlockBuffers(4, 2);
    const blocks = blocksOf(Readable.from([Buffer.alloc(6, 1), Buffer.alloc(6, 2)]), 4, buffers);
    const first = (await blocks.next()).value as Buffer;
    const second = (await blocks.next()).value as Buffer;
    let third: Buffer | undefined;
    const next = blocks.next().then((r) => (third = r.value as Buffer));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(third).toBeUndefined();
    expect([first.toString('hex'), second.toString('hex')]).toEqual(['01010101', '01010202']);
    buffers.give(first);
    await next;
    expect([third?.toString('hex'), second.toString('hex')]).toEqual(['02020202', '01010202']);
    buffers.give(second);
    expect((await blocks.next()).done).toBe(true);
  });

  it('an on-demand Full completes, a Log continues its chain; a Log the vault refuses at commit still moves SQL Server’s chain', async () => {
    const vm = await setUp('bk-flow', 'bkflowvm', [
      { name: 'sales', sizeMiB: 2, writesPerMinute: 6000 },
      { name: 'orders' },
    ]);
    const { agent, events, lines } = await vm.start();
    await vm.protect('sales');
    await vm.protect('orders');

    // The vault completes the job at commit, before its answer reaches the agent: wait for the command's result too.
    const results = (n: number) =>
      until(
        `${n} backup results`,
        async () =>
          events.filter(
            (e) => e.data?.type === 'backup' && (e.event === 'commandSucceeded' || e.event === 'commandFailed'),
          ).length >= n,
      );
    const fullJob = await vm.jobEnd(await vm.trigger('sales', 'Full'));
    expect(fullJob.properties).toMatchObject({
      operation: 'Backup',
      status: 'Completed',
      entityFriendlyName: 'sales [bkflowvm]',
    });
    await results(1);
    const [full] = await vm.points('sales');
    expect(full).toMatchObject({ type: 'Full' });
    // Taken as of the vault's time, which the command says.
    const [fullCommand] = await server.app.db.agentCommand.findMany({
      where: { type: 'backup', container: { name: vm.containerName, vault: { subscriptionId } } },
    });
    expect(full?.endTime.toISOString()).toBe((fullCommand?.payload as { at?: string }).at);
    expect(lines('backupStarted')).toEqual([
      expect.stringMatching(/^backup Full of MSSQLSERVER\/sales [0-9a-f]{8} started: 2\.0 MiB in 9 blocks of 256 KiB$/),
    ]);
    expect(lines('backupCompleted')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^backup Full of MSSQLSERVER/sales [0-9a-f]{8} committed: 2\\.0 MiB, 9 blocks sent \\(2\\.0 MiB\\) in [0-9.]+ s, [0-9.]+ MiB/s; recovery point ${full?.id}$`,
        ),
      ),
    ]);
    // SQL Server's history moved: the Full is the differential base and starts the log chain.
    const sales = () => agent.simulatedState?.state.databases.find((d) => d.name === 'sales');
    expect(sales()?.chain.lastFull).toEqual({
      checkpointLsn: full?.checkpointLsn.toString(),
      endTime: full?.endTime.toISOString(),
    });
    expect(sales()?.chain.logChain?.lastLsn).toBe(full?.lastLsn.toString());
    expect(vm.readState().backups).toEqual({});

    await new Promise((resolve) => setTimeout(resolve, 300)); // some transactions for the log
    const logJob = await vm.jobEnd(await vm.trigger('sales', 'Log'));
    expect(logJob.properties).toMatchObject({ operation: 'Backup', status: 'Completed' });
    await results(2);
    const [, log] = await vm.points('sales');
    expect(log).toMatchObject({ type: 'Log', firstLsn: full?.lastLsn, startTime: full?.endTime });
    expect(log!.lastLsn > log!.firstLsn).toBe(true);
    expect(sales()?.chain.logChain).toEqual({ lastLsn: log?.lastLsn.toString(), endTime: log?.endTime.toISOString() });

    // A DBA's own log backup (another tool) moves SQL Server's chain; the vault's next Log then has a gap.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const store = agent.simulatedState!;
    const record = sales()!;
    const foreign = takeForeignBackup(
      store.database(record),
      { name: 'sales', readOnly: false },
      record.chain,
      'Log',
      new Date(),
    );
    await store.update((draft) => recordBackup(draft, 'MSSQLSERVER', 'sales', foreign.metadata, { foreign: true }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const gapJob = await vm.jobEnd(await vm.trigger('sales', 'Log'));
    expect(gapJob.properties).toMatchObject({
      status: 'Failed',
      errorDetails: [expect.objectContaining({ errorTitle: 'UserErrorSQLLSNValidationFailure' })],
    });
    await results(3);
    expect(lines('commandFailed').at(-1)).toMatch(
      /^command backup [0-9a-f]{8} failed: UserErrorSQLLSNValidationFailure: The vault refused backup [0-9a-f-]{36}: UserErrorSQLLSNValidationFailure: /,
    );
    expect(await vm.points('sales')).toHaveLength(2);
    // SQL Server finished that log backup all the same (its log was backed up and truncated): its chain moved on.
    const refusedLog = sales()?.lastBackups.Log;
    expect(refusedLog?.firstLsn).toBe(foreign.metadata.lastLsn);
    expect(sales()?.chain.logChain).toEqual({ lastLsn: refusedLog?.lastLsn, endTime: refusedLog?.endTime });
    expect(vm.readState().backups).toEqual({});

    // No Full of orders yet: the vault refuses an on-demand Log itself.
    const vaultRefused = await vm.jobEnd(await vm.trigger('orders', 'Log'));
    expect(vaultRefused.properties).toMatchObject({
      status: 'Failed',
      errorDetails: [expect.objectContaining({ errorTitle: 'UserErrorParentFullBackupMissing' })],
    });
  });

  it('a backup SQL Server refuses fails the command — and its job — with SQL Server’s code', async () => {
    const vm = await setUp('bk-refused', 'bkrefusedvm', [{ name: 'orders' }]);
    const { events } = await vm.start();
    await vm.protect('orders');
    // The vault asks for a Log of a database SQL Server has no Full of (as after the database was recreated).
    const item = await server.app.db.protectedItem.findFirstOrThrow({
      where: {
        itemNameKey: 'sqldatabase;mssqlserver;orders',
        container: { name: vm.containerName, vault: { subscriptionId } },
      },
      include: { container: true },
    });
    const jobId = (await startBackup(server.app, { item, type: 'Log', onDemand: true, compress: false }))!;
    const refused = await until('the refusal', async () =>
      events.find((e) => e.event === 'commandFailed' && e.data?.type === 'backup'),
    );
    expect(refused.message).toMatch(
      /^command backup [0-9a-f]{8} failed: UserErrorParentFullBackupMissing: No full backup of database orders exists yet; take a Full backup first\.$/,
    );
    expect(
      await server.app.db.agentCommand.findFirstOrThrow({ where: { containerId: item.containerId, type: 'backup' } }),
    ).toMatchObject({ status: 'Failed', errorCode: 'UserErrorParentFullBackupMissing' });
    expect(vm.readState().backups).toEqual({});
    expect(await vm.points('orders')).toEqual([]);
    expect((await vm.jobEnd(jobId, 5_000)).properties).toMatchObject({
      status: 'Failed',
      errorDetails: [expect.objectContaining({ errorTitle: 'UserErrorParentFullBackupMissing' })],
    });
  });

  it('an agent stopped mid-upload finishes the same backup after a restart, sending no acknowledged block again', async () => {
    const vm = await setUp('bk-restart', 'bkrestartvm', [{ name: 'big', sizeMiB: 16 }]);
    // The agent stops (library stop) once 20 blocks are in the vault; the blocks in flight then (at most
    // RV_BACKUP_BLOCKS_IN_FLIGHT, 4 by default) finish, nothing after them.
    const stopping: { agent?: Agent } = {};
    const firstWire = wire({
      afterBlock: (_index, acknowledged) => acknowledged === 20 && void stopping.agent?.stop(),
    });
    const first = await vm.start(firstWire.fetch);
    stopping.agent = first.agent;
    await vm.protect('big');
    const jobId = await vm.trigger('big', 'Full');
    expect(await first.agent.stopped).toBe('stopped');
    const sentFirst = firstWire.blocks.length;
    expect(sentFirst).toBeGreaterThanOrEqual(20);
    expect(sentFirst).toBeLessThanOrEqual(20 + server.config.backup.blocksInFlight - 1);
    expect([...firstWire.blocks].sort((a, b) => a - b)).toEqual(Array.from({ length: sentFirst }, (_, i) => i));
    const saved = vm.readState();
    const [pending] = Object.values(saved.backups);
    expect(pending).toMatchObject({
      itemName: 'SQLDataBase;MSSQLSERVER;big',
      backupType: 'Full',
      instanceName: 'MSSQLSERVER',
      databaseName: 'big',
    });
    expect(saved.received.map((r) => r.command.id)).toEqual([pending?.commandId]);
    expect((await backup.jobDetails.get(vm.vault, 'rg', jobId)).properties?.status).toBe('InProgress');

    // The second life loses the answer to block 40 once: it asks the vault what it has and goes on from there.
    const secondWire = wire({
      loseAnswer: (index) => index === 40 && secondWire.blocks.filter((b) => b === 40).length === 1,
    });
    const second = await vm.start(secondWire.fetch);
    const job = await vm.jobEnd(jobId);
    expect(job.properties).toMatchObject({ status: 'Completed' });
    await until('the command result', async () =>
      second.events.find((e) => e.event === 'commandSucceeded' && e.data?.type === 'backup'),
    );
    // Every block went out once over both lives: the second one sent only what the vault lacked.
    expect([...secondWire.blocks].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 65 - sentFirst }, (_, i) => i + sentFirst),
    );
    expect(second.lines('commandResumed')).toEqual([
      expect.stringMatching(/^command backup [0-9a-f]{8} was received before a restart: applying it now$/),
    ]);
    expect(second.lines('backupStarted')).toEqual([
      expect.stringMatching(
        String.raw`^backup Full of MSSQLSERVER\/big [0-9a-f]{8} started: 16\.0 MiB in 65 blocks of 256 KiB, resumed: ${sentFirst} already in the vault$`,
      ),
    ]);
    expect(second.lines('backupRetry')).toEqual([
      expect.stringMatching(
        /^backup Full of MSSQLSERVER\/big [0-9a-f]{8}: PUT .+\/blocks\/40: ECONNRESET socket hang up \(test\); resuming in \d+ ms from the blocks the vault has$/,
      ),
    ]);
    // Progress about every 10 % of what is sent (the blocks skipped make no lines).
    const percents = second
      .lines('backupProgress')
      .map((line) => Number(/: (\d+)% \([0-9.]+ MiB of 16\.0 MiB, [0-9.]+ MiB\/s\)$/.exec(line)?.[1]));
    expect(percents.length).toBeGreaterThanOrEqual(6);
    expect(
      percents.every(
        (p, i) => p > 30 && p < 100 && (i === 0 || Math.floor(p / 10) > Math.floor(percents[i - 1]! / 10)),
      ),
    ).toBe(true);
    expect(second.lines('backupCompleted')).toEqual([
      expect.stringMatching(
        String.raw` committed: 16\.0 MiB, ${65 - sentFirst} blocks sent \([0-9.]+ MiB\) in [0-9.]+ s, [0-9.]+ MiB\/s, ${sentFirst} already in the vault; recovery point \d+$`,
      ),
    ]);

    // The same bytes: the vault's recovery point has the digest of the regenerated stream.
    const [point] = await vm.points('big');
    const database = second.agent.simulatedState!.database(second.agent.simulatedState!.state.databases[0]!);
    const hash = createHash('sha256');
    for await (const chunk of openBackup(database, pending!.request).stream) hash.update(chunk as Buffer);
    expect(point).toMatchObject({ type: 'Full', sha256: hash.digest('hex') });
    expect(vm.readState()).toMatchObject({ backups: {}, received: [] });
    expect(second.agent.simulatedState?.state.databases[0]?.chain.lastFull?.checkpointLsn).toBe(
      point?.checkpointLsn.toString(),
    );
  });
});
