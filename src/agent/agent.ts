/**
 * The reference agent: a simulated SQL Server VM's Azure Backup workload extension (coordinator + SQL plugin), as a
 * library. The CLI (src/agent/cli.ts) is a thin shell around it; tests drive it directly too.
 *
 * ```ts
 * const agent = new Agent({ credentials, spec, stateDir, log: (e) => console.log(e.message) });
 * await agent.start();          // registers (or resumes the registration kept in stateDir)
 * agent.updateSpec(newSpec);    // the next discover reports the new inventory
 * await agent.stop();           // graceful: the command being applied finishes, polling stops
 * ```
 *
 * Behaviour:
 * - State under `stateDir`: `coordinator.json` (registration, commands; src/agent/coordinator-state.ts) and the
 *   simulated SQL Server's `agent-state.json` (databases and backup chains; src/agent/simulation/state.ts), which is
 *   brought in line with the spec at start and at every discover (a database is born when the agent first sees it).
 * - Registration: kept in `stateDir`; reused on start when it is for the same vault and VM and its token has not
 *   expired ("resumed"), else the agent registers with the vault credentials ("registered"). The token is renewed
 *   (registering again: same container) when less than a fifth of its lifetime is left.
 * - Two loops: heartbeats every `heartbeatIntervalSeconds` (the vault's number), and a long-poll for commands. They
 *   are independent, so heartbeats go on while a long command is applied.
 * - Commands are applied once: a command is recorded when received, acknowledged, applied, recorded with its result,
 *   then the result is reported. A redelivered command that was already applied is acknowledged and its recorded
 *   result re-sent; a command received but not applied when the agent stopped is applied after the restart; a result
 *   the vault did not get is re-sent.
 * - `registerExtension` → Succeeded (the extension is installed); `configure` → the policy is cached in the state;
 *   `discover` → the inventory (POST …/inventory with the command id), then Succeeded; `backup` → the simulated
 *   database's backup streamed to the vault in blocks and committed (src/agent/backup.ts), then Succeeded with the
 *   recovery point id or Failed with SQL Server's / the vault's error code; `restore` → the parts read from the vault,
 *   verified and applied to a simulated database or written as files (src/agent/restore.ts); `unregister` → Succeeded, then the
 *   registration is forgotten and the agent stops (`stopped` resolves 'unregistered'); any other type → Failed,
 *   `UserErrorUnsupportedCommand`.
 * - Backups are taken as of the command's `at` (the vault's time; else the agent's clock) and the plan is saved
 *   before the first block goes out, so a backup interrupted by a stop, a crash or a lost connection resumes with the
 *   same bytes, sending only the blocks the vault lacks. A graceful stop ends a backup's stream after the block in
 *   flight (the backup resumes after the restart) rather than waiting for it.
 * - A 401 on a container call (the container was unregistered, the token is no longer valid) clears the
 *   registration and stops the agent (`stopped` resolves 'tokenRejected').
 * - Network errors, 429 and 5xx are retried (src/agent/client.ts), then the loops back off and go on: the agent
 *   outlives a restart of the service.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, CommandResult, RegisterResponse } from '../protocol/agent.ts';
import { runBackup } from './backup.ts';
import { runRestore } from './restore.ts';
import { runFailover } from './failover.ts';
import {
  AgentApiError,
  AgentClient,
  backoffDelay,
  DEFAULT_RETRY,
  isAbort,
  isRetryable,
  sleep,
  type ContainerClient,
  type FetchInit,
  type RetryOptions,
} from './client.ts';
import { vaultNameOf, type VaultCredentialsFile } from './files.ts';
import { reportedFiles, vmInventory } from './inventory.ts';
import { withFailovers, type VmSpec } from './simulation/spec.ts';
import { AgentStateStore, syncWithSpec, type SyncResult } from './simulation/state.ts';
import {
  APPLIED_COMMANDS_KEPT,
  CoordinatorStore,
  type AgentRegistration,
  type CoordinatorState,
  type AppliedCommand,
} from './coordinator-state.ts';

export const AGENT_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return `recovery-vault-agent/${pkg.version ?? '0.0.0'}`;
  } catch {
    return 'recovery-vault-agent/0.0.0';
  }
})();

export const WORKLOAD_EXTENSION = 'AzureBackupWindowsWorkload';

export type AgentLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What happened; `message` is the one log line the CLI prints. */
export type AgentEvent =
  | 'registered'
  | 'resumed'
  | 'tokenRenewed'
  | 'tokenRenewalFailed'
  | 'registrationRetry'
  | 'retry'
  | 'heartbeat'
  | 'heartbeatFailed'
  | 'heartbeatRestored'
  | 'pollFailed'
  | 'commandReceived'
  | 'protectionConfigured'
  | 'commandRedelivered'
  | 'commandResumed'
  | 'extensionInstalled'
  | 'extensionRemoved'
  | 'inventoryReported'
  | 'databasesSynced'
  | 'commandSucceeded'
  | 'commandFailed'
  | 'backupStarted'
  | 'backupProgress'
  | 'backupRetry'
  | 'backupNotRecorded'
  | 'backupCompleted'
  | 'backupCancelled'
  | 'backupFailed'
  | 'restoreStarted'
  | 'restoreRetry'
  | 'restoreCompleted'
  | 'restoreFailed'
  | 'failedOver'
  | 'resultDeferred'
  | 'unregistered'
  | 'tokenRejected'
  | 'stopping'
  | 'stopped';

