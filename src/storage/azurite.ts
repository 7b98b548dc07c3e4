import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface EmbeddedAzurite {
  connectionString: string;
  stop(): Promise<void>;
}

const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** The well-known development-storage connection string for an Azurite blob endpoint. */
export function azuriteConnectionString(blobEndpoint: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${ACCOUNT_KEY};BlobEndpoint=${blobEndpoint}/devstoreaccount1;`;
}

/**
 * Run in the child before Azurite's own entry point (argv[1]): the child ends when its stdin reaches end of file,
 * which happens when the parent ends however it ends — the kernel closes the parent's end of the pipe even after a
 * SIGKILL or a crash — so an embedded Azurite never outlives the service and keeps its port.
 */
const TIED_TO_PARENT = `process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();
require(process.argv[1]);`;

/**
 * Starts Azurite's blob service as a child process on loopback (blob only, no telemetry), tied to this process (it
 * exits when this one does). The API version check is skipped so that a newer @azure/storage-blob cannot break the
 * emulator. `port: 0` picks a free port. A port in use rejects with an error whose `code` is EADDRINUSE.
 */
export async function startAzurite(options: {
  port: number;
  location?: string;
  timeoutMs?: number;
}): Promise<EmbeddedAzurite> {
  const main = join(dirname(createRequire(import.meta.url).resolve('azurite/package.json')), 'dist/src/blob/main.js');
  const args = [
    main,
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    String(options.port),
    '--disableTelemetry',
    '--silent',
    '--skipApiVersionCheck',
    '--loose',
  ];
  if (options.location === undefined) {
    args.push('--inMemoryPersistence');
  } else {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  }
  const child = spawn(process.execPath, ['-e', TIED_TO_PARENT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const endpoint = await waitForEndpoint(child, options.timeoutMs ?? 30_000);
  return {
    connectionString: azuriteConnectionString(endpoint),
    stop: () => stopChild(child),
  };
}

function waitForEndpoint(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`Azurite did not start within ${timeoutMs} ms: ${output.trim()}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /successfully listens on (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) {
        cleanup();
        resolve(match[1]);
      }
    };
    const onExit = (code: number | null) =>
      fail(
        Object.assign(new Error(`Azurite exited with code ${code}: ${output.trim()}`), {
          code: /EADDRINUSE/.test(output) ? 'EADDRINUSE' : undefined,
        }),
      );
    const fail = (error: Error) => {
      cleanup();
      child.kill('SIGKILL');
      reject(error);
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining so a chatty child never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
