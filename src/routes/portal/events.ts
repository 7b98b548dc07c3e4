import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { fastifySSE } from '@fastify/sse';
import { Type } from 'typebox';
import { ApiVersionQuery, responses, VaultParams } from '../../arm/schemas.ts';
import { findVault } from '../../arm/vault-lookup.ts';
import { EventStreamHeaders, PORTAL_VAULT, tags } from './schemas.ts';

/** Events waiting for a slow client; one that falls further behind is disconnected and resumes with Last-Event-ID. */
const MAX_BACKLOG = 1000;

const EVENT_STREAM_DOC =
  'Server-Sent Events, one per change: `id` (send it back as Last-Event-ID to resume), `event` (job.created, job.updated, ' +
  'alert.raised, alert.acknowledged, alert.resolved, discovery.completed) and `data` (JSON: a job with jobId, operation, status, ' +
  'previousStatus, entityFriendlyName, startTime, endTime, errorCode; an alert as the alerts list shows it; or a discovery that ' +
  'found databases: containerName, friendlyName, databaseCount, protectableCount, newDatabases). Comment lines keep the stream open.';

/**
 * The live feed of a vault's job and alert changes, fed by every API and worker process through Redis
 * (plugins/portal-events.ts). @fastify/sse writes the stream (headers, framing, heartbeat comments, backpressure).
 */
const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(fastifySSE, { heartbeatInterval: app.config.portal.heartbeatSeconds * 1000 });
  // A stream never ends by itself: end them all when the service closes, or closing would wait for the clients.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of open) close();
  });

  app.get(
    `${PORTAL_VAULT}/events`,
    {
      // No Accept negotiation: this route only streams (EventSource sends Accept: text/event-stream; curl sends */*).
      sse: { kind: 'manual' },
      config: { action: 'Microsoft.RecoveryServices/vaults/read' },
      schema: {
        tags,
        summary: "A vault's job and alert changes as they happen (text/event-stream)",
        description: EVENT_STREAM_DOC,
        params: VaultParams,
        querystring: ApiVersionQuery,
        headers: EventStreamHeaders,
        response: responses({
          200: { description: EVENT_STREAM_DOC, content: { 'text/event-stream': { schema: Type.String() } } },
        }),
      },
    },
    async (request, reply) => {
      const vault = await findVault(app, request.params);
      // A stream's connection is not reused: when it ends (the client left, or the service is closing) it closes.
      reply.header('connection', 'close');
      const stream = reply.sse;
      let backlog = 0;
      let sending = Promise.resolve();
      const stop = await app.portalEvents.follow(vault.id, stream.lastEventId ?? undefined, (event) => {
        if (backlog >= MAX_BACKLOG) return stream.close();
        backlog += 1;
        sending = sending
          .then(() =>
            stream.isConnected ? stream.send({ id: event.id, event: event.type, data: event.data }) : undefined,
          )
          .catch(() => stream.close())
          .finally(() => {
            backlog -= 1;
          });
      });
      const close = () => stream.close();
      open.add(close);
      stream.onClose(() => {
        open.delete(close);
        void stop();
      });
      // The client may have gone while the feed was being opened: then onClose will not come.
      if (!stream.isConnected) {
        open.delete(close);
        await stop();
        return;
      }
      stream.keepAlive();
      stream.sendHeaders();
      // Node holds written headers back until the first body write: send them now, so that a client knows at once
      // that it is subscribed (not only with the first heartbeat or event).
      reply.raw.flushHeaders();
    },
  );
};

export default eventRoutes;
