import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { QUEUE_NAMES, type QueueName } from '../jobs/queue-names.ts';
import { unreachable } from '../startup.ts';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
    queues: Record<QueueName, Queue>;
    /**
     * Publishes a wake-up to the other processes, best effort: PostgreSQL holds the truth and every listener also
     * looks there (on a timer, or when its subscription reconnects), so a message lost to a Redis outage only costs
     * a wait — never the request that changed the truth.
     */
    announce(messages: Iterable<readonly [channel: string, message: string]>): Promise<void>;
  }
}

/**
 * BullMQ queues on Redis. Producers use a connection that fails fast (no offline queue), so an API request never
 * hangs on a Redis outage; workers get their own blocking connections (see jobs/workers.ts).
 */
export default fp(
  async (app) => {
    const redis = new Redis(app.config.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5_000,
    });
    // At start, the first failure ends the start (one line, see startup.ts); once connected, ioredis reconnects by
    // itself and the service rides out the outage.
    await new Promise<void>((resolve, reject) => {
      const fail = (error: unknown) => {
        redis.off('ready', ready);
        redis.disconnect();
        reject(unreachable('Redis', 'REDIS_URL', app.config.redisUrl, error));
      };
      const ready = () => {
        redis.off('error', fail);
        resolve();
      };
      redis.once('error', fail);
      redis.once('ready', ready);
    });
    redis.on('error', (error) => app.log.warn({ err: error }, 'redis connection error'));
    const queues = Object.fromEntries(
      QUEUE_NAMES.map((name) => [name, new Queue(name, { connection: redis, prefix: app.config.queuePrefix })]),
    ) as Record<QueueName, Queue>;
    app.decorate('redis', redis);
    app.decorate('queues', queues);
    app.decorate('announce', async (messages: Iterable<readonly [string, string]>) => {
      const pipeline = redis.pipeline();
      for (const [channel, message] of messages) pipeline.publish(channel, message);
      if (pipeline.length === 0) return;
      const failure = await pipeline.exec().then(
        (results) => results?.find(([error]) => error !== null)?.[0],
        (error: unknown) => error,
      );
      if (failure != null) app.log.warn({ err: failure }, 'announcement lost (Redis unavailable)');
    });
    app.addHook('onClose', async () => {
      await Promise.all(Object.values(queues).map((queue) => queue.close()));
      redis.disconnect();
    });
  },
  { name: 'queues', dependencies: ['config'] },
);
