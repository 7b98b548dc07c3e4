import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** A database of its own on the run's PostgreSQL server, for a deployment whose clock or scheduler is its own. */
export function ownDatabase(prefix: string): { name: string; url: string; drop(): Promise<void> } {
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  return { name, url: databaseUrl(name), drop: () => dropDatabase(name) };
}

/** The URL of database `name` on the run's PostgreSQL server. */
export const databaseUrl = (name: string) => inject('databaseUrl').replace(/\/[^/]+$/, `/${name}`);

/** Drops database `name`, ending whatever connections it still has. */
export async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl('postgres') });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
