import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { BlobServiceClient, newPipeline, type RequestPolicyFactory } from '@azure/storage-blob';

/**
 * The service's client of the blob account in `connectionString`: one retry, connections dropped before the server
 * drops them, and `policies` of the caller's (they run once per call, above the SDK's retry policy and its request
 * signing).
 */
export function blobServiceClient(connectionString: string, policies: RequestPolicyFactory[] = []): BlobServiceClient {
  const options = { retryOptions: { maxTries: 2 } };
  const account = BlobServiceClient.fromConnectionString(connectionString, options);
  const pipeline = newPipeline(account.credential, options);
  pipeline.factories.push(...policies);
  // After the SDK's proxy policy: a request going through a proxy already has the proxy's agent, and keeps it.
  pipeline.factories.push(idleSocketFactory());
  return new BlobServiceClient(account.url, pipeline);
}

/**
 * The longest the blob client keeps an idle connection. Node's agent shortens it to a second under what the server
 * announces (`Keep-Alive: timeout=5` from Azurite, as from any Node server: 4 s) — but only when the agent has a
 * timeout at all, and the SDK's own agent has none.
 */
const MAX_IDLE_SOCKET_MS = 30_000;

/**
 * Connections that close themselves before the server closes them. The SDK's own agent keeps idle connections for
 * ever, while Azurite closes one idle for 5 s, so a burst of requests could pick a connection at the moment the server
 * closed it (read ECONNRESET). The retry policy resends most requests, but a streamed block cannot be resent: the agent
 * got a 503 after the retry delay and sent the block again (1–12 times per 10,000 backups in the simulated-day bench).
 * A request that already has an agent (a proxy's) keeps it.
 */
function idleSocketFactory(): RequestPolicyFactory {
  const agents = {
    http: new HttpAgent({ keepAlive: true, timeout: MAX_IDLE_SOCKET_MS }),
    https: new HttpsAgent({ keepAlive: true, timeout: MAX_IDLE_SOCKET_MS }),
  };
  return {
    create: (next) => ({
      sendRequest: (request) => {
        request.agent ??= request.url.startsWith('https:') ? agents.https : agents.http;
        return next.sendRequest(request);
      },
    }),
  };
}
