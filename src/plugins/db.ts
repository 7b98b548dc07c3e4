import fp from 'fastify-plugin';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.ts';
import pg from 'pg';
import { applyMigrations } from '../db/migrations.ts';
import { checkMasterKey } from '../db/master-key-check.ts';
import { unreachable } from '../startup.ts';

declare module 'fastify' {
  interface FastifyInstance {
    db: PrismaClient;
  }
}

/**
 * Prisma on PostgreSQL through the pg driver adapter; pending migrations are applied first unless disabled, then the
 * master key is checked against the one the database was initialised with. A server that cannot be reached at start
 * ends the start with one line (later outages are ridden out: every query reconnects).
 */
export default fp(
  async (app) => {
    await probe(app.config.databaseUrl, app.config.migrateOnStart);
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
    await checkMasterKey(db, app.config.masterKey);
  },
  { name: 'db', dependencies: ['config'] },
);

/** Connects once; a database that does not exist yet is fine when migrations will create it. */
async function probe(databaseUrl: string, creates: boolean): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    if (creates && (error as { code?: string }).code === '3D000') return;
    throw unreachable('PostgreSQL', 'DATABASE_URL', databaseUrl, error);
  } finally {
    await client.end().catch(() => undefined);
  }
}