export interface AgentLogEntry {
  level: AgentLogLevel;
  event: AgentEvent;
  message: string;
  data?: Record<string, unknown>;
}

export type AgentStopReason = 'stopped' | 'unregistered' | 'tokenRejected';

export interface Clock {
  now(): Date;
}

export type SpecSource = VmSpec | (() => VmSpec | Promise<VmSpec>);

export interface AgentOptions {
  /** The service; default: the credentials' `serviceUrl`. */
  serverUrl?: string;
  credentials: VaultCredentialsFile;
  /** The VM: a spec, or a function asked at every discover (the CLI re-reads the spec file). */
  spec: SpecSource;
  stateDir: string;
  /** Where the simulated VM's drives live (restore as files: `F:\\restore` → `<filesRoot>/F/restore`). Default `<stateDir>/volumes`. */
  filesRoot?: string;
  /** Extra CA (PEM) to trust for https, or a file holding it (else NODE_EXTRA_CA_CERTS / Node's roots). */
  ca?: string | Buffer;
  caFile?: string;
  log?: (entry: AgentLogEntry) => void;
  clock?: Clock;
  agentVersion?: string;
  retry?: Partial<RetryOptions>;
  /** Overrides the vault's heartbeat interval (seconds). */
  heartbeatIntervalSeconds?: number;
  /** Overrides the vault's long-poll wait (seconds, 0–60). */
  commandWaitSeconds?: number;
  /** How long `stop()` lets the command being applied finish before aborting it. Default 10 s. */
  stopTimeoutMs?: number;
  /** The HTTP transport (tests): a `Transport`, or a `FetchLike` written for JSON bodies (src/agent/client.ts). */
  fetch?(url: string, init: FetchInit): Promise<Response>;
}

/** Registration refused or impossible (credentials expired or invalid, VM refused, …). */
export class AgentError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'AgentError';
  }
}

/** Thrown inside the loops when the agent must end (token rejected): unwinds the command being applied. */
class Ended extends Error {}

const short = (id: string) => id.slice(0, 8);

export class Agent {
  private readonly client: AgentClient;
  private readonly store: CoordinatorStore;
  private readonly clock: Clock;
  private readonly agentVersion: string;
  private specSource: SpecSource;
  private state: CoordinatorState | undefined;
  private simulation: AgentStateStore | undefined;
  private session: ContainerClient | undefined;
  /** Aborted to stop polling, heartbeats and waits (stop(), or the agent ending itself). */
  private readonly halt = new AbortController();
  /** Aborted when a graceful stop takes too long: unwinds the command being applied. */
  private readonly kill = new AbortController();
  private endReason: AgentStopReason | undefined;
  private started = false;
  private finished = false;
  /** Backlog commands already announced (logged once, however many rounds they take). */
  private readonly resumed = new Set<string>();
  /** Earliest time (ms) of the next token renewal attempt after a failed one. */
  private nextRenewal = 0;
  private loops: Promise<unknown> | undefined;
  private resolveStopped!: (reason: AgentStopReason) => void;
  /** Resolves when the agent has stopped: stop(), unregistration, or a rejected token. */
  readonly stopped: Promise<AgentStopReason>;

