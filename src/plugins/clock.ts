import fp from 'fastify-plugin';

/** The service's one source of time. With emulator controls on, it can be set and advanced (POST /emulator/v1/clock). */
export interface Clock {
  now(): Date;
}

export interface ControllableClock extends Clock {
  /** Moves service time to `to` (never backwards) and tells every other process. */
  set(to: Date): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    clock: ControllableClock;
  }
}

/**
 * Wall time plus an offset kept in Postgres (so it survives restarts) and announced over Redis (so every API and
 * worker process moves at once). Without emulator controls the offset stays 0: the wall clock.
 */
export default fp(
  async (app) => {
    const channel = `${app.config.queuePrefix}:clock`;
    const row = await app.db.emulatorClock.upsert({ where: { id: 1 }, create: { id: 1 }, update: {} });
    let offsetMs = app.config.emulatorControls ? Number(row.offsetMs) : 0;
    const clock: ControllableClock = {
      now: () => new Date(Date.now() + offsetMs),
      async set(to) {
        if (!app.config.emulatorControls)
          throw new Error('the clock is the wall clock unless RV_EMULATOR_CONTROLS is on');
        const next = Math.max(offsetMs, to.getTime() - Date.now());
        await app.db.emulatorClock.update({ where: { id: 1 }, data: { offsetMs: BigInt(Math.round(next)) } });
        offsetMs = next;
        await app.announce([[channel, String(next)]]);
      },
    };
    if (app.config.emulatorControls) {
      const subscriber = app.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
      subscriber.on('error', (error) => app.log.warn({ err: error }, 'clock subscriber error'));
      await subscriber.subscribe(channel);
      subscriber.on('message', (_channel, message) => {
        offsetMs = Math.max(offsetMs, Number(message));
      });
      // Back after an outage: what was announced meanwhile is lost, the offset in PostgreSQL is not.
      subscriber.on('ready', () => {
        app.db.emulatorClock
          .findUnique({ where: { id: 1 } })
          .then((current) => {
            offsetMs = Math.max(offsetMs, Number(current?.offsetMs ?? 0));
          })
          .catch((error: unknown) => app.log.warn({ err: error }, 'clock reload failed'));
      });
      app.addHook('onClose', async () => subscriber.disconnect());
    }
    app.decorate('clock', clock);
  },
  { name: 'clock', dependencies: ['config', 'db', 'queues'] },
);
