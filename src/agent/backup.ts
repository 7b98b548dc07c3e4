/**
 * The reference agent's `backup` command (the SQL plugin's side of the streaming protocol, src/protocol/agent.ts):
 *
 * 1. Plan: find the simulated database of `SQLDataBase;<instance>;<db>` and ask the simulation whether SQL Server
 *    would take this backup now (`planBackup`: SIMPLE + Log, master/read-only + Differential/Log, no Full yet, a broken
 *    log chain → Failed with the simulation's Azure code). The backup is as of the command's `at` (the vault's time,
 *    which the emulator clock may have moved ahead), or of the agent's clock when the command has none. The plan (the
 *    simulation's request) is saved in coordinator.json before the first byte goes out.
 * 2. Stream: open the upload (announcing the stream's size: the vault answers with the backup's block size, larger than
 *    usual when the backup would not fit in one blob otherwise), regenerate the backup stream from the plan
 *    (repeatable: the same bytes every time) and send it as numbered blocks of exactly that size (the last one shorter), each with its SHA-256, skipping the
 *    blocks the vault already holds. Up to `blocksInFlight` blocks (the vault's word) are on their way at once, so
 *    that reading the database, the network and the vault overlap; memory is one buffer per block on its way plus
 *    one, whatever the backup's size. Blocks are idempotent and acknowledged one by one: whichever the vault
 *    acknowledged, it keeps.
 * 3. SQL Server's BACKUP statement ends when its stream has been consumed: once every block is in the vault the
 *    simulated instance records the backup (msdb history; the log chain and differential base move), whatever the vault
 *    says at commit — a commit refused for a broken LSN chain still leaves SQL Server's history moved, as it does in
 *    Azure. A stream abandoned half-way (the vault refused a block) records nothing.
 * 4. Commit with the backup's metadata → Succeeded `{ recoveryPointId }`; a 4xx from the vault → Failed with its code.
 *
 * Resuming: a lost connection (network errors, 5xx, after the client's own retries) starts a new round — the vault is
 * asked which blocks it has (GET uploads/{id}) and the stream is regenerated, sending only the missing blocks; after a
 * few rounds the error goes to the command machinery, which applies the command again later. After the first failure
 * of a round no block goes out; those on their way finish, and the round ends once every one has settled. A graceful
 * stop ends the stream after the blocks in flight. After a restart the command (received, not applied) is applied again and finds
 * its saved plan: same backupId, same bytes, the acknowledged blocks skipped. An upload the vault already committed
 * is reported as succeeded without sending anything.
 *
 * Cancelled: the vault refuses the blocks and the commit of a backup whose job was cancelled (409
 * UserErrorBackupCancelled); the agent stops at once and reports the backup failed with that code.
 *
 * Log lines: one when a backup starts (or resumes), one per ~10 % for backups of ten blocks or more, one at the end
 * (MiB and MiB/s of what was sent).
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  BACKUP_CANCELLED,
  type BackupType,
  type Command,
  type CommandResult,
  type UploadState,
} from '../protocol/agent.ts';
import {
  abortError,
  AgentApiError,
  AgentNetworkError,
  backoffDelay,
  isAbort,
  isRetryable,
  sleep,
  type CommitMetadata,
  type ContainerClient,
  type RetryOptions,
} from './client.ts';
import type { BackupInProgress, CoordinatorState } from './coordinator-state.ts';
import {
  type BackupMetadata,
  describeBackup,
  type FullRef,
  type LogChainRef,
  openBackup,
} from './simulation/backup.ts';
import { planBackup } from './simulation/chain.ts';
import { localReplica, type VmSpec } from './simulation/spec.ts';
import type { SimulatedDatabase } from './simulation/database.ts';
import { SimulationError } from './simulation/errors.ts';
import { type AgentStateStore, type DatabaseRecord, recordBackup } from './simulation/state.ts';

export type BackupEvent =
  | 'backupStarted'
  | 'backupProgress'
  | 'backupRetry'
  | 'backupNotRecorded'
  | 'backupCompleted'
  | 'backupCancelled'
  | 'backupFailed';

/** What a backup needs from the agent. */
export interface BackupContext {
  /** The container's client with the current token (renewed tokens take effect mid-backup). */
  session(): ContainerClient;
  simulation: AgentStateStore;
  /** The coordinator's state: the plan goes into `backups` (and out again with the command's result). */
  state: CoordinatorState;
  save(): Promise<void>;
  /** The VM as its spec says now (SQL logins and availability group roles can change after protection). */
  spec(): Promise<VmSpec>;
  /** The agent's clock: the time a backup is taken as of when its command does not say (`at`). */
  now(): Date;
  log(level: 'info' | 'warn', event: BackupEvent, message: string, data?: Record<string, unknown>): void;
  /** The database's files as the VM spec declares them (undefined: not in the spec, or too many to send). */
  databaseFiles(instanceName: string, databaseName: string): Promise<CommitMetadata['files']>;
  /** Graceful stop: the stream ends after the block in flight (the backup resumes after a restart). */
  halt: AbortSignal;
  /** Hard stop: the request in flight is aborted. */
  kill: AbortSignal;
  /** Backoff between resume rounds. */
  retry: RetryOptions;
}

