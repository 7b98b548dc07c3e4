import fp from 'fastify-plugin';

/** The service's one source of time; later issues let the emulator controls set and advance it. */
export interface Clock {
  now(): Date;
}

declare module 'fastify' {
  interface FastifyInstance {
    clock: Clock;
  }
}

export const wallClock: Clock = { now: () => new Date() };

export default fp(
  async (app) => {
    app.decorate('clock', wallClock);
  },
  { name: 'clock' },
);
