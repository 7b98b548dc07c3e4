import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobServiceClient } from '../../src/storage/blob-client.ts';
import { eventually } from '../support/processes.ts';

// A blob endpoint like Azurite (a server of the test's own: Azurite cannot say which side closed a connection): it answers every request with an empty 200 and closes a connection idle for 3 s,
// announcing it (`Keep-Alive: timeout=3`). It records each connection and whether the client ended it first.
let server: Server;
const connections: { endedByClient: boolean; closed: boolean }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'x-ms-version': '2025-11-05' }).end());
  });
  server.keepAliveTimeout = 3_000;
  server.on('connection', (socket: Socket) => {
    const connection = { endedByClient: false, closed: false };
    connections.push(connection);
    socket.on('end', () => (connection.endedByClient = true));
    socket.on('close', () => (connection.closed = true));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('the blob client’s connections', () => {
  it('are closed by the client once idle, before the server closes them (a second under what it announces)', async () => {
    const { port } = server.address() as AddressInfo;
    // The service's own client (as the blob-store plugin makes it), with the emulator account's well-known key.
    const account = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${Buffer.from('key').toString('base64')};BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`;
    const blob = blobServiceClient(account).getContainerClient('c').getBlockBlobClient('b');

    await blob.setMetadata({ first: 'request' });
    await blob.setMetadata({ second: 'request' });
    expect(connections).toHaveLength(1); // kept alive between requests in quick succession

    // Whoever closes the idle connection first: the client at ~2 s, or (the SDK's own agent) the server at 3 s.
    await eventually('the idle connection to close', async () => connections[0]!.closed, 10_000, 50);
    expect(connections[0]!.endedByClient).toBe(true);

    await blob.setMetadata({ after: 'idle' });
    expect(connections).toHaveLength(2); // a fresh connection, never one the server might be closing
  });
});
