/**
 * The reference agent's `restore` command (the SQL plugin's side of restore streaming, src/protocol/agent.ts):
 *
 * - Database: the parts (Full or CopyOnlyFull, optional Differential, Logs) are read one after the other from the
 *   vault, each checked against the SHA-256 the command names while it streams, and applied by the simulation up to
 *   the point in time (src/agent/simulation/restore.ts) into a new image; only when every part verified does the
 *   restored database replace the target (or appear, for a new name). A target that exists fails with
 *   `UserErrorCannotRestoreExistingDBWithoutForceOverwrite` unless the request said Overwrite.
 * - Files: the verified backup files and a manifest (with the T-SQL to restore them) are written into the target
 *   directory. The VM's Windows paths (`F:\restore`) map to `<filesRoot>/F/restore` on the simulated VM.
 * - Failures: a part the vault refuses (4xx) fails with the vault's code; a stream that breaks off is explained by the
 *   vault (GET restores/{id}: a block that failed verification there) or, when the vault knows of no failure, read
 *   again from the start (a restore changes nothing until it completes, so repeating it is safe), up to three times.
 *   Then the error goes to the command machinery, which applies the command again later.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import type { Command, CommandResult, RestoreCommandPayload } from '../protocol/agent.ts';
import { AgentApiError, isAbort, isRetryable, type ContainerClient } from './client.ts';
import { restoreAsFiles, restoreDatabase, type RestorePart } from './simulation/restore.ts';
import { SimulationError } from './simulation/errors.ts';
import { addRestoredDatabase, type AgentStateStore, findDatabase } from './simulation/state.ts';

export type RestoreEvent = 'restoreStarted' | 'restoreCompleted' | 'restoreFailed' | 'restoreRetry';

export interface RestoreContext {
  session(): ContainerClient;
  simulation: AgentStateStore;
  /** The SQL instances of the simulated VM (a restore into an unknown instance fails). */
  instanceNames(): Promise<string[]>;
  /** Where the VM's drives are (restore as files). */
  filesRoot: string;
  stateDir: string;
  now(): Date;
  log(level: 'info' | 'warn', event: RestoreEvent, message: string, data?: Record<string, unknown>): void;
  /** Hard stop: the read in flight is aborted (the command is applied again after a restart). */
  kill: AbortSignal;
}

const ATTEMPTS = 3;
const EXISTS = 'UserErrorCannotRestoreExistingDBWithoutForceOverwrite';
const failed = (code: string, message: string): CommandResult => ({
  status: 'Failed',
  error: { code, message: message.slice(0, 4096) },
});

/** Passes a part through while hashing it; at its end the length and SHA-256 must be what the vault recorded. */
class VerifiedPart extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;

  constructor(private readonly part: RestoreCommandPayload['parts'][number]) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const sha256 = this.hash.digest('hex');
    if (this.bytes !== this.part.sizeBytes || sha256 !== this.part.sha256) {
      callback(
        new SimulationError(
          'CorruptBackupStream',
          `part ${this.part.index + 1} (${this.part.backupType} ${this.part.recoveryPointId}) arrived as ${this.bytes} bytes with SHA-256 ${sha256}; the vault recorded ${this.part.sizeBytes} bytes, ${this.part.sha256}`,
        ),
      );
      return;
    }
    callback();
  }
}

/** `F:\restore\db1` → `<root>/F/restore/db1`; anything that could leave the root is refused. */
export function vmPath(root: string, windowsPath: string): string {
  const segments = windowsPath
    .replace(/^([A-Za-z]):/, '$1')
    .split(/[\\/]+/)
    .filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.includes('..')) {
    throw new SimulationError(
      'InvalidRequest',
      `'${windowsPath}' is not a directory path on the VM (expected a drive path such as F:\\restore)`,
    );
  }
  return join(root, ...segments);
}

function payloadOf(command: Command): RestoreCommandPayload | undefined {
  const p = command.payload as Partial<RestoreCommandPayload>;
  const ok =
    typeof p.restoreId === 'string' &&
    (p.mode === 'Database' || p.mode === 'Files') &&
    Array.isArray(p.parts) &&
    p.parts.length > 0 &&
    typeof p.target === 'object' &&
    p.target !== null &&
    typeof p.source === 'object' &&
    p.source !== null;
  return ok ? (p as RestoreCommandPayload) : undefined;
}

