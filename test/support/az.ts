import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether Microsoft's az CLI is on this machine (`.ci/run` installs Debian's azure-cli when it is not). */
export const azInstalled = spawnSync('az', ['version', '--output', 'none'], { stdio: 'ignore' }).status === 0;

const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];

export interface AzResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (az's default output), or undefined when it is empty or not JSON. */
  json: unknown;
}

/**
 * az with a profile of its own: a scratch AZURE_CONFIG_DIR (profile, token cache), no telemetry, and a CA bundle of
 * the service's certificate plus the system's, as a user would set it up.
 */
export class Az {
  readonly dir = mkdtempSync(join(tmpdir(), 'rv-az-'));
  private readonly env: NodeJS.ProcessEnv;

  constructor(serviceCertFile: string) {
    const system = SYSTEM_BUNDLES.map((file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    }).join('');
    const bundle = join(this.dir, 'ca-bundle.pem');
    writeFileSync(bundle, readFileSync(serviceCertFile, 'utf8') + system);
    this.env = {
      ...process.env,
      AZURE_CONFIG_DIR: join(this.dir, 'config'),
      AZURE_CORE_COLLECT_TELEMETRY: 'false',
      AZURE_CORE_NO_COLOR: 'true',
      AZURE_CORE_ONLY_SHOW_ERRORS: 'true',
      REQUESTS_CA_BUNDLE: bundle,
    };
  }

  /** Runs one az command to its end; never rejects (the exit code is part of the result). */
  run(args: string[], timeoutMs = 120_000): Promise<AzResult> {
    return new Promise((resolve) => {
      execFile(
        'az',
        args,
        { env: this.env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
          let json: unknown;
          try {
            json = stdout.trim() === '' ? undefined : JSON.parse(stdout);
          } catch {
            json = undefined;
          }
          resolve({ code, stdout, stderr, json });
        },
      );
    });
  }

  /** Runs a command that must succeed and returns its JSON output (the failure names the command and az's words). */
  async ok<T = unknown>(args: string[]): Promise<T> {
    const result = await this.run(args);
    if (result.code !== 0)
      throw new Error(`az ${args.join(' ')} exited ${result.code}:\n${result.stderr}\n${result.stdout}`);
    return result.json as T;
  }

  cleanUp() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What a user does first: a cloud registered from the service's metadata alone, a service-principal login. */
export async function signIn(
  az: Az,
  server: { httpsUrl: string; config: { tenantId: string } },
  principal: { clientId: string; clientSecret: string },
): Promise<void> {
  await az.ok(['cloud', 'register', '-n', 'RecoveryVault', '--endpoint-resource-manager', server.httpsUrl]);
  await az.ok(['cloud', 'set', '-n', 'RecoveryVault']);
  await az.ok([
    'login',
    '--service-principal',
    ...['-u', principal.clientId, '--tenant', server.config.tenantId, '-p', principal.clientSecret],
  ]);
}
