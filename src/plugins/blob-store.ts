import fp from 'fastify-plugin';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite } from '../storage/azurite.ts';

declare module 'fastify' {
  interface FastifyInstance {
    blob: BlobServiceClient;
  }
}

/**
 * Blob storage for backup data: the configured account, or an embedded Azurite (blob only, loopback, data under
 * the data directory) when no connection string is given.
 */
export default fp(
  async (app) => {
    let connectionString = app.config.blobConnectionString;
    if (connectionString === undefined) {
      const azurite = await startAzurite({ port: app.config.azuritePort, location: join(app.config.dataDir, 'azurite') });
      app.log.info({ connectionString: azurite.connectionString.replace(/AccountKey=[^;]+/, 'AccountKey=…') }, 'embedded Azurite started');
      app.addHook('onClose', async () => azurite.stop());
      connectionString = azurite.connectionString;
    }
    app.decorate('blob', BlobServiceClient.fromConnectionString(connectionString, { retryOptions: { maxTries: 2 } }));
  },
  { name: 'blob-store', dependencies: ['config'] },
);