  constructor(private readonly options: AgentOptions) {
    const serverUrl = options.serverUrl ?? options.credentials.serviceUrl;
    if (serverUrl === undefined)
      throw new AgentError('InvalidArguments', 'no server URL: the credentials have no serviceUrl and none was given');
    this.clock = options.clock ?? { now: () => new Date() };
    this.agentVersion = options.agentVersion ?? AGENT_VERSION;
    this.specSource = options.spec;
    this.store = new CoordinatorStore(options.stateDir);
    this.client = new AgentClient({
      serverUrl,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.caFile === undefined ? {} : { caFile: options.caFile }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      onRetry: ({ operation, attempt, delayMs, error }) =>
        this.log('debug', 'retry', `${operation} failed (${error.message}); retry ${attempt} in ${delayMs} ms`),
    });
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  get serverUrl(): string {
    return this.client.serverUrl;
  }

  /** The current registration (null before start() and once unregistered). */
  get registration(): AgentRegistration | null {
    return this.state?.registration ?? null;
  }

  /** The simulated SQL Server's state (databases, backup chains), once started. */
  get simulatedState(): AgentStateStore | undefined {
    return this.simulation;
  }

  /** Where the simulated VM's drives are (restore as files). */
  get filesRoot(): string {
    return this.options.filesRoot ?? join(this.options.stateDir, 'volumes');
  }

  /** The ids of the commands applied so far (oldest first; bounded). */
  get appliedCommandIds(): string[] {
    return this.state?.applied.map((a) => a.id) ?? [];
  }

  /** Replaces the VM spec: the next discover reports it (the VM identity stays the registered one). */
  updateSpec(spec: SpecSource): void {
    this.specSource = spec;
  }

  /**
   * Registers (or resumes) and starts heartbeating and polling. Resolves with the registration; rejects when
   * registration is refused (AgentError / AgentApiError) or stop() is called before it succeeded.
   */
  async start(): Promise<AgentRegistration> {
    if (this.started) throw new Error('the agent was already started');
    this.started = true;
    try {
      this.state = this.store.load();
      this.simulation = await AgentStateStore.open(this.options.stateDir);
      const spec = await this.currentSpec();
      await this.syncDatabases(spec);
      const registration = await this.registerOrResume(spec);
      this.session = this.client.container(registration.containerName, registration.agentToken);
      this.loops = Promise.allSettled([this.heartbeatLoop(), this.commandLoop()]).then(() => this.finish());
      return registration;
    } catch (error) {
      this.finish();
      if (isAbort(error)) throw new Error('the agent was stopped before it registered', { cause: error });
      throw error;
    }
  }

  /** Graceful stop: polling and heartbeats stop; the command being applied finishes (up to `stopTimeoutMs`). */
  async stop(): Promise<void> {
    if (!this.started) return;
    if (this.endReason === undefined) {
      this.endReason = 'stopped';
      this.log('info', 'stopping', 'stopping: finishing the command in progress, then no more polling');
    }
    this.halt.abort();
    const timer = setTimeout(() => this.kill.abort(), this.options.stopTimeoutMs ?? 10_000);
    try {
      await (this.loops ?? Promise.resolve());
      await this.stopped;
    } finally {
      clearTimeout(timer);
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.halt.abort();
    const reason = this.endReason ?? 'stopped';
    this.endReason = reason;
    this.log('info', 'stopped', `stopped (${reason})`, { reason });
    this.resolveStopped(reason);
  }

  private end(reason: AgentStopReason): void {
    this.endReason ??= reason;
    this.halt.abort();
  }

  private log(level: AgentLogLevel, event: AgentEvent, message: string, data?: Record<string, unknown>): void {
    this.options.log?.({ level, event, message, ...(data === undefined ? {} : { data }) });
  }

  /** The VM as its spec says it. */
  private async specAsWritten(): Promise<VmSpec> {
    return typeof this.specSource === 'function' ? this.specSource() : this.specSource;
  }

  /** The VM as its SQL Server sees it: the spec, with the availability group failovers the agent was told of. */
  private async currentSpec(): Promise<VmSpec> {
    return withFailovers(await this.specAsWritten(), this.simulation?.state.failovers ?? []);
  }

  /**
   * Brings the simulated databases in line with the spec (src/agent/simulation/state.ts): a database first seen now
   * comes into existence now, one gone from the spec is deleted, a changed recovery model is switched now.
   */
  private async syncDatabases(spec: VmSpec): Promise<void> {
    const store = this.simulation as AgentStateStore;
    const now = this.clock.now();
    const changes: SyncResult = await store.update((draft) => syncWithSpec(draft, spec, now));
    const list = (names: string[]) =>
      names.length > 10 ? `${names.slice(0, 10).join(', ')}, … (${names.length})` : names.join(', ');
    const parts = [
      changes.added.length > 0 ? `added ${list(changes.added)}` : '',
      changes.removed.length > 0 ? `deleted ${list(changes.removed)}` : '',
      changes.recreated.length > 0 ? `recreated ${list(changes.recreated)}` : '',
      changes.recoveryModelChanged.length > 0 ? `recovery model changed for ${list(changes.recoveryModelChanged)}` : '',
    ].filter(Boolean);
    if (parts.length > 0)
      this.log('info', 'databasesSynced', `simulated databases: ${parts.join('; ')}`, { ...changes });
  }

  private async save(): Promise<void> {
    if (this.state !== undefined) await this.store.save(this.state);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Registration

  private async registerOrResume(spec: VmSpec): Promise<AgentRegistration> {
    const state = this.state as CoordinatorState;
    const kept = state.registration;
    const credentials = this.options.credentials;
    const sameVm = (r: AgentRegistration) =>
      r.vmName.toLowerCase() === spec.vmName.toLowerCase() &&
      r.resourceGroup.toLowerCase() === spec.resourceGroup.toLowerCase();
    if (kept !== null && kept.vaultId.toLowerCase() === credentials.vaultId.toLowerCase() && sameVm(kept)) {
      if (Date.parse(kept.tokenExpiresAt) > this.clock.now().getTime()) {
        this.log(
          'info',
          'resumed',
          `resumed ${kept.containerName} with vault ${kept.vaultName} (state in ${this.store.dir})`,
          {
            containerName: kept.containerName,
            vaultId: kept.vaultId,
          },
        );
        return kept;
      }
    }
    if (kept !== null && kept.vaultId.toLowerCase() !== credentials.vaultId.toLowerCase()) {
      // The previous registration belongs to another vault's credentials: its commands mean nothing here.
      state.received = [];
      state.applied = [];
      state.backups = {};
    }
    const answer = await this.registerWithRetries(spec);
    const registration = this.registrationFrom(answer, spec);
    state.registration = registration;
    await this.save();
    this.log('info', 'registered', `registered ${registration.containerName} with vault ${registration.vaultName}`, {
      containerName: registration.containerName,
      vaultId: registration.vaultId,
    });
    return registration;
  }

  private registrationFrom(
    answer: RegisterResponse,
    spec: { vmName: string; resourceGroup: string; os: string },
  ): AgentRegistration {
    return {
      serverUrl: this.client.serverUrl,
      vaultId: answer.vault.id,
      vaultName: answer.vault.name,
      containerName: answer.containerName,
      vmResourceId: answer.vmResourceId,
      vmName: spec.vmName,
      resourceGroup: spec.resourceGroup,
      os: spec.os,
      agentToken: answer.agentToken,
      tokenExpiresAt: answer.tokenExpiresAt,
      heartbeatIntervalSeconds: answer.heartbeatIntervalSeconds,
      commandWaitSeconds: answer.commandWaitSeconds,
      registeredAt: this.clock.now().toISOString(),
    };
  }

  private async register(
    spec: { vmName: string; resourceGroup: string; os: string },
    signal?: AbortSignal,
  ): Promise<RegisterResponse> {
    const credentials = this.options.credentials;
    if (credentials.expiresAt !== undefined && Date.parse(credentials.expiresAt) <= this.clock.now().getTime()) {
      throw new AgentError(
        'UserErrorVaultCredentialsExpired',
        `the vault credentials expired at ${credentials.expiresAt}; download new credentials for vault ${vaultNameOf(credentials)}`,
      );
    }
    return this.client.register(
      {
        credentials: { vaultId: credentials.vaultId, secret: credentials.secret },
        vm: { vmName: spec.vmName, resourceGroup: spec.resourceGroup, os: spec.os },
        agentVersion: this.agentVersion,
      },
      signal,
    );
  }

  /** Registers, waiting out an unreachable or failing service (until stop()); a 4xx is final. */
  private async registerWithRetries(spec: VmSpec): Promise<RegisterResponse> {
    for (let round = 0; ; round++) {
      try {
        return await this.register(spec, this.halt.signal);
      } catch (error) {
        if (!isRetryable(error)) throw error;
        const delayMs = backoffDelay(round, { retries: 0, minDelayMs: 1000, maxDelayMs: 30_000 }, 1000);
        this.log(
          'warn',
          'registrationRetry',
          `cannot register yet (${(error as Error).message}); trying again in ${Math.round(delayMs / 1000)} s`,
        );
        await sleep(delayMs, this.halt.signal);
      }
    }
  }

  /** Registers again (same container, new token) when less than a fifth of the token's lifetime is left. */
  private async renewTokenIfDue(): Promise<void> {
    const registration = this.state?.registration;
    if (registration == null) return;
    const now = this.clock.now().getTime();
    const expires = Date.parse(registration.tokenExpiresAt);
    const lifetime = expires - Date.parse(registration.registeredAt);
    if (expires - now > Math.max(lifetime / 5, 0) || now < this.nextRenewal) return;
    // After a failure, try again at most every 10 minutes (and a minute before expiry).
    this.nextRenewal = Math.min(now + 600_000, Math.max(now + 1000, expires - 60_000));
    try {
      const answer = await this.register(registration, this.halt.signal);
      if (this.state?.registration == null) return;
      this.state.registration = { ...this.registrationFrom(answer, registration) };
      this.session = this.client.container(answer.containerName, answer.agentToken);
      await this.save();
      this.log('info', 'tokenRenewed', `agent token renewed (expires ${answer.tokenExpiresAt})`);
    } catch (error) {
      if (isAbort(error)) return;
      this.log(
        'warn',
        'tokenRenewalFailed',
        `cannot renew the agent token (${(error as Error).message}); it expires at ${registration.tokenExpiresAt}`,
      );
    }
  }

  /** A 401 on a container call: the registration is gone. Returns true when `error` was one. */
  private async rejectedToken(error: unknown): Promise<boolean> {
    if (!(error instanceof AgentApiError) || error.status !== 401) return false;
    if (this.endReason === undefined && this.state !== undefined) {
      const name = this.state.registration?.containerName ?? 'the container';
      this.state.registration = null;
      this.state.received = [];
      this.state.applied = [];
      this.state.backups = {};
      await this.save();
      this.log(
        'error',
        'tokenRejected',
        `the vault no longer accepts the agent token of ${name} (${error.message}); registration cleared, stopping`,
      );
      this.end('tokenRejected');
    }
    return true;
  }

  private async forgetRegistration(): Promise<void> {
    const state = this.state as CoordinatorState;
    const registration = state.registration;
    state.registration = null;
    state.received = [];
    state.applied = [];
    state.backups = {};
    await this.save();
    this.log(
      'info',
      'unregistered',
      `unregistered: ${registration?.containerName ?? 'the container'} left vault ${registration?.vaultName ?? ''}; registration cleared`.trimEnd(),
    );
    this.end('unregistered');
  }

  // ------------------------------------------------------------------------------------------------------------
  // Heartbeats

  private async heartbeatLoop(): Promise<void> {
    const signal = this.halt.signal;
    let failing = false;
    while (!signal.aborted) {
      await this.renewTokenIfDue();
      const registration = this.state?.registration;
      if (registration == null || this.session === undefined) return;
      let intervalSeconds = this.options.heartbeatIntervalSeconds ?? registration.heartbeatIntervalSeconds;
      try {
        const answer = await this.session.heartbeat({ agentVersion: this.agentVersion, status: 'Healthy' }, signal);
        intervalSeconds = this.options.heartbeatIntervalSeconds ?? answer.heartbeatIntervalSeconds;
        if (failing) this.log('info', 'heartbeatRestored', 'heartbeats go through again');
        failing = false;
        this.log('debug', 'heartbeat', `heartbeat sent (next in ${intervalSeconds} s)`);
      } catch (error) {
        if (isAbort(error) || (await this.rejectedToken(error))) return;
        if (!failing) this.log('warn', 'heartbeatFailed', `heartbeat failed: ${(error as Error).message}`);
        failing = true;
      }
      await sleep(Math.max(intervalSeconds, 1) * 1000, signal).catch(() => undefined);
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Commands

  private async commandLoop(): Promise<void> {
    const signal = this.halt.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        await this.processBacklog();
        if (signal.aborted) return;
        const session = this.session as ContainerClient;
        const waitSeconds = Math.min(
          60,
          Math.max(0, this.options.commandWaitSeconds ?? this.state?.registration?.commandWaitSeconds ?? 30),
        );
        const commands = await session.pollCommands(waitSeconds, signal);
        failures = 0;
        for (const command of commands) {
          if (signal.aborted) return;
          await this.handle(command);
        }
      } catch (error) {
        if (error instanceof Ended || isAbort(error) || (await this.rejectedToken(error))) return;
        failures++;
        this.log('warn', 'pollFailed', `talking to the vault failed: ${(error as Error).message}`);
        await sleep(backoffDelay(failures, { retries: 0, minDelayMs: 500, maxDelayMs: 30_000 }, 500), signal).catch(
          () => undefined,
        );
      }
    }
  }

  /**
   * Commands received but not applied (the agent stopped meanwhile), then results the vault did not get. Best
   * effort: what cannot reach the vault now waits for the next round (polling goes on meanwhile, so a redelivered
   * command is still recognised).
   */
  private async processBacklog(): Promise<void> {
    const state = this.state as CoordinatorState;
    const deferred = this.deferred.bind(this);
    for (const received of [...state.received]) {
      const { command } = received;
      if (!this.resumed.has(command.id)) {
        this.resumed.add(command.id);
        this.log(
          'info',
          'commandResumed',
          `command ${command.type} ${short(command.id)} was received before a restart: applying it now`,
        );
      }
      await deferred(`cannot apply command ${command.type} ${short(command.id)} yet`, () =>
        this.applyAndReport(command),
      );
    }
    for (const applied of state.applied.filter((a) => !a.resultReported)) {
      await deferred(`cannot report the result of command ${applied.type} ${short(applied.id)} yet`, () =>
        this.sendResult(applied, true),
      );
    }
  }

  /** Runs `work`; a failure to reach the vault is logged and left to the backlog's next round. */
  private async deferred(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (error instanceof Ended || isAbort(error) || !isRetryable(error)) throw error;
      this.log('warn', 'resultDeferred', `${what}: ${(error as Error).message}; will try again`);
    }
  }

  private async handle(command: Command): Promise<void> {
    const state = this.state as CoordinatorState;
    const session = this.session as ContainerClient;
    const applied = state.applied.find((a) => a.id === command.id);
    if (applied !== undefined) {
      this.log(
        'info',
        'commandRedelivered',
        `command ${command.type} ${short(command.id)} redelivered (attempt ${command.attempt}): already applied, re-sending its result`,
        {
          commandId: command.id,
          type: command.type,
        },
      );
      await this.acknowledge(session, command);
      await this.deferred(`cannot re-send the result of command ${command.type} ${short(command.id)} yet`, () =>
        this.sendResult(applied, true),
      );
      return;
    }
    this.log(
      'info',
      'commandReceived',
      `command ${command.type} ${short(command.id)} received (attempt ${command.attempt})`,
      {
        commandId: command.id,
        type: command.type,
        attempt: command.attempt,
      },
    );
    if (!state.received.some((r) => r.command.id === command.id)) {
      state.received.push({ command, receivedAt: this.clock.now().toISOString() });
      await this.save();
    }
    await this.acknowledge(session, command);
    await this.deferred(`command ${command.type} ${short(command.id)} not finished`, () =>
      this.applyAndReport(command),
    );
  }

  /** Acknowledges; a failure is not fatal (the command is redelivered and then recognised as applied). */
  private async acknowledge(session: ContainerClient, command: Command): Promise<void> {
    try {
      await session.acknowledge(command.id, this.kill.signal);
    } catch (error) {
      if (isAbort(error)) throw error;
      if (await this.rejectedToken(error)) throw new Ended();
      this.log(
        'warn',
        'pollFailed',
        `cannot acknowledge command ${short(command.id)} (${(error as Error).message}); applying it anyway`,
      );
    }
  }

  private async applyAndReport(command: Command): Promise<void> {
    const state = this.state as CoordinatorState;
    let result: CommandResult;
    try {
      result = await this.apply(command);
    } catch (error) {
      if (await this.rejectedToken(error)) throw new Ended();
      throw error; // left in `received`: applied again by the next backlog round
    }
    const entry: AppliedCommand = {
      id: command.id,
      type: command.type,
      appliedAt: this.clock.now().toISOString(),
      result,
      resultReported: false,
    };
    state.received = state.received.filter((r) => r.command.id !== command.id);
    state.applied = [...state.applied.filter((a) => a.id !== command.id), entry].slice(-APPLIED_COMMANDS_KEPT);
    await this.save();
    await this.sendResult(entry, false);
  }

  /** Reports a recorded result; keeps it for a later try when the vault cannot be reached. */
  private async sendResult(entry: AppliedCommand, resend: boolean): Promise<void> {
    const session = this.session as ContainerClient;
    try {
      await session.reportResult(entry.id, entry.result, this.kill.signal);
    } catch (error) {
      if (isAbort(error)) throw error;
      if (await this.rejectedToken(error)) throw new Ended();
      if (isRetryable(error)) throw error; // kept unreported: the backlog sends it again
      // 404 and other 4xx: the vault does not know the command (any more); nothing left to report.
      this.log(
        'warn',
        'resultDeferred',
        `the vault refused the result of command ${short(entry.id)} (${(error as Error).message}); dropping it`,
      );
    }
    entry.resultReported = true;
    await this.save();
    const outcome =
      entry.result.status === 'Succeeded'
        ? 'succeeded'
        : `failed: ${entry.result.error?.code ?? 'Failed'}: ${entry.result.error?.message ?? ''}`.trimEnd();
    this.log(
      entry.result.status === 'Succeeded' ? 'info' : 'warn',
      entry.result.status === 'Succeeded' ? 'commandSucceeded' : 'commandFailed',
      `command ${entry.type} ${short(entry.id)} ${outcome}${resend ? ' (result re-sent)' : ''}`,
      { commandId: entry.id, type: entry.type },
    );
    if (entry.type === 'unregister' && entry.result.status === 'Succeeded') await this.forgetRegistration();
  }

  /** Applies a command: a result for the command's own failures; throws when the vault could not be told. */
  private async apply(command: Command): Promise<CommandResult> {
    switch (command.type) {
      case 'registerExtension':
        this.log('info', 'extensionInstalled', `workload extension ${WORKLOAD_EXTENSION} installed`);
        return { status: 'Succeeded', result: { extension: WORKLOAD_EXTENSION, agentVersion: this.agentVersion } };
      case 'discover':
        return this.discover(command);
      case 'unregister':
        this.log('info', 'extensionRemoved', `workload extension ${WORKLOAD_EXTENSION} removed`);
        return { status: 'Succeeded' };
      case 'configure':
        return this.configure(command);
      case 'backup':
        return this.backup(command);
      case 'restore':
        return this.restore(command);
      case 'failover':
        return runFailover(
          {
            simulation: this.simulation as AgentStateStore,
            specAsWritten: () => this.specAsWritten(),
            spec: () => this.currentSpec(),
            log: (message, data) => this.log('info', 'failedOver', message, data),
          },
          command,
        );
      default:
        return {
          status: 'Failed',
          error: {
            code: 'UserErrorUnsupportedCommand',
            message: `The agent (${this.agentVersion}) does not support the command type '${command.type}'.`,
          },
        };
    }
  }

  /** Streams one backup of a simulated database to the vault (src/agent/backup.ts). */
  private backup(command: Command): Promise<CommandResult> {
    return runBackup(
      {
        session: () => this.session as ContainerClient,
        simulation: this.simulation as AgentStateStore,
        state: this.state as CoordinatorState,
        save: () => this.save(),
        spec: () => this.currentSpec(),
        now: () => this.clock.now(),
        log: (level, event, message, data) => this.log(level, event, message, data),
        databaseFiles: async (instanceName, databaseName) => {
          const instance = (await this.currentSpec()).instances.find(
            (i) => i.name.toLowerCase() === instanceName.toLowerCase(),
          );
          const database = instance?.databases.find((d) => d.name.toLowerCase() === databaseName.toLowerCase());
          return database === undefined ? undefined : reportedFiles(database);
        },
        halt: this.halt.signal,
        kill: this.kill.signal,
        retry: { ...DEFAULT_RETRY, ...this.options.retry },
      },
      command,
    );
  }

  /** Applies a restore from the vault (src/agent/restore.ts). */
  private restore(command: Command): Promise<CommandResult> {
    return runRestore(
      {
        session: () => this.session as ContainerClient,
        simulation: this.simulation as AgentStateStore,
        instanceNames: async () => (await this.currentSpec()).instances.map((i) => i.name),
        filesRoot: this.filesRoot,
        stateDir: this.options.stateDir,
        now: () => this.clock.now(),
        log: (level, event, message, data) => this.log(level, event, message, data),
        kill: this.kill.signal,
      },
      command,
    );
  }

  /** Caches (or forgets) the policy of a protected database, as the plugin does before scheduled backups. */
  private async configure(command: Command): Promise<CommandResult> {
    const { itemName, protect, policy } = command.payload as {
      itemName?: unknown;
      protect?: unknown;
      policy?: unknown;
    };
    if (
      typeof itemName !== 'string' ||
      typeof protect !== 'boolean' ||
      (protect && (policy === null || typeof policy !== 'object'))
    ) {
      return {
        status: 'Failed',
        error: {
          code: 'UserErrorInvalidCommand',
          message: 'A configure command needs itemName, protect and (when protecting) policy.',
        },
      };
    }
    const state = this.state as CoordinatorState;
    const key = itemName.toLowerCase();
    if (protect)
      state.protections[key] = { itemName, policy: policy as object, configuredAt: this.clock.now().toISOString() };
    else delete state.protections[key];
    await this.save();
    this.log(
      'info',
      'protectionConfigured',
      protect ? `protection of ${itemName} configured` : `protection of ${itemName} stopped`,
      { itemName, protect },
    );
    return { status: 'Succeeded' };
  }

  private async discover(command: Command): Promise<CommandResult> {
    let spec: VmSpec;
    try {
      spec = await this.currentSpec();
    } catch (error) {
      return {
        status: 'Failed',
        error: {
          code: 'UserErrorInvalidVmSpec',
          message: `The simulated VM's spec cannot be read: ${(error as Error).message}`.slice(0, 4096),
        },
      };
    }
    try {
      await this.syncDatabases(spec);
    } catch (error) {
      this.log(
        'warn',
        'databasesSynced',
        `cannot update the simulated databases from the spec: ${(error as Error).message}`,
      );
    }
    const instances = vmInventory(spec);
    try {
      const answer = await (this.session as ContainerClient).reportInventory(
        { commandId: command.id, instances },
        this.kill.signal,
      );
      this.log(
        'info',
        'inventoryReported',
        `inventory reported: ${answer.instances} instances, ${answer.databases} databases (${answer.protectable} protectable)`,
        {
          commandId: command.id,
          ...answer,
        },
      );
      return { status: 'Succeeded', result: { ...answer } };
    } catch (error) {
      if (!(error instanceof AgentApiError) || error.retryable || error.status === 401) throw error;
      return {
        status: 'Failed',
        error: { code: error.code, message: `The vault refused the inventory: ${error.message}`.slice(0, 4096) },
      };
    }
  }
}