export async function runRestore(context: RestoreContext, command: Command): Promise<CommandResult> {
  const payload = payloadOf(command);
  if (payload === undefined)
    return failed(
      'UserErrorInvalidCommand',
      'A restore command needs restoreId, mode, source, target and at least one part.',
    );
  const { target } = payload;
  const what =
    payload.mode === 'Files'
      ? `as files into ${target.directory ?? '?'}`
      : `into ${target.instanceName ?? '?'}/${target.databaseName ?? '?'}`;
  const at =
    payload.pointInTime === undefined ? `recovery point ${payload.parts[0]!.recoveryPointId}` : payload.pointInTime;
  context.log(
    'info',
    'restoreStarted',
    `restore of ${payload.source.databaseName} (${at}, ${payload.parts.length} backups) ${what} started`,
    { restoreId: payload.restoreId },
  );

  let refusal: CommandResult | undefined;
  if (payload.mode === 'Database') refusal = await checkTarget(context, payload);
  if (refusal !== undefined) return report(context, payload, refusal);

  for (let attempt = 1; ; attempt++) {
    try {
      return report(context, payload, await apply(context, payload));
    } catch (error) {
      if (isAbort(error)) throw error;
      const explained = await vaultFailure(context, payload.restoreId);
      if (explained !== undefined) return report(context, payload, explained);
      if (error instanceof AgentApiError && !isRetryable(error))
        return report(
          context,
          payload,
          failed(error.code, `The vault refused a part of the restore: ${error.message}`),
        );
      if (error instanceof SimulationError && error.code !== 'CorruptBackupStream')
        return report(context, payload, failed(error.code, error.message));
      if (attempt >= ATTEMPTS) {
        if (error instanceof SimulationError)
          return report(context, payload, failed('UserErrorRecoveryPointIntegrityCheckFailed', error.message));
        throw error;
      }
      context.log(
        'warn',
        'restoreRetry',
        `restore ${payload.restoreId.slice(0, 8)} interrupted (${(error as Error).message}); reading it again (attempt ${attempt + 1} of ${ATTEMPTS})`,
      );
    }
  }
}

async function checkTarget(
  context: RestoreContext,
  payload: RestoreCommandPayload,
): Promise<CommandResult | undefined> {
  const { instanceName, databaseName, overwrite } = payload.target;
  if (instanceName === undefined || databaseName === undefined)
    return failed('UserErrorInvalidCommand', 'A database restore names its target instance and database.');
  const instances = await context.instanceNames();
  if (!instances.some((i) => i.toLowerCase() === instanceName.toLowerCase())) {
    return failed('UserErrorTargetInstanceNotFound', `The SQL instance '${instanceName}' does not exist on this VM.`);
  }
  if (findDatabase(context.simulation.state, instanceName, databaseName) !== undefined && overwrite !== 'Overwrite') {
    return failed(
      EXISTS,
      `Database with same name already exists at the target location (${instanceName}/${databaseName}). Restore with overwriteOption Overwrite, or to another name.`,
    );
  }
  return undefined;
}

function parts(context: RestoreContext, payload: RestoreCommandPayload): RestorePart[] {
  return payload.parts.map((part) => async () => {
    const { body } = await context.session().restorePart(payload.restoreId, part.index, context.kill);
    // pipeline, not pipe: a stream the vault cuts short must fail the part, not leave the reader waiting for its end.
    return pipeline(body, new VerifiedPart(part), () => {});
  });
}

async function apply(context: RestoreContext, payload: RestoreCommandPayload): Promise<CommandResult> {
  const stopAt = payload.pointInTime;
  if (payload.mode === 'Files') {
    const directory = vmPath(context.filesRoot, payload.target.directory ?? '');
    const done = await restoreAsFiles({
      parts: parts(context, payload),
      targetDir: directory,
      databaseName: payload.source.databaseName,
      ...(stopAt === undefined ? {} : { stopAt }),
    });
    return {
      status: 'Succeeded',
      result: {
        directory: payload.target.directory,
        localDirectory: directory,
        manifest: done.manifestPath,
        files: done.manifest.files.map((f) => f.fileName),
      },
    };
  }
  const instanceName = payload.target.instanceName as string;
  const name = payload.target.databaseName as string;
  const store = context.simulation;
  const restored = await restoreDatabase({
    parts: parts(context, payload),
    targetDir: store.imagesDir,
    ...(stopAt === undefined ? {} : { stopAt }),
  });
  const restoredAt = context.now();
  await store.update((draft) => {
    const existing = findDatabase(draft, instanceName, name);
    addRestoredDatabase(draft, {
      instanceName,
      name,
      restore: restored,
      restoredAt,
      overwrite: existing !== undefined,
      stateDir: context.stateDir,
    });
  });
  return {
    status: 'Succeeded',
    result: {
      instanceName,
      databaseName: name,
      sha256: restored.sha256,
      pointInTime: restored.pointInTime,
      restoredLsn: restored.restoredLsn,
      backupsApplied: restored.parts.length,
    },
  };
}

/** A restore the vault already failed (a block failed its verification there): its code explains the cut stream. */
async function vaultFailure(context: RestoreContext, restoreId: string): Promise<CommandResult | undefined> {
  try {
    const state = await context.session().restoreState(restoreId, context.kill);
    return state.state === 'Failed' && state.error !== undefined
      ? failed(state.error.code, state.error.message)
      : undefined;
  } catch (error) {
    if (isAbort(error)) throw error;
    return undefined;
  }
}

function report(context: RestoreContext, payload: RestoreCommandPayload, result: CommandResult): CommandResult {
  if (result.status === 'Succeeded') {
    context.log(
      'info',
      'restoreCompleted',
      `restore ${payload.restoreId.slice(0, 8)} of ${payload.source.databaseName} completed`,
      { restoreId: payload.restoreId, ...result.result },
    );
  } else {
    context.log(
      'warn',
      'restoreFailed',
      `restore ${payload.restoreId.slice(0, 8)} of ${payload.source.databaseName} failed: ${result.error?.code}: ${result.error?.message}`,
      { restoreId: payload.restoreId },
    );
  }
  return result;
}
