import fp from 'fastify-plugin';
import { join } from 'node:path';
import { RestError, type BlobServiceClient, type RequestPolicyFactory } from '@azure/storage-blob';
import { StartupError } from '../config.ts';
import { startAzurite } from '../storage/azurite.ts';
import { listenFailure } from '../startup.ts';
import { blobServiceClient } from '../storage/blob-client.ts';
import type { Faults } from './faults.ts';

declare module 'fastify' {
  interface FastifyInstance {
    blob: BlobServiceClient;
  }
}

/**
 * Blob storage for backup data: the configured account, or an embedded Azurite (blob only, loopback, data under
 * the data directory) when no connection string is given. A policy of the client turns an injected storage outage
 * into the error an unreachable account gives once the client's retries are spent, so the service's own handling of
 * it is the real one (it runs above the retry policy: the outage costs no retry delay).
 */
export default fp(
  async (app) => {
    let connectionString = app.config.blobConnectionString;
    if (connectionString === undefined) {
      if (!app.config.workers || app.config.workerOnly) {
        throw new StartupError(
          `RV_BLOB_CONNECTION_STRING must be set in a scaled-out process (${app.config.workerOnly ? 'a worker-only process' : 'an API process with RV_WORKERS=false'}): all processes share one blob account, and an embedded Azurite here would hold blobs no other process sees`,
        );
      }
      const azurite = await startAzurite({
        port: app.config.azuritePort,
        location: join(app.config.dataDir, 'azurite'),
      }).catch((error: unknown) => Promise.reject(listenFailure(error, app.config.azuritePort, 'RV_AZURITE_PORT')));
      app.log.info(
        { connectionString: azurite.connectionString.replace(/AccountKey=[^;]+/, 'AccountKey=…') },
        'embedded Azurite started',
      );
      app.addHook('onClose', async () => azurite.stop());
      connectionString = azurite.connectionString;
    }
    app.decorate('blob', blobServiceClient(connectionString, [outageFactory(app.faults)]));
  },
  { name: 'blob-store', dependencies: ['config', 'faults'] },
);

function outageFactory(faults: Faults): RequestPolicyFactory {
  return {
    create: (next) => ({
      sendRequest: (request) =>
        faults.storageDown()
          ? Promise.reject(
              new RestError('connect ECONNREFUSED: blob storage is unavailable (emulator fault StorageOutage)', {
                code: 'ECONNREFUSED',
              }),
            )
          : next.sendRequest(request),
    }),
  };
}
