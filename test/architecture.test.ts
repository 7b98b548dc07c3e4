import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

/** The import rules of docs/architecture.md, as .dependency-cruiser.cjs states them, over the real source tree. */

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

async function violations(...paths: string[]): Promise<Violation[]> {
  // depcruise exits non-zero when it finds violations; its JSON report is what matters.
  const { stdout } = await promisify(execFile)('node_modules/.bin/depcruise', [...paths, '--output-type', 'json'], {
    maxBuffer: 64 * 1024 * 1024,
  }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

const planted: string[] = [];
afterAll(() => planted.forEach((file) => rmSync(file, { force: true })));

/** A throw-away module in `dir` with the given source, removed after the file's tests whatever happens. */
function plant(dir: string, source: string, name = `planted-${randomUUID()}`): string {
  const file = `${dir}/${name}.ts`;
  planted.push(file);
  writeFileSync(file, source);
  return file;
}

describe('import direction', () => {
  it('the source tree breaks no rule', async () => {
    expect(await violations('src')).toEqual([]);
  });

  it("each of today's rules refuses an import put back where it was broken", async () => {
    const cases: Array<[dir: string, target: string, rule: string]> = [
      ['src/domain', '../routes/health.ts', 'nothing-imports-routes'],
      ['src/services', '../routes/arm/vaults.ts', 'nothing-imports-routes'],
      ['src/services', '../routes/arm/vault-config.ts', 'nothing-imports-routes'],
      ['src/jobs', '../routes/agent/index.ts', 'nothing-imports-routes'],
      ['src/domain', '../services/alerts.ts', 'domain-is-pure'],
      ['src/domain', '../generated/prisma/client.ts', 'domain-is-pure'],
      ['src/domain', 'fastify', 'domain-uses-no-framework'],
      ['src/agent', '../services/backups.ts', 'agent-speaks-only-the-protocol'],
      ['src/agent', '../domain/discovery.ts', 'agent-speaks-only-the-protocol'],
      ['src/protocol', '../domain/errors.ts', 'protocol-stands-alone'],
      ['src/routes/portal', '../arm/views/jobs.ts', 'routes-do-not-import-each-other'],
    ];
    const files = cases.map(([dir, target]) => plant(dir, `import '${target}';\n`));
    const found = await violations(...files);
    cases.forEach(([, target, rule], i) => {
      const names = found.filter((v) => v.from === files[i]).map((v) => v.rule.name);
      expect(names, `${files[i]} importing ${target}`).toContain(rule);
    });
  });

  it('an import circle is refused, type-only imports included', async () => {
    const a = `planted-a-${randomUUID()}`;
    const b = `planted-b-${randomUUID()}`;
    plant('src/jobs', `import type {} from './${b}.ts';\n`, a);
    const file = plant('src/jobs', `import type {} from './${a}.ts';\n`, b);
    expect((await violations(file)).map((v) => v.rule.name)).toContain('no-circular');
  });
});
