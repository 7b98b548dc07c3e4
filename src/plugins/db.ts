import fp from 'fastify-plugin';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.ts';
import { applyMigrations } from '../db/migrations.ts';

declare module 'fastify' {
  interface FastifyInstance {
    db: PrismaClient;
  }
}

/** Prisma on PostgreSQL through the pg driver adapter; pending migrations are applied first unless disabled. */
export default fp(
  async (app) => {
    if (app.config.migrateOnStart) {
      const applied = await applyMigrations(app.config.databaseUrl, (line) => app.log.info(line));
      if (applied.length > 0) app.log.info({ applied }, 'database migrations applied');
    }
    const db = new PrismaClient({
      adapter: new PrismaPg({ connectionString: app.config.databaseUrl, connectionTimeoutMillis: 5_000 }),
      // Any other format captures a stack trace (new Error) on every query to point its messages at the calling line:
      // ~10% of the service's CPU on a simple GET (bench/RESULTS.md). Errors keep their code and message.
      errorFormat: 'minimal',
    });
    app.decorate('db', db);
    app.addHook('onClose', async () => db.$disconnect());
  },
  { name: 'db', dependencies: ['config'] },
);
