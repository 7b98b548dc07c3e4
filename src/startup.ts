import { ConfigError, StartupError } from './config.ts';

/** Where the README's quick start gets PostgreSQL and Redis from, for the lines below. */
const HOW_TO_START =
  'start them with `docker compose up -d postgres redis` (or the postgresql and redis-server system packages)';

/** Hides a password in a URL shown to the operator. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** PostgreSQL or Redis cannot be reached at start: one line naming the setting and how to start them. */
export function unreachable(what: 'PostgreSQL' | 'Redis', setting: string, url: string, cause: unknown): StartupError {
  const reason = (cause as Error | undefined)?.message ?? String(cause);
  return new StartupError(
    `cannot reach ${what} at ${redactUrl(url)} (${setting}): ${reason} — ${HOW_TO_START}, or set ${setting}`,
    { cause },
  );
}

/** A listen that failed on a taken port: one line naming the port and its setting. */
export function listenFailure(error: unknown, port: number, setting: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE')
    return new StartupError(
      `port ${port} is already in use (${setting}): another recovery-vault (npm start, npm run demo) or another program holds it — stop it, or set ${setting} to a free port (0 picks one)`,
      { cause: error },
    );
  if (code === 'EACCES')
    return new StartupError(`port ${port} is not allowed for this user (${setting}): choose a port above 1023`, {
      cause: error,
    });
  return error;
}

/** Ends the process on an error the operator can fix (one line on stderr, exit code 2); rethrows anything else. */
export function exitOnStartupFailure(error: unknown): never {
  if (error instanceof ConfigError || error instanceof StartupError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
