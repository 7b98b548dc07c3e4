import { createServer } from 'node:http';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { loadConfig, type Config } from './config.ts';
import { clientErrorHandler } from './plugins/errors.ts';
import { exitOnStartupFailure, listenFailure } from './startup.ts';
import { loadOrCreateCertificate, type TlsMaterial } from './tls.ts';

export interface RunningServer {
  app: FastifyInstance;
  httpsUrl: string;
  httpUrl: string;
  certificate: TlsMaterial;
  close(): Promise<void>;
}

/**
 * Starts the service: HTTPS (what the Azure SDKs need) and plain HTTP on the same app, workers included unless
 * RV_WORKERS=false. Prints the certificate and the NODE_EXTRA_CA_CERTS line a client needs.
 */
export async function startServer(config: Config): Promise<RunningServer> {
  const tls = await loadOrCreateCertificate(config);
  const app = await buildApp(config, { tls });
  const http = createServer((request, response) => app.routing(request, response));
  http.on('clientError', clientErrorHandler);
  try {
    await app
      .listen({ host: config.host, port: config.httpsPort })
      .catch((error: unknown) => Promise.reject(listenFailure(error, config.httpsPort, 'RV_HTTPS_PORT')));
    await new Promise<void>((resolve, reject) => {
      http.once('error', (error) => reject(listenFailure(error, config.httpPort, 'RV_HTTP_PORT')));
      http.listen(config.httpPort, config.host, () => resolve());
    });
  } catch (error) {
    // What started (workers, an embedded Azurite, connections) stops before the error is told.
    http.close();
    await app.close();
    throw error;
  }
  const httpsPort = (app.server.address() as { port: number }).port;
  const httpPort = (http.address() as { port: number }).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host === '127.0.0.1' ? 'localhost' : config.host;
  const running: RunningServer = {
    app,
    certificate: tls,
    httpsUrl: `https://${host}:${httpsPort}`,
    httpUrl: `http://${host}:${httpPort}`,
    async close() {
      http.closeIdleConnections();
      await Promise.all([new Promise((resolve) => http.close(resolve)), app.close()]);
    },
  };
  app.log.info(
    { https: running.httpsUrl, http: running.httpUrl, certificate: tls.certFile },
    'recovery-vault is listening',
  );
  return running;
}

export async function main(): Promise<void> {
  let server: RunningServer;
  try {
    server = await startServer(loadConfig());
  } catch (error) {
    exitOnStartupFailure(error);
  }
  const { certFile, generated } = server.certificate;
  process.stdout.write(
    `recovery-vault: ${server.httpsUrl} (HTTPS), ${server.httpUrl} (HTTP)\n` +
      `TLS certificate: ${certFile}${generated ? ' (generated now)' : ''}\n` +
      `Trust it in Node clients with: NODE_EXTRA_CA_CERTS=${certFile}\n` +
      `A token for the development principal: npx recovery-vault token\n`,
  );
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err !== undefined) server.app.log.error({ err }, 'shutting down after an error');
    else server.app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    await server.close();
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
}
