import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { RequestListener, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config.ts';
import type { TlsMaterial } from './tls.ts';
import configPlugin from './plugins/config.ts';
import clock from './plugins/clock.ts';
import errorsPlugin, { clientErrorHandler, frameworkErrors } from './plugins/errors.ts';
import validation from './plugins/validation.ts';
import requestIds from './plugins/request-ids.ts';
import openapi from './plugins/openapi.ts';
import serializationCheck from './plugins/serialization-check.ts';
import largeBodies from './plugins/large-bodies.ts';
import db from './plugins/db.ts';
import queues from './plugins/queues.ts';
import faults from './plugins/faults.ts';
import portalEvents from './plugins/portal-events.ts';
import blobStore from './plugins/blob-store.ts';
import auth from './plugins/auth.ts';
import operations from './plugins/operations.ts';
import agentCommands from './plugins/agent-commands.ts';
import workers from './plugins/workers.ts';
import healthRoutes from './routes/health.ts';
import identityRoutes from './routes/identity/index.ts';
import subscriptionRoutes from './routes/identity/subscriptions.ts';
import metadataRoutes from './routes/identity/metadata.ts';
import armRoutes from './routes/arm/index.ts';
import portalRoutes from './routes/portal/index.ts';
import agentRoutes from './routes/agent/index.ts';
import emulatorRoutes from './routes/emulator/index.ts';
import consoleAssets from './plugins/console.ts';

export interface BuildOptions {
  /** Serve HTTPS with this certificate (the server also listens on plain HTTP; see server.ts). */
  tls?: TlsMaterial;
  logger?: FastifyServerOptions['logger'];
}

/** Builds the service: plugins once, then routes. Used by src/server.ts, src/worker.ts and the tests. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: config.bodyLimitBytes,
    forceCloseConnections: 'idle',
    // Migrations at start may take longer than Fastify's 10 s per plugin on a large database or a loaded host; what
    // cannot be reached fails fast on its own (see startup.ts).
    pluginTimeout: 120_000,
    // What Node's parser or Fastify's router refuse is answered in ARM's error shape too.
    clientErrorHandler,
    frameworkErrors,
    ...(options.tls === undefined
      ? {}
      : { listenTextResolver: (address: string) => `HTTPS listening at ${address.replace(/^http:/, 'https:')}` }),
    // ARM paths and names are case-insensitive. (Fastify 5 no longer treats `;` as a query delimiter, which
    // names such as VMAppContainer;Compute;rg;vm rely on.)
    routerOptions: { caseSensitive: false, maxParamLength: 1024 },
    ...(options.tls === undefined
      ? {}
      : {
          serverFactory: (handler: RequestListener) =>
            createHttpsServer({ cert: options.tls?.cert, key: options.tls?.key }, handler) as unknown as Server,
        }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(configPlugin, { config });
  await app.register(errorsPlugin);
  await app.register(validation);
  await app.register(requestIds);
  await app.register(serializationCheck);
  await app.register(largeBodies);
  await app.register(openapi);
  await app.register(db);
  await app.register(queues);
  await app.register(portalEvents);
  await app.register(clock);
  await app.register(faults);
  await app.register(blobStore);
  await app.register(auth);
  await app.register(operations);
  await app.register(agentCommands);
  await app.register(workers);

  await app.register(healthRoutes);
  await app.register(identityRoutes);
  await app.register(subscriptionRoutes);
  await app.register(metadataRoutes);
  await app.register(armRoutes);
  await app.register(portalRoutes);
  await app.register(agentRoutes);
  await app.register(emulatorRoutes);
  await app.register(consoleAssets);
  return app as unknown as FastifyInstance;
}
