import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';

/**
 * A change a portal shows live: a job created or moved to another status; an alert raised, acknowledged or resolved;
 * a discovery ("Rediscover DBs") that found databases.
 */
export interface PortalEvent {
  type:
    'job.created' | 'job.updated' | 'alert.raised' | 'alert.acknowledged' | 'alert.resolved' | 'discovery.completed';
  data: object;
}

/** An event as delivered: its id orders a vault's events and is what a client sends back as `Last-Event-ID`. */
export interface DeliveredEvent extends PortalEvent {
  id: string;
}

export interface PortalEventFeed {
  /** Announces a change of a vault's to every process. Never throws: a lost announcement must not undo the change. */
  publish(vaultId: string, event: PortalEvent): Promise<void>;
  /**
   * Follows a vault's changes: first those kept after `lastEventId` (when given), then live ones — in order, each
   * once. Resolves once subscribed; the returned function stops following.
   */
  follow(
    vaultId: string,
    lastEventId: string | undefined,
    deliver: (event: DeliveredEvent) => void,
  ): Promise<() => Promise<void>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    portalEvents: PortalEventFeed;
  }
}

/** Events kept per vault for clients that reconnect with `Last-Event-ID` (approximately: Redis trims lazily), and how long. */
const HISTORY_LENGTH = 1000;
const HISTORY_SECONDS = 24 * 3600;

/**
 * One round trip, atomically: append the event to the vault's history stream (whose id becomes the event id), then
 * publish it with that id, so live and replayed events share one order across every publishing process.
 */
const PUBLISH_SCRIPT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], id .. ' ' .. ARGV[1])
return id`;

type PublishingRedis = Redis & {
  rvPortalPublish(historyKey: string, event: string, length: number, seconds: number, channel: string): Promise<string>;
};

const EVENT_ID = /^(\d+)-(\d+)$/;

/** Redis stream ids (`<ms>-<seq>`) in order; ids that are not stream ids sort first. */
function compareIds(a: string, b: string): number {
  const [, aMs = '0', aSeq = '0'] = EVENT_ID.exec(a) ?? [];
  const [, bMs = '0', bSeq = '0'] = EVENT_ID.exec(b) ?? [];
  const ms = BigInt(aMs) - BigInt(bMs);
  const seq = BigInt(aSeq) - BigInt(bSeq);
  return ms !== 0n ? (ms < 0n ? -1 : 1) : seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/**
 * Portal live updates across processes: every process publishes job and alert changes through Redis (pub/sub for
 * the live fan-out, plus a short capped stream per vault for `Last-Event-ID` replay); a process serving event streams
 * subscribes to the vaults its clients follow, on one connection opened on first use.
 */
export default fp(
  async (app) => {
    const prefix = `${app.config.queuePrefix}:portal`;
    const channelOf = (vaultId: string) => `${prefix}:${vaultId}`;
    const historyOf = (vaultId: string) => `${prefix}:${vaultId}:history`;
    const redis = app.redis as PublishingRedis;
    redis.defineCommand('rvPortalPublish', { numberOfKeys: 1, lua: PUBLISH_SCRIPT });

    let subscriber: Redis | undefined;
    /** Listeners by channel, and the subscription each channel waits for. */
    const listeners = new Map<string, Set<(event: DeliveredEvent) => void>>();
    const subscriptions = new Map<string, Promise<unknown>>();

    const subscriberConnection = () => {
      if (subscriber !== undefined) return subscriber;
      const connection = app.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
      connection.on('error', (error) => app.log.warn({ err: error }, 'portal events subscriber error'));
      connection.on('message', (channel: string, message: string) => {
        const space = message.indexOf(' ');
        const event = { id: message.slice(0, space), ...(JSON.parse(message.slice(space + 1)) as PortalEvent) };
        for (const listener of listeners.get(channel) ?? []) listener(event);
      });
      subscriber = connection;
      return connection;
    };

    const feed: PortalEventFeed = {
      async publish(vaultId, event) {
        try {
          await redis.rvPortalPublish(
            historyOf(vaultId),
            JSON.stringify(event),
            HISTORY_LENGTH,
            HISTORY_SECONDS,
            channelOf(vaultId),
          );
        } catch (error) {
          app.log.warn({ err: error, vaultId, event: event.type }, 'portal event not published');
        }
      },

      async follow(vaultId, lastEventId, deliver) {
        const channel = channelOf(vaultId);
        let last = lastEventId !== undefined && EVENT_ID.test(lastEventId) ? lastEventId : undefined;
        const deliverOnce = (event: DeliveredEvent) => {
          if (last !== undefined && compareIds(event.id, last) <= 0) return;
          last = event.id;
          deliver(event);
        };
        // Live events that arrive while the history is read wait here, so nothing is lost or repeated in between.
        let waiting: DeliveredEvent[] | undefined = [];
        const listener = (event: DeliveredEvent) => (waiting === undefined ? deliverOnce(event) : waiting.push(event));
        const stop = async () => {
          const set = listeners.get(channel);
          if (set?.delete(listener) !== true || set.size > 0) return;
          listeners.delete(channel);
          subscriptions.delete(channel);
          await subscriber
            ?.unsubscribe(channel)
            .catch((error: unknown) => app.log.warn({ err: error }, 'portal events unsubscribe failed'));
        };

        const set = listeners.get(channel) ?? new Set();
        listeners.set(channel, set);
        set.add(listener);
        try {
          let subscribed = subscriptions.get(channel);
          if (subscribed === undefined) {
            subscribed = subscriberConnection().subscribe(channel);
            subscriptions.set(channel, subscribed);
          }
          await subscribed;
          if (last !== undefined) {
            const kept = await redis.xrange(historyOf(vaultId), `(${last}`, '+', 'COUNT', HISTORY_LENGTH);
            for (const [id, fields] of kept) {
              if (fields[1] !== undefined) deliverOnce({ id, ...(JSON.parse(fields[1]) as PortalEvent) });
            }
          }
        } catch (error) {
          await stop();
          throw error;
        }
        const pending = waiting;
        waiting = undefined;
        for (const event of pending) deliverOnce(event);
        return stop;
      },
    };
    app.decorate('portalEvents', feed);
    app.addHook('onClose', async () => subscriber?.disconnect());
  },
  { name: 'portal-events', dependencies: ['config', 'queues'] },
);
