// The offline migration tooling (src/db/migrations.ts) against a real Postgres.
// Server: DATABASE_URL if set (its database name is replaced), else postgresql://postgres@127.0.0.1:5432/.
// Every database this file creates has a random rv_test_ name and is dropped in afterAll.

import { createHash, randomBytes } from 'node:crypto';
import { appendFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMigrations, diffMigration, pendingSchemaChanges } from '../src/db/migrations.ts';

const SERVER_URL = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/';
const PRISMA_DIR = fileURLToPath(new URL('../prisma/', import.meta.url));
const TIMEOUT = 60_000;

const createdDatabases: string[] = [];
const tempDirs: string[] = [];

function databaseUrl(name: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A URL naming a database that does not exist yet; afterAll drops it if anything created it. */
function freshDatabaseUrl(): string {
  const name = `rv_test_${randomBytes(6).toString('hex')}`;
  createdDatabases.push(name);
  return databaseUrl(name);
}

async function query<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function databaseExists(url: string): Promise<boolean> {
  const name = new URL(url).pathname.slice(1);
  const rows = await query(databaseUrl('postgres'), 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rows.length > 0;
}

async function tablesOf(url: string): Promise<string[]> {
  const rows = await query<{ table_name: string }>(
    url,
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  );
  return rows.map((row) => row.table_name);
}

/** The migration directory names in the real prisma/migrations, in the order they apply. */
async function migrationNames(prismaDir = PRISMA_DIR): Promise<string[]> {
  const entries = await readdir(path.join(prismaDir, 'migrations'), { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
}

/** A copy of prisma/ (schema and migrations) that a test may change freely. */
async function copyOfPrismaDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rv-prisma-'));
  tempDirs.push(dir);
  await cp(PRISMA_DIR, dir, { recursive: true });
  return dir;
}

afterAll(async () => {
  const maintenance = new pg.Client({ connectionString: databaseUrl('postgres') });
  await maintenance.connect();
  try {
    for (const name of createdDatabases) {
      await maintenance.query(`DROP DATABASE IF EXISTS ${maintenance.escapeIdentifier(name)} WITH (FORCE)`);
    }
  } finally {
    await maintenance.end();
  }
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
}, TIMEOUT);

describe('schema.prisma and prisma/migrations', { timeout: TIMEOUT }, () => {
  it('agree: the migrations yield exactly schema.prisma (else run `npm run db:diff -- <name>`)', async () => {
    const mainUrl = freshDatabaseUrl();
    expect(await pendingSchemaChanges(mainUrl)).toBe('');
    // The replay happened in a shadow database of its own: the database named in the URL was never created.
    expect(await databaseExists(mainUrl)).toBe(false);
  });

  it('disagree when schema.prisma gains a model, until diffMigration writes its migration', async () => {
    const prismaDir = await copyOfPrismaDir();
    await appendFile(
      path.join(prismaDir, 'schema.prisma'),
      '\nmodel ExtraForTest {\n  id    String @id\n  label String @default("x")\n}\n',
    );
    const mainUrl = freshDatabaseUrl();

    const pending = await pendingSchemaChanges(mainUrl, { prismaDir });
    expect(pending).toContain('CREATE TABLE "ExtraForTest"');

    const file = await diffMigration(mainUrl, 'add_extra_for_test', { prismaDir });
    expect(file).not.toBeNull();
    expect(path.basename(path.dirname(file!))).toMatch(/^\d{14}_add_extra_for_test$/);
    expect(await readFile(file!, 'utf8')).toBe(pending);

    expect(await pendingSchemaChanges(mainUrl, { prismaDir })).toBe('');
    expect(await diffMigration(mainUrl, 'nothing_to_do', { prismaDir })).toBeNull();
    expect(await migrationNames(prismaDir)).toEqual([...(await migrationNames()), path.basename(path.dirname(file!))]);
    expect(await databaseExists(mainUrl)).toBe(false);
  });
});

describe('applyMigrations', { timeout: TIMEOUT }, () => {
  it('creates a fresh database, applies every migration like migrate deploy, then applies nothing', async () => {
    const url = freshDatabaseUrl();
    const expected = await migrationNames();
    expect(expected.length).toBeGreaterThan(0);
    const lines: string[] = [];

    expect(await applyMigrations(url, (line) => lines.push(line))).toEqual(expected);
    expect(lines[0]).toMatch(/^created database/);

    expect(await tablesOf(url)).toEqual(
      expect.arrayContaining(['Principal', 'RoleAssignment', 'Vault', 'Operation', 'Job', '_prisma_migrations']),
    );
    const recorded = await query<{ migration_name: string; checksum: string; finished: boolean }>(
      url,
      `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished
         FROM _prisma_migrations ORDER BY migration_name`,
    );
    const checksums = await Promise.all(
      expected.map(async (name) =>
        createHash('sha256')
          .update(await readFile(path.join(PRISMA_DIR, 'migrations', name, 'migration.sql')))
          .digest('hex'),
      ),
    );
    expect(recorded).toEqual(
      expected.map((name, i) => ({ migration_name: name, checksum: checksums[i], finished: true })),
    );

    expect(await applyMigrations(url)).toEqual([]);
    expect(await query(url, 'SELECT 1 FROM _prisma_migrations')).toHaveLength(expected.length);
  });

  it('applies each migration once when two callers start at the same time', async () => {
    const url = freshDatabaseUrl();
    const expected = await migrationNames();

    const results = await Promise.all([applyMigrations(url), applyMigrations(url)]);

    expect(results.map((applied) => applied.length).sort()).toEqual([0, expected.length]);
    expect(results.flat()).toEqual(expected);
    expect(await query(url, 'SELECT 1 FROM _prisma_migrations')).toHaveLength(expected.length);
  });

  it('leaves a database with a failed migration to the engine, which refuses to go on as migrate deploy does', async () => {
    const url = freshDatabaseUrl();
    const expected = await migrationNames();
    await applyMigrations(url);
    // Up to date: nothing to apply, decided without the engine.
    const lines: string[] = [];
    expect(await applyMigrations(url, (line) => lines.push(line))).toEqual([]);
    expect(lines).toEqual([expect.stringMatching(/ is up to date$/)]);
    // The last migration recorded as started and never finished (a failed deploy).
    await query(url, 'UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = $1', [expected.at(-1)]);
    await expect(applyMigrations(url)).rejects.toThrow(expected.at(-1));
  });

  it('sends each migration.sql whole, so `;` inside $$ bodies, literals and comments survive', async () => {
    const prismaDir = await copyOfPrismaDir();
    const dir = path.join(prismaDir, 'migrations', '99991231235959_semicolons');
    await mkdir(dir);
    await writeFile(
      path.join(dir, 'migration.sql'),
      [
        '-- a comment; with a semicolon',
        'CREATE FUNCTION "rv_test_suffix"(value TEXT) RETURNS TEXT AS $$',
        'BEGIN',
        "  RETURN value || ';suffix';",
        'END;',
        '$$ LANGUAGE plpgsql;',
        '',
      ].join('\n'),
    );
    const url = freshDatabaseUrl();

    expect(await applyMigrations(url, undefined, { prismaDir })).toContain('99991231235959_semicolons');
    expect(await query(url, `SELECT "rv_test_suffix"('a') AS result`)).toEqual([{ result: 'a;suffix' }]);
  });
});
