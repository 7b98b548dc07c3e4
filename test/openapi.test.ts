import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openapiJson } from '../src/openapi.ts';
import { startTestServer, type TestServer } from './support/server.ts';

describe('the OpenAPI document', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.stop());

  it('is current: openapi/openapi.json equals what the routes generate (run `npm run openapi`)', () => {
    const checkedIn = readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8');
    expect(JSON.parse(checkedIn)).toEqual(JSON.parse(openapiJson(server.app)));
  });

  it('documents every route with a response schema, and the ARM error body', () => {
    const document = server.app.swagger() as {
      paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
    };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(operations.length).toBeGreaterThan(15);
    for (const { path, method, operation } of operations) {
      expect(Object.keys(operation.responses ?? {}), `${method} ${path}`).not.toEqual([]);
    }
    const vaultGet =
      document.paths[
        '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices/vaults/{vaultName}'
      ]?.get;
    expect(vaultGet?.responses).toHaveProperty('4XX');
  });

  it('is served with Swagger UI at /docs', async () => {
    const response = await fetch(`${server.httpsUrl}/docs/json`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { info: { title: string } }).info.title).toBe('recovery-vault');
    expect((await fetch(`${server.httpsUrl}/docs`)).status).toBeLessThan(400);
  });
});
