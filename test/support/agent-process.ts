import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

/** The repository root (vitest runs from it), where `src/agent/cli.ts` and tsx live. */
const root = process.cwd();
const CLI = join(root, 'src', 'agent', 'cli.ts');

/** Node + tsx running the agent CLI from source, in one process (so a signal reaches the agent itself). */
export function agentCommand(args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', 'tsx', CLI, ...args] };
}

export interface AgentProcessOptions {
  /** --server (omitted: the credentials file's serviceUrl). */
  serverUrl?: string;
  credentialsFile: string;
  specFile: string;
  /** --state-dir (omitted: the CLI's default, beside the spec file). */
  stateDir?: string;
  /** --ca */
  caFile?: string;
  /** --verbose: heartbeats are logged too. */
  verbose?: boolean;
  /** More arguments, appended. */
  args?: string[];
  /** Environment on top of this process's (a value of undefined removes the variable). */
  env?: Record<string, string | undefined>;
}

export interface AgentProcess {
  process: ChildProcess;
  /** Every line so far, stdout and stderr interleaved as they arrived. */
  lines: string[];
  stdout: string[];
  stderr: string[];
  /** Resolves with the first line (seen already or to come) matching `pattern`; rejects on timeout or exit. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The exit code once the process has exited (null when a signal ended it). */
  exited: Promise<number | null>;
  /** SIGTERM, then resolves with the exit code (the agent stops gracefully). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL: the agent dies on the spot (a crash). */
  kill(): void;
}

export function agentArguments(options: AgentProcessOptions): string[] {
  return [
    ...(options.serverUrl === undefined ? [] : ['--server', options.serverUrl]),
    '--credentials',
    options.credentialsFile,
    '--spec',
    options.specFile,
    ...(options.stateDir === undefined ? [] : ['--state-dir', options.stateDir]),
    ...(options.caFile === undefined ? [] : ['--ca', options.caFile]),
    ...(options.verbose === true ? ['--verbose'] : []),
    ...(options.args ?? []),
  ];
}

function environment(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Starts the reference agent CLI as a real child process (from source, through tsx). */
export function spawnAgent(options: AgentProcessOptions): AgentProcess {
  return spawnAgentWith(agentArguments(options), options.env);
}

/** Starts the agent CLI with exactly these arguments. */
export function spawnAgentWith(args: string[], env?: Record<string, string | undefined>): AgentProcess {
  const { command, args: argv } = agentCommand(args);
  const child = spawn(command, argv, { cwd: root, env: environment(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const stdout: string[] = [];
  const stderr: string[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  const collect = (stream: NodeJS.ReadableStream, into: string[]) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        into.push(line);
      }
      if (parts.length > 0) notify();
    });
    stream.on('end', () => {
      if (partial !== '') {
        lines.push(partial);
        into.push(partial);
        partial = '';
        notify();
      }
    });
  };
  collect(child.stdout, stdout);
  collect(child.stderr, stderr);

  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      exitCode = code;
      resolve(code);
      notify();
    });
  });

  const waitForLine = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      let seen = 0;
      const check = () => {
        for (; seen < lines.length; seen++) {
          const line = lines[seen] as string;
          if (pattern.test(line)) {
            done();
            resolve(line);
            return;
          }
        }
        if (exitCode !== undefined) {
          done();
          reject(
            new Error(
              `the agent exited (${String(exitCode)}) before printing a line matching ${pattern}; it printed:\n${lines.join('\n')}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`no line matching ${pattern} within ${timeoutMs} ms; the agent printed:\n${lines.join('\n')}`),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  return {
    process: child,
    lines,
    stdout,
    stderr,
    waitForLine,
    exited,
    async stop(timeoutMs = 20_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill() {
      if (exitCode === undefined) child.kill('SIGKILL');
    },
  };
}

/** Runs the agent CLI to completion (for argument errors and the like). */
export function runAgent(
  args: string[],
  env?: Record<string, string | undefined>,
  timeoutMs = 30_000,
): SpawnSyncReturns<string> {
  const { command, args: argv } = agentCommand(args);
  return spawnSync(command, argv, { cwd: root, env: environment(env), encoding: 'utf8', timeout: timeoutMs });
}

/** A vault's registration credentials (`POST {vault}/backupRegistrationCredentials`; no SDK call exists), as the file holds them. */
export async function fetchVaultCredentials(
  baseUrl: string,
  token: string,
  vaultArmId: string,
): Promise<Record<string, string>> {
  const response = await fetch(`${baseUrl}${vaultArmId}/backupRegistrationCredentials?api-version=2023-06-01`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new Error(`backupRegistrationCredentials: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { properties: Record<string, string> }).properties;
}
