import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ErrorResponse } from '../arm/schemas.ts';
import { sharedModels } from '../arm/models/index.ts';

/** The OpenAPI document, built from the routes' schemas; `npm run openapi` writes it to openapi/openapi.json. */
export default fp(
  async (app) => {
    app.addSchema(ErrorResponse);
    for (const model of sharedModels) app.addSchema(model);
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'recovery-vault',
          description:
            'A local emulator of the Azure Recovery Services vault (SQL Server in Azure VM backup): the ARM management API, the portal read models, the agent protocol and the emulator controls.',
          version: '0.1.0',
        },
        components: {
          securitySchemes: {
            bearer: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'JWT',
              description: 'management token (/oauth2/token or an external issuer)',
            },
            agentToken: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'JWT',
              description: 'agent token from /agent/v1/register, valid for one container',
            },
          },
        },
        security: [{ bearer: [] }],
        tags: [
          { name: 'identity', description: 'Built-in token issuer' },
          { name: 'vaults', description: 'Microsoft.RecoveryServices/vaults' },
          {
            name: 'vault configuration',
            description: 'Backup configuration, storage configuration and usage of a vault',
          },
          { name: 'operations', description: 'Asynchronous operation status and results' },
          {
            name: 'containers',
            description: 'VM registration: credentials, refresh, protectable containers, register, unregister, inquire',
          },
          { name: 'discovery', description: 'Protectable items and workload items found by inquiry' },
          { name: 'jobs', description: 'Backup jobs: list, get, cancel' },
          { name: 'policies', description: 'AzureWorkload SQL backup policies' },
          { name: 'protection', description: 'Protected items: configure, modify, stop, delete data, undelete' },
          { name: 'recovery points', description: 'Recovery points and the log range of a protected database' },
          {
            name: 'portal',
            description: 'Read models for a portal backend: vault summary, alerts, backup items, live events (SSE)',
          },
          { name: 'agent', description: 'The agent protocol between a VM (coordinator + SQL plugin) and the vault' },
          {
            name: 'emulator',
            description: 'Emulator controls for CI (RV_EMULATOR_CONTROLS=true): the clock and fault injection',
          },
          { name: 'health', description: 'Liveness and readiness' },
        ],
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'openapi' },
);
