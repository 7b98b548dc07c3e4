import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AnonymousCredential, BlobServiceClient, newPipeline } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDLE_SOCKET_MS, idleSocketFactory } from '../../src/storage/idle-sockets.ts';

// A blob endpoint that answers every request with an empty 200 and keeps idle connections far longer than the client
// should: it records each connection and whether the client ended it.
let server: Server;
const connections: { socket: Socket; endedByClient: boolean }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'x-ms-version': '2025-11-05' }).end());
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    const connection = { socket, endedByClient: false };
    connections.push(connection);
    socket.on('end', () => (connection.endedByClient = true));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('the blob client’s connections', () => {
  it('are closed by the client once idle, before a server closing idle connections after 5 s could', async () => {
    const pipeline = newPipeline(new AnonymousCredential(), { retryOptions: { maxTries: 1 } });
    pipeline.factories.push(idleSocketFactory());
    const { port } = server.address() as AddressInfo;
    const blob = new BlobServiceClient(`http://127.0.0.1:${port}/devstoreaccount1`, pipeline).getContainerClient('c').getBlockBlobClient('b');

    await blob.setMetadata({ first: 'request' });
    await blob.setMetadata({ second: 'request' });
    expect(connections).toHaveLength(1); // kept alive between requests in quick succession

    await new Promise((resolve) => setTimeout(resolve, IDLE_SOCKET_MS + 500));
    expect(connections[0]!.endedByClient).toBe(true);

    await blob.setMetadata({ after: 'idle' });
    expect(connections).toHaveLength(2); // a fresh connection, never the one the server might be closing
  });
});