/** Rounds of "ask the vault what it has, send the rest" before the error goes to the command machinery. */
const RESUME_ROUNDS = 5;
/** The largest block the agent holds in memory (the vault's own limit is 100 MiB). */
const MAX_BLOCK_BYTES = 256 * 1024 * 1024;
/** The most blocks the agent sends at once, whatever the vault asks (memory: one buffer per block, plus one). */
const MAX_BLOCKS_IN_FLIGHT = 16;
const MIB = 1024 * 1024;
const BACKUP_TYPES: readonly BackupType[] = ['Full', 'Differential', 'Log', 'CopyOnlyFull'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const failed = (code: string, message: string): CommandResult => ({
  status: 'Failed',
  error: { code, message: message.slice(0, 4096) },
});
const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;
const rate = (bytes: number, ms: number) => `${ms > 0 ? (bytes / MIB / (ms / 1000)).toFixed(1) : '∞'} MiB/s`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const blockSizeText = (bytes: number) =>
  bytes % MIB === 0 ? `${bytes / MIB} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;

interface Payload {
  backupId: string;
  itemName: string;
  backupType: BackupType;
  blocksInFlight: number;
  at?: Date;
  chain?: { lastFull?: FullRef; logChain?: LogChainRef };
}

function parsePayload(payload: Record<string, unknown>): Payload | string {
  const { backupId, itemName, backupType, blocksInFlight, at, chain } = payload;
  if (typeof backupId !== 'string' || !UUID.test(backupId)) return 'backupId must be a UUID';
  if (typeof itemName !== 'string' || itemName.length === 0)
    return 'itemName must be SQLDataBase;<instance>;<database>';
  if (typeof backupType !== 'string' || !BACKUP_TYPES.includes(backupType as BackupType))
    return `backupType must be one of ${BACKUP_TYPES.join(', ')}`;
  if (
    blocksInFlight !== undefined &&
    (typeof blocksInFlight !== 'number' || !Number.isSafeInteger(blocksInFlight) || blocksInFlight < 1)
  ) {
    return 'blocksInFlight, when given, to be a positive integer';
  }
  if (at !== undefined && (typeof at !== 'string' || Number.isNaN(Date.parse(at))))
    return 'at, when given, to be an ISO date-time';
  return {
    backupId: backupId.toLowerCase(),
    itemName,
    backupType: backupType as BackupType,
    // A vault that does not say: one at a time, as before the protocol had it.
    blocksInFlight: Math.min(MAX_BLOCKS_IN_FLIGHT, (blocksInFlight as number | undefined) ?? 1),
    ...(at === undefined ? {} : { at: new Date(at as string) }),
    ...(typeof chain === 'object' && chain !== null ? { chain: chain as Payload['chain'] } : {}),
  };
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Azure's code and the plugin's login (the agent is the SQL plugin: it names them itself, as the vault does). */
const NO_SYSADMIN = 'UserErrorSQLNoSysadminMembership';
const PLUGIN_ACCOUNT = 'NT SERVICE\\AzureWLBackupPluginSvc';

const noSysadminMessage = (instance: string) =>
  `The backup failed: the login '${PLUGIN_ACCOUNT}' is not a member of the sysadmin server role on SQL instance '${instance}'. ` +
  'Add it to the sysadmin role; the next backup then runs normally.';

/**
 * Azure names a database by its instance or its availability group (`instance\db` or `AG\db`): a protected
 * database that joined a group, or left the one it was protected in, is another data source, and the old item's
 * backups fail with these codes until it is protected again under its new name.
 */
function movedAcrossGroup(
  spec: VmSpec,
  names: { instanceName: string; databaseName: string },
  group: VmSpec['availabilityGroups'][number] | undefined,
): { code: string; message: string } | undefined {
  const { instanceName, databaseName } = names;
  if (group !== undefined) {
    if (group.databases.some((db) => same(db, databaseName))) return undefined;
    // Dropped rather than moved out: SQL Server's own error (plan) says so.
    const local = localReplica(group, spec.vmName)?.instance ?? '';
    const standalone = spec.instances.some(
      (i) => same(i.name, local) && i.databases.some((db) => same(db.name, databaseName)),
    );
    if (!standalone) return undefined;
    return {
      code: 'UserErrorBackupFailedDatabaseMovedOutOfAG',
      message: `The database '${databaseName}' is no longer in the availability group '${group.name}': protect it again under its SQL instance (a new item with a recovery point chain of its own), and stop protection of this one with its data retained.`,
    };
  }
  const joined = spec.availabilityGroups.find(
    (g) =>
      same(localReplica(g, spec.vmName)?.instance ?? '', instanceName) &&
      g.databases.some((db) => same(db, databaseName)),
  );
  if (joined === undefined) return undefined;
  return {
    code: 'UserErrorBackupFailedStandaloneDatabaseMovedInToAG',
    message: `The database '${databaseName}' on '${instanceName}' has joined the availability group '${joined.name}': protect it under the group (a new item with a recovery point chain of its own), and stop protection of this one with its data retained.`,
  };
}

/** `SQLDataBase;<instance>;<database>` → its parts (case-insensitive prefix), or undefined. */
export function parseItemName(itemName: string): { instanceName: string; databaseName: string } | undefined {
  const match = /^SQLDataBase;([^;]+);(.+)$/i.exec(itemName);
  return match === null ? undefined : { instanceName: match[1] as string, databaseName: match[2] as string };
}

/**
 * Applies a `backup` command. Resolves with the command's result (Succeeded, or Failed with the SQL Server / vault
 * error code); rejects when it could not finish now (vault unreachable, agent stopping, token rejected): the command
 * is then applied again later and resumes from its saved plan.
 */
export async function runBackup(context: BackupContext, command: Command): Promise<CommandResult> {
  const payload = parsePayload(command.payload as Record<string, unknown>);
  if (typeof payload === 'string') return failed('UserErrorInvalidCommand', `A backup command needs ${payload}.`);
  let job = context.state.backups[payload.backupId];
  if (job === undefined) {
    const names = parseItemName(payload.itemName);
    const spec = await context.spec();
    const group = spec.availabilityGroups.find((g) => same(g.name, names?.instanceName ?? ''));
    const local = group === undefined ? undefined : localReplica(group, spec.vmName)?.instance;
    const instance = spec.instances.find((i) => same(i.name, local ?? names?.instanceName ?? ''));
    // SQL Server refuses the plugin's BACKUP statement once its login has lost sysadmin (Azure: the job fails).
    if (instance !== undefined && !instance.pluginIsSysadmin)
      return failed(NO_SYSADMIN, noSysadminMessage(instance.name));
    const moved = names === undefined ? undefined : movedAcrossGroup(spec, names, group);
    if (moved !== undefined) return failed(moved.code, moved.message);
    const planned = plan(context, command, payload, local);
    if ('status' in planned) return planned;
    job = planned;
    context.state.backups[job.backupId] = job;
    await context.save();
  }
  const result = await new BackupRun(context, job).run();
  // Forgotten with the result: the caller saves the state together with it.
  delete context.state.backups[job.backupId];
  return result;
}

/** What SQL Server would back up now, or the error it would give. */
function plan(
  context: BackupContext,
  command: Command,
  payload: Payload,
  /** The local instance of the availability group the item names (`SQLDataBase;<AG>;<db>`), if it names one. */
  groupInstance: string | undefined,
): BackupInProgress | CommandResult {
  const names = parseItemName(payload.itemName);
  if (names === undefined)
    return failed(
      'UserErrorInvalidCommand',
      `The item name '${payload.itemName}' is not SQLDataBase;<instance>;<database>.`,
    );
  const instanceName = groupInstance ?? names.instanceName;
  const record = context.simulation.state.databases.find(
    (d) => same(d.instanceName, instanceName) && same(d.name, names.databaseName),
  );
  if (record === undefined) {
    return failed(
      'UserErrorSQLPODoesNotExist',
      `The database '${names.databaseName}' does not exist on the SQL instance '${names.instanceName}' (deleted or renamed).`,
    );
  }
  const plannedAt = payload.at ?? context.now();
  try {
    // An AG database's chain is the database's, replicated: the vault's view of it replaces this replica's own.
    const chain =
      payload.chain === undefined
        ? record.chain
        : { ...record.chain, lastFull: null, logChain: null, ...payload.chain };
    const request = planBackup({ name: record.name, readOnly: record.readOnly }, chain, payload.backupType, plannedAt);
    describeBackup(context.simulation.database(record), request); // refuses what the database cannot produce, before anything is saved
    return {
      backupId: payload.backupId,
      commandId: command.id,
      itemName: payload.itemName,
      backupType: payload.backupType,
      instanceName: record.instanceName,
      databaseName: record.name,
      databaseGuid: record.model.databaseGuid,
      blocksInFlight: payload.blocksInFlight,
      request,
      plannedAt: plannedAt.toISOString(),
    };
  } catch (error) {
    if (error instanceof SimulationError) return failed(error.code, error.message);
    throw error;
  }
}

/**
 * At most `count` buffers of `size` bytes, handed out and given back: the agent's memory for blocks is bounded, and
 * nothing is allocated per block. Each is allocated when first needed, so a backup of one block takes one.
 */
export class BlockBuffers {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((buffer: Buffer) => void)[] = [];
  private allocated = 0;

  constructor(
    readonly size: number,
    private readonly count: number,
  ) {}

  /** A free buffer, as soon as one is. */
  take(): Promise<Buffer> {
    const buffer = this.free.pop();
    if (buffer !== undefined) return Promise.resolve(buffer);
    if (this.allocated < this.count) {
      this.allocated += 1;
      return Promise.resolve(Buffer.allocUnsafe(this.size));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Gives back a buffer (or a block cut from one) that `take` handed out. */
  give(block: Buffer): void {
    const buffer = block.length === this.size ? block : Buffer.from(block.buffer, block.byteOffset, this.size);
    const next = this.waiting.shift();
    if (next === undefined) this.free.push(buffer);
    else next(buffer);
  }
}

/**
 * Cuts a byte stream into blocks of exactly `size` bytes (the last one shorter), each in a buffer taken from
 * `buffers`: it stays valid until given back, and the next block waits for a free buffer.
 */
export async function* blocksOf(
  stream: AsyncIterable<Buffer>,
  size: number,
  buffers: BlockBuffers,
): AsyncGenerator<Buffer> {
  let block: Buffer | undefined;
  let filled = 0;
  for await (const chunk of stream) {
    let offset = 0;
    while (offset < chunk.length) {
      block ??= await buffers.take();
      const n = Math.min(size - filled, chunk.length - offset);
      chunk.copy(block, filled, offset, offset + n);
      filled += n;
      offset += n;
      if (filled === size) {
        yield block;
        block = undefined;
        filled = 0;
      }
    }
  }
  if (block !== undefined && filled > 0) yield block.subarray(0, filled);
}

class BackupRun {
  private readonly what: string;
  private readonly startedAt = performance.now();
  private bytesSent = 0;
  private blocksSent = 0;
  /** The blocks the vault held when this run first asked (sent before a restart); undefined before that. */
  private inVaultAtStart: Set<number> | undefined;
  /** Blocks this run sent (acknowledged, or found in the vault after the answer got lost). */
  private readonly sent = new Set<number>();
  /** The next progress line's percentage (lines go out for blocks sent, not for blocks skipped). */
  private nextMark = 10;

  constructor(
    private readonly context: BackupContext,
    private readonly job: BackupInProgress,
  ) {
    this.what = `backup ${job.backupType} of ${job.instanceName}/${job.databaseName} ${job.backupId.slice(0, 8)}`;
  }

  private get data(): Record<string, unknown> {
    return { backupId: this.job.backupId, itemName: this.job.itemName, backupType: this.job.backupType };
  }

  async run(): Promise<CommandResult> {
    const { context, job } = this;
    const record = context.simulation.state.databases.find((d) => d.model.databaseGuid === job.databaseGuid);
    if (record === undefined) {
      return this.fail(
        failed(
          'UserErrorSQLPODoesNotExist',
          `The database '${job.databaseName}' on '${job.instanceName}' was deleted or recreated while its backup was under way.`,
        ),
      );
    }
    const database = context.simulation.database(record);
    let metadata: BackupMetadata;
    try {
      metadata = describeBackup(database, job.request);
    } catch (error) {
      if (error instanceof SimulationError) return this.fail(failed(error.code, error.message));
      throw error;
    }
    for (let round = 0; ; round++) {
      try {
        const upload =
          round === 0
            ? await context.session().openUpload(
                {
                  backupId: job.backupId,
                  itemName: job.itemName,
                  backupType: job.backupType,
                  sizeBytes: metadata.sizeBytes,
                },
                context.kill,
              )
            : await context.session().uploadState(job.backupId, context.kill);
        if (upload.state === 'Committed') return await this.alreadyCommitted(record, metadata, upload);
        if (upload.state === 'Failed') {
          if (job.streamed !== undefined) await this.recordInSql(record, metadata);
          return this.fail(
            failed(
              'UserErrorUploadNotOpen',
              `The vault ended the upload of backup ${job.backupId} before it was committed.`,
            ),
          );
        }
        const streamed = job.streamed;
        const complete =
          streamed !== undefined &&
          upload.receivedBlocks.length === streamed.blockCount &&
          upload.receivedBlocks.every((b, i) => b === i);
        if (!complete) await this.stream(database, metadata, upload);
        await this.recordInSql(record, metadata);
        return await this.commit(metadata);
      } catch (error) {
        if (error instanceof AgentApiError && error.code === BACKUP_CANCELLED) return this.cancelled(error);
        if (error instanceof AgentApiError && !error.retryable && error.status !== 401) {
          return this.fail(failed(error.code, `The vault refused backup ${job.backupId}: ${error.message}`));
        }
        if (!(error instanceof AgentApiError || error instanceof AgentNetworkError || isAbort(error))) {
          // The agent's own failure (the simulation, the state dir): reported, not retried for ever by the backlog.
          return this.fail(
            failed(
              error instanceof SimulationError ? error.code : 'CloudInternalError',
              `The agent could not take backup ${job.backupId}: ${(error as Error).message}`,
            ),
          );
        }
        if (isAbort(error) || !isRetryable(error) || round + 1 >= RESUME_ROUNDS) throw error;
        const delayMs = backoffDelay(round, context.retry, context.retry.minDelayMs);
        context.log(
          'warn',
          'backupRetry',
          `${this.what}: ${(error as Error).message}; resuming in ${delayMs} ms from the blocks the vault has`,
          this.data,
        );
        await sleep(delayMs, context.halt);
      }
    }
  }

  /** Regenerates the stream and sends the blocks the vault lacks. Saves `streamed` once the vault has them all. */
  private async stream(database: SimulatedDatabase, metadata: BackupMetadata, upload: UploadState): Promise<void> {
    const { context, job } = this;
    const have = new Set(upload.receivedBlocks);
    const size = metadata.sizeBytes;
    // The vault's choice for this backup (larger than the command's when the backup would not fit in one blob).
    const blockSize = upload.blockSizeBytes;
    if (!Number.isSafeInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_BYTES) {
      throw new Error(`the vault asks for blocks of ${blockSize} bytes; this agent holds at most ${MAX_BLOCK_BYTES}`);
    }
    const blockCount = Math.ceil(size / blockSize);
    const firstLook = this.inVaultAtStart ?? have;
    if (this.inVaultAtStart === undefined) {
      this.inVaultAtStart = have;
      const resumed = have.size > 0 ? `, resumed: ${have.size} already in the vault` : '';
      context.log(
        'info',
        'backupStarted',
        `${this.what} started: ${mib(size)} in ${blockCount} blocks of ${blockSizeText(blockSize)}${resumed}`,
        {
          ...this.data,
          sizeBytes: size,
          blockCount,
          blocksInVault: have.size,
        },
      );
    }
    const progress = blockCount >= 10;
    const handle = openBackup(database, job.request);
    const depth = job.blocksInFlight ?? 1;
    // One buffer per block on its way, and one for the next block, read meanwhile: the agent's memory stays flat,
    // nothing is copied.
    const buffers = new BlockBuffers(blockSize, depth + 1);
    // The first failure ends the round: no block goes out after it, those on their way finish (whatever the vault
    // acknowledges, it keeps; the next round asks it), and the round ends once every request has settled.
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let index = 0;
    let done = 0;
    const counted = (at: number, bytes: number, skipped: boolean) => {
      if (!firstLook.has(at) && !this.sent.has(at)) {
        // Sent now, or in an earlier round whose answer got lost.
        this.sent.add(at);
        this.bytesSent += bytes;
        this.blocksSent++;
      }
      done += bytes;
      const percent = Math.floor((done * 100) / size);
      if (progress && !skipped && percent >= this.nextMark && percent < 100) {
        const elapsed = performance.now() - this.startedAt;
        context.log(
          'info',
          'backupProgress',
          `${this.what}: ${percent}% (${mib(done)} of ${mib(size)}, ${rate(this.bytesSent, elapsed)})`,
          { ...this.data, percent },
        );
        this.nextMark = Math.floor(percent / 10) * 10 + 10;
      }
    };
    try {
      for await (const block of blocksOf(handle.stream, blockSize, buffers)) {
        if (failure === undefined && context.halt.aborted) failure = { error: abortError() }; // after the blocks on their way
        if (failure !== undefined) {
          buffers.give(block);
          break;
        }
        const at = index++;
        if (have.has(at)) {
          counted(at, block.length, true);
          buffers.give(block);
          await new Promise((resolve) => setImmediate(resolve)); // no I/O here: let timers (heartbeats, stop) run
          continue;
        }
        const sha256 = createHash('sha256').update(block).digest('hex');
        while (inFlight.size >= depth) await Promise.race(inFlight);
        if (failure !== undefined || context.halt.aborted) {
          failure ??= { error: abortError() };
          buffers.give(block);
          break;
        }
        const sending: Promise<void> = context
          .session()
          .putBlock(job.backupId, at, block, sha256, context.kill)
          .then(
            () => counted(at, block.length, false),
            (error: unknown) => {
              failure ??= { error };
            },
          )
          .finally(() => {
            inFlight.delete(sending);
            buffers.give(block);
          });
        inFlight.add(sending);
      }
    } catch (error) {
      failure ??= { error };
    } finally {
      await Promise.all(inFlight);
    }
    if (failure !== undefined) throw failure.error;
    const { sha256 } = await handle.completed;
    if (done !== size || index !== blockCount) {
      throw new Error(
        `internal: the backup stream of ${job.backupId} came out as ${done} bytes in ${index} blocks; planned ${size} bytes, ${blockCount} blocks`,
      );
    }
    job.streamed = { sizeBytes: size, sha256, blockCount };
    await context.save();
  }

  /** SQL Server's BACKUP finished (its stream was consumed): its history moves, whatever the vault decides next. */
  private async recordInSql(record: DatabaseRecord, metadata: BackupMetadata): Promise<void> {
    const { context, job } = this;
    if (job.recorded === true) return;
    const sha256 = job.streamed?.sha256;
    try {
      await context.simulation.update((draft) =>
        recordBackup(
          draft,
          record.instanceName,
          record.name,
          sha256 === undefined ? metadata : { ...metadata, sha256 },
        ),
      );
    } catch (error) {
      // The database was deleted or recreated meanwhile: there is no history left to move.
      if (!(error instanceof SimulationError)) throw error;
      context.log(
        'warn',
        'backupNotRecorded',
        `${this.what}: not recorded in the simulated SQL Server's history: ${error.message}`,
        this.data,
      );
    }
    job.recorded = true;
    await context.save();
  }

  private async commit(metadata: BackupMetadata): Promise<CommandResult> {
    const { context, job } = this;
    const streamed = job.streamed as NonNullable<BackupInProgress['streamed']>;
    const files = await context.databaseFiles(job.instanceName, job.databaseName);
    const wire: CommitMetadata = {
      backupType: job.backupType,
      firstLsn: metadata.firstLsn,
      lastLsn: metadata.lastLsn,
      checkpointLsn: metadata.checkpointLsn,
      databaseBackupLsn: metadata.databaseBackupLsn,
      ...(metadata.differentialBaseLsn === undefined ? {} : { differentialBaseLsn: metadata.differentialBaseLsn }),
      startTime: metadata.startTime,
      endTime: metadata.endTime,
      sizeBytes: streamed.sizeBytes,
      sha256: streamed.sha256,
      blockCount: streamed.blockCount,
      databaseGuid: metadata.databaseGuid,
      familyGuid: metadata.familyGuid,
      ...(files === undefined ? {} : { files }),
    };
    const { recoveryPointId } = await context.session().commitUpload(job.backupId, wire, context.kill);
    return this.succeed(recoveryPointId, streamed.sizeBytes);
  }

  /** The vault committed this upload before (the agent stopped before it recorded the result). */
  private async alreadyCommitted(
    record: DatabaseRecord,
    metadata: BackupMetadata,
    upload: UploadState,
  ): Promise<CommandResult> {
    await this.recordInSql(record, metadata);
    if (upload.recoveryPointId === undefined) {
      return this.fail(
        failed(
          'UserErrorUploadNotOpen',
          `The vault reports backup ${this.job.backupId} committed but names no recovery point.`,
        ),
      );
    }
    return this.succeed(upload.recoveryPointId, metadata.sizeBytes);
  }

  private succeed(recoveryPointId: string, sizeBytes: number): CommandResult {
    const elapsed = performance.now() - this.startedAt;
    const blocksSkipped = this.inVaultAtStart?.size ?? 0;
    const skipped = blocksSkipped > 0 ? `, ${blocksSkipped} already in the vault` : '';
    this.context.log(
      'info',
      'backupCompleted',
      `${this.what} committed: ${mib(sizeBytes)}, ${this.blocksSent} blocks sent (${mib(this.bytesSent)}) in ${seconds(elapsed)}, ${rate(this.bytesSent, elapsed)}${skipped}; recovery point ${recoveryPointId}`,
      {
        ...this.data,
        recoveryPointId,
        sizeBytes,
        bytesSent: this.bytesSent,
        blocksSent: this.blocksSent,
        blocksSkipped,
        elapsedMs: Math.round(elapsed),
      },
    );
    return { status: 'Succeeded', result: { recoveryPointId } };
  }

  /** The backup's job was cancelled: the stream stopped (nothing more goes out) and the vault keeps nothing of it. */
  private cancelled(error: AgentApiError): CommandResult {
    const elapsed = performance.now() - this.startedAt;
    this.context.log(
      'warn',
      'backupCancelled',
      `${this.what} cancelled by the vault after ${this.blocksSent} blocks (${mib(this.bytesSent)}) in ${seconds(elapsed)}`,
      {
        ...this.data,
        code: error.code,
        blocksSent: this.blocksSent,
      },
    );
    return failed(error.code, `Backup ${this.job.backupId} stopped: ${error.message}`);
  }

  private fail(result: CommandResult): CommandResult {
    this.context.log(
      'warn',
      'backupFailed',
      `${this.what} failed: ${result.error?.code ?? 'Failed'}: ${result.error?.message ?? ''}`.trimEnd(),
      {
        ...this.data,
        code: result.error?.code,
      },
    );
    return result;
  }
}
