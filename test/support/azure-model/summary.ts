import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Problem } from './check.ts';

interface FileResult {
  file: string;
  responses: number;
  operations: string[];
  problems: Problem[];
}

/** The whole run's model check, from what each test file left in the directory: one line, plus each problem. */
export function modelCheckSummary(directory: string): { text: string; problems: number } {
  const results = readdirSync(directory).map(
    (name) => JSON.parse(readFileSync(join(directory, name), 'utf8')) as FileResult,
  );
  const problems = results.flatMap((r) => r.problems);
  const count = (kind: Problem['kind']) => problems.filter((p) => p.kind === kind).length;
  const operations = new Set(results.flatMap((r) => r.operations));
  const text = [
    `Azure model check: ${results.reduce((n, r) => n + r.responses, 0)} SDK responses of ${operations.size} operations in ${results.length} test files —` +
      ` ${count('unknown property')} unknown properties, ${count('type mismatch')} type mismatches,` +
      ` ${count('missing required property')} missing required properties,` +
      ` ${count('unknown discriminator value')} unknown discriminator values, ${count('unmodelled response')} unmodelled responses`,
    ...problems.map((p) => `  ${p.kind}: ${p.at} — ${p.detail}`),
  ].join('\n');
  return { text, problems: problems.length };
}
