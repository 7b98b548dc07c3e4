/**
 * What the reference agent's coordinator (the protocol side) keeps on disk under the state directory, so that it
 * survives a restart: its registration (container, agent token, vault), the commands it has received and applied,
 * with their results, the policies of the databases it protects, and the backups it is streaming (what each one
 * backs up and as of when, so that a restarted agent regenerates exactly the same bytes and resumes the upload).
 *
 * One JSON file, `coordinator.json`, written atomically (a temporary file in the same directory, flushed, then
 * renamed over the old one) and readable by its owner only (it holds the agent token). The simulated SQL Server's
 * state (databases, backup chains) lives beside it in `agent-state.json` (src/agent/simulation/state.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupType, Command, CommandResult } from '../protocol/agent.ts';
import type { BackupRequest } from './simulation/backup.ts';

export const COORDINATOR_STATE_FILE = 'coordinator.json';
export const COORDINATOR_STATE_VERSION = 1;
/** How many applied commands the state remembers (the oldest are forgotten first). */
export const APPLIED_COMMANDS_KEPT = 256;

export interface AgentRegistration {
  /** The service the registration was made with. */
  serverUrl: string;
  vaultId: string;
  vaultName: string;
  containerName: string;
  vmResourceId: string;
  vmName: string;
  resourceGroup: string;
  os: string;
  agentToken: string;
  tokenExpiresAt: string;
  heartbeatIntervalSeconds: number;
  commandWaitSeconds: number;
  registeredAt: string;
}

/** A command received and acknowledged but not yet applied (the agent stopped meanwhile): applied on restart. */
export interface ReceivedCommand {
  command: Command;
  receivedAt: string;
}

/** A command applied once; its result is re-sent, not re-applied, when the command comes again. */
export interface AppliedCommand {
  id: string;
  type: string;
  appliedAt: string;
  result: CommandResult;
  /** Whether the vault has the result (false: re-sent at the next opportunity). */
  resultReported: boolean;
}

/** A database the vault protects, with the policy the agent caches (from `configure` commands). */
export interface Protection {
  itemName: string;
  policy: object;
  configuredAt: string;
}

/**
 * A backup being streamed, saved before its first byte goes out: the simulation's request (database, type, time and
 * chain position) regenerates the identical stream after a restart, so the upload resumes where the vault stands.
 */
export interface BackupInProgress {
  backupId: string;
  commandId: string;
  itemName: string;
  backupType: BackupType;
  instanceName: string;
  databaseName: string;
  /** The incarnation backed up: a database recreated meanwhile is another one. */
  databaseGuid: string;
  /** How many blocks may be on their way at once (the vault's word; absent in states saved before it said). */
  blocksInFlight?: number;
  request: BackupRequest;
  plannedAt: string;
  /** Set once every block is in the vault: the stream's size, digest and block count (SQL Server's BACKUP finished). */
  streamed?: { sizeBytes: number; sha256: string; blockCount: number };
  /** Whether the simulated SQL Server recorded the backup in its history (chain moved). */
  recorded?: boolean;
}

export interface CoordinatorState {
  version: typeof COORDINATOR_STATE_VERSION;
  registration: AgentRegistration | null;
  received: ReceivedCommand[];
  applied: AppliedCommand[];
  /** By lower-case item name (`sqldatabase;<instance>;<db>`). */
  protections: Record<string, Protection>;
  /** Backups under way, by backupId (gone once the command has its result). */
  backups: Record<string, BackupInProgress>;
}

export const emptyState = (): CoordinatorState => ({
  version: COORDINATOR_STATE_VERSION,
  registration: null,
  received: [],
  applied: [],
  protections: {},
  backups: {},
});

export class CoordinatorStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CoordinatorStateError';
  }
}

export class CoordinatorStore {
  readonly file: string;
  /** Writes happen one after another, in call order. */
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {
    this.file = join(dir, COORDINATOR_STATE_FILE);
  }

  /** The state on disk; an empty state when there is none yet. Throws CoordinatorStateError when the file is unreadable. */
  load(): CoordinatorState {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw new CoordinatorStateError(`cannot read ${this.file}: ${(error as Error).message}`);
    }
    let json: Partial<CoordinatorState>;
    try {
      json = JSON.parse(text) as Partial<CoordinatorState>;
    } catch (error) {
      throw new CoordinatorStateError(
        `${this.file} is not JSON (${(error as Error).message}); move it away to start afresh`,
      );
    }
    if (json.version !== COORDINATOR_STATE_VERSION)
      throw new CoordinatorStateError(
        `${this.file} has version ${String(json.version)}; this agent reads version ${COORDINATOR_STATE_VERSION}`,
      );
    return {
      version: COORDINATOR_STATE_VERSION,
      registration: json.registration ?? null,
      received: Array.isArray(json.received) ? json.received : [],
      applied: Array.isArray(json.applied) ? json.applied : [],
      protections: json.protections !== null && typeof json.protections === 'object' ? json.protections : {},
      backups: json.backups !== null && typeof json.backups === 'object' ? json.backups : {},
    };
  }

  /** Saves a snapshot of `state` atomically. */
  save(state: CoordinatorState): Promise<void> {
    const text = `${JSON.stringify({ ...state, applied: state.applied.slice(-APPLIED_COMMANDS_KEPT) }, null, 2)}\n`;
    const next = this.writing.then(() => this.write(text));
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async write(text: string): Promise<void> {
    const temp = join(this.dir, `.${COORDINATOR_STATE_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }
}
