import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ownDatabase } from './support/databases.ts';

/** `npm run demo -- --exit`, as a user runs it: the whole flow ends with a proven point-in-time restore. */
describe('the demo', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rv-demo-'));
  const database = ownDatabase('recovery_vault_demo');
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await database.drop();
  });

  it('plays discovery, protection, two simulated days and a restore it proves, then exits 0', async () => {
    const child = spawn('npm', ['run', '--silent', 'demo', '--', '--exit'], {
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: '',
        RV_DATA_DIR: dataDir,
        RV_DEMO_DATABASE: database.name,
        DATABASE_URL: inject('databaseUrl'),
        RV_HTTPS_PORT: '0',
        RV_HTTP_PORT: '0',
        RV_QUEUE_PREFIX: `rv-demo-${randomUUID()}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, output).toBe(0);
    expect(output).toMatch(/REPORTING\s*│ reports\s*│ not discovered: UserErrorSQLNoSysadminMembership/);
    expect(output).toMatch(/PROVEN: the restored database equals sales at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z/);
    const [, restored, source] =
      /SHA-256 of the restored database\s*│ ([0-9a-f]{64}).*\n.*\n.*SHA-256 of the source at that second\s*│ ([0-9a-f]{64})/.exec(
        output,
      ) ?? [];
    expect(restored).toMatch(/^[0-9a-f]{64}$/);
    expect(restored).toBe(source);
  }, 180_000);
});
