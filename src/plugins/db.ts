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
    });
    app.decorate('db', db);
    app.addHook('onClose', async () => db.$disconnect());
  },
  { name: 'db', dependencies: ['config'] },
);
