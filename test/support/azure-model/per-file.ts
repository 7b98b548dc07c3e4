import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, inject } from 'vitest';
import { checkExchanges, exchanges } from './traffic.ts';

/**
 * A setup file: after each test file, every response its official SDK clients received is checked against the
 * SDKs' own model (the file fails on any problem, named by operation, status and JSON path), and the result is
 * left in the run's directory for the suite's total (printed by the global setup's teardown).
 */
afterAll(async () => {
  if (exchanges.length === 0) return;
  const result = await checkExchanges(exchanges);
  const file = expect.getState().testPath ?? 'unknown';
  writeFileSync(join(inject('modelCheckDir'), `${randomUUID()}.json`), JSON.stringify({ file, ...result }));
  const lines = result.problems.map((p) => `${p.kind}: ${p.at} — ${p.detail}`);
  expect(lines, `responses that drift from Azure's model (${result.responses} checked)`).toEqual([]);
});
