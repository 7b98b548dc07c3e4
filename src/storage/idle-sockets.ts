import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { RequestPolicyFactory } from '@azure/storage-blob';

/** How long the blob client keeps an idle connection: less than the 5 s after which Azurite (any Node server) closes one. */
export const IDLE_SOCKET_MS = 4_000;

/**
 * Connections that close themselves before the server closes them. Azurite, like any Node server, closes a connection
 * idle for 5 s; the SDK's own agent keeps idle connections for ever, so a burst of requests could pick one at the
 * moment the server closed it (read ECONNRESET). The retry policy resends most requests, but a streamed block cannot
 * be resent: the agent got a 503 after the retry delay and sent the block again (1–12 times per 10,000 backups in
 * the simulated-day bench). An idle connection is dropped here after 4 s instead.
 */
export function idleSocketFactory(): RequestPolicyFactory {
  const agents = { http: new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }), https: new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }) };
  return {
    create: (next) => ({
      sendRequest: (request) => {
        request.agent ??= request.url.startsWith('https:') ? agents.https : agents.http;
        return next.sendRequest(request);
      },
    }),
  };
}
