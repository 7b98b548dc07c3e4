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

  it('plays discovery, protection, two simulated days, an availability group failover and restores it proves, then exits 0', async () => {
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
    // The availability group: Full on the primary, logs on the secondary, a failover between two logs, after which
    // the logs run on the other node; the restore to a second after the failover is proven too.
    expect(output).toMatch(/Full \(22:00\)\s*│ sqlvm1\s/);
    expect(output).toMatch(/logs \(23:00, 00:00\)\s*│ sqlvm2\s/);
    expect(output).toMatch(/failover at \S+\s*│ primary now sqlvm2/);
    expect(output).toMatch(/log \(01:00\)\s*│ sqlvm1\s/);
    expect(output).toMatch(/PROVEN: the restored database equals orders at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z/);
    const proofs = [
      ...output.matchAll(
        /SHA-256 of the restored database\s*│ ([0-9a-f]{64}).*\n.*\n.*SHA-256 of the source at that second\s*│ ([0-9a-f]{64})/g,
      ),
    ];
    expect(proofs.map(([, restored]) => restored)).toHaveLength(2);
    for (const [, restored, source] of proofs) expect(restored).toBe(source);
  }, 180_000);
});
