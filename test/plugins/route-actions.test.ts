import { rmSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { testConfig } from '../support/server.ts';

/** A route that forgot its RBAC action must stop the service from starting, not answer 500 when first called. */
describe('management routes declare their RBAC action', () => {
  let app: FastifyInstance | undefined;
  let dataDir: string | undefined;
  afterEach(async () => {
    await app?.close().catch(() => undefined);
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    app = dataDir = undefined;
  });

  const build = async () => {
    const built = testConfig({ RV_WORKERS: 'false' });
    dataDir = built.dataDir;
    app = await buildApp(built.config, { logger: false });
    return app;
  };

  it('refuses at start-up a management route without an action, naming it', async () => {
    const service = await build();
    const startUp = async () => {
      await service.register(async (scope) => {
        service.authorizeRoutes(scope);
        scope.get('/subscriptions/:subscriptionId/forgotten', { config: {} }, async () => ({ ok: true }));
      });
      await service.ready();
    };
    await expect(startUp()).rejects.toThrow(
      'route GET /subscriptions/:subscriptionId/forgotten declares no RBAC action (config.action)',
    );
  });

  it('starts with the same route when it declares its action', async () => {
    const service = await build();
    await service.register(async (scope) => {
      service.authorizeRoutes(scope);
      scope.get(
        '/subscriptions/:subscriptionId/remembered',
        { config: { action: 'Microsoft.RecoveryServices/vaults/read' } },
        async () => ({ ok: true }),
      );
    });
    await service.ready();
    const answer = await service.inject({
      method: 'GET',
      url: '/subscriptions/00000000-0000-0000-0000-000000000000/remembered',
    });
    expect(answer.statusCode).toBe(401);
  });
});
