// Prisma migrations without the network: the real Prisma schema engine (its wasm build) driven from code,
// talking to Postgres through @prisma/adapter-pg. `prisma migrate deploy|diff` would need the native engine
// binary, which Prisma downloads from its CDN; see docs/development.md, "Database migrations".
//
// The recipe has four hazards, each handled below and named where it is handled:
//   1. the package imports its .wasm as an ES module, which Node 20 refuses without a flag;
//   2. adapter-pg's executeScript splits scripts on every `;`;
//   3. adapter-pg rejects `"char"` (OID 18) result columns, which the engine's introspection reads;
//   4. adapter-pg's connectToShadowDb() connects back to the *main* database.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type * as EngineModule from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { MigrationList, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm/schema_engine_bg';
import pg from 'pg';

export interface MigrationOptions {
  /** The directory holding schema.prisma and migrations/; defaults to the package's prisma/. */
  prismaDir?: string;
}

/**
 * Our advisory lock key: any constant but 72707369, the key the engine itself locks (from another session,
 * one of its pool's connections) during applyMigrations. Sharing it would make the engine wait on us forever.
 */
const MIGRATION_LOCK_KEY = 7_265_637_631;

const NO_FILTERS: SchemaFilter = { externalTables: [], externalEnums: [] };

// ---------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------

/**
 * Creates the database named in `databaseUrl` if needed, then applies the pending migrations from
 * prisma/migrations/ exactly like `prisma migrate deploy` (recorded in `_prisma_migrations`).
 * Returns the names of the migrations applied by this call. Safe to run from several processes at once.
 */
export async function applyMigrations(
  databaseUrl: string,
  log: (line: string) => void = () => {},
  options: MigrationOptions = {},
): Promise<string[]> {
  const prismaDir = options.prismaDir ?? defaultPrismaDir();
  const target = describeDatabase(databaseUrl);

  if (await createDatabaseIfMissing(databaseUrl)) log(`created database ${target}`);

  return withAdvisoryLock(databaseUrl, log, async () => {
    const migrationsList = await readMigrations(prismaDir);
    if (migrationsList.migrationDirectories.length === 0) {
      log(`no migrations in ${path.join(prismaDir, 'migrations')}`);
      return [];
    }
    if (await allApplied(databaseUrl, migrationsList)) {
      log(`${target} is up to date`);
      return [];
    }
    const { appliedMigrationNames } = await withEngine(prismaDir, databaseUrl, null, (engine) =>
      engine.applyMigrations({ migrationsList, filters: NO_FILTERS }),
    );
    for (const name of appliedMigrationNames) log(`applied migration ${name} to ${target}`);
    if (appliedMigrationNames.length === 0) log(`${target} is up to date`);
    return appliedMigrationNames;
  });
}

/**
 * Writes prisma/migrations/<UTC yyyymmddHHMMSS>_<name>/migration.sql holding the SQL that takes the state
 * the migrations produce to the state schema.prisma describes. Returns the file's path, or null (writing
 * nothing) when they already agree. The main database is never touched: the migrations are replayed into a
 * throwaway shadow database on the same server (or SHADOW_DATABASE_URL).
 */
export async function diffMigration(
  databaseUrl: string,
  name: string,
  options: MigrationOptions = {},
): Promise<string | null> {
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new Error(`migration name must be letters, digits and underscores only, got "${name}"`);
  }
  const prismaDir = options.prismaDir ?? defaultPrismaDir();
  const sql = await pendingSchemaChanges(databaseUrl, { prismaDir });
  if (sql === '') return null;

  const migrationsDir = path.join(prismaDir, 'migrations');
  const directoryName = `${utcTimestamp(new Date())}_${name}`;
  await assertSortsLast(prismaDir, directoryName);

  const directory = path.join(migrationsDir, directoryName);
  await mkdir(migrationsDir, { recursive: true });
  await mkdir(directory).catch((error: unknown) => {
    throw new Error(`cannot create ${directory}: ${errorMessage(error)}`);
  });
  const file = path.join(directory, 'migration.sql');
  await writeFile(file, sql, 'utf8');
  await writeLockfileIfMissing(migrationsDir);
  return file;
}

/**
 * The SQL that takes the migrations' state to schema.prisma's state; "" when they agree.
 * Like diffMigration, it replays the migrations into a throwaway shadow database, never the main one.
 */
export async function pendingSchemaChanges(databaseUrl: string, options: MigrationOptions = {}): Promise<string> {
  const prismaDir = options.prismaDir ?? defaultPrismaDir();
  const migrationsList = await readMigrations(prismaDir);
  // Before the first migration there is no migration_lock.toml, which the engine needs to pick its connector.
  // Diffing from "empty" instead would add a `CREATE SCHEMA "public"` that `prisma migrate dev` does not write.
  if (migrationsList.migrationDirectories.length === 0) migrationsList.lockfile.content ??= LOCKFILE_CONTENT;
  const schema = await readSchema(prismaDir);

  return withShadowDatabase(databaseUrl, async (shadowUrl) => {
    // Hazard 4: the engine's "main" connection also points at the shadow database, so nothing it does
    // while diffing can reach the main database.
    const result = await withEngine(prismaDir, shadowUrl, shadowUrl, (engine) =>
      engine.diff({
        from: { tag: 'migrations', ...migrationsList },
        to: { tag: 'schemaDatamodel', files: [schema] },
        script: true,
        exitCode: true, // makes exitCode 2 when there is a difference, 0 when there is none
        filters: NO_FILTERS,
      }),
    );
    return result.exitCode === 0 ? '' : (result.stdout ?? '');
  });
}

/**
 * Whether every migration is recorded as applied, unchanged, and nothing failed: then there is nothing for the
 * engine to do, and it is not loaded. Compiling the engine's wasm costs ~1 s of CPU and leaves 30–40 MiB in the
 * process's resident memory for good (freed compiler memory glibc keeps), so a service restarting on an
 * up-to-date database skips it. Anything else (a pending, edited, failed or rolled-back migration) goes to the
 * engine, which applies or reports it exactly as `prisma migrate deploy` does.
 */
async function allApplied(databaseUrl: string, migrationsList: MigrationList): Promise<boolean> {
  return withClient(databaseUrl, async (client) => {
    const { rows: table } = await client.query<{ exists: boolean }>(
      "SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS exists",
    );
    if (table[0]?.exists !== true) return false;
    const { rows } = await client.query<{
      migration_name: string;
      checksum: string;
      finished: boolean;
      rolled_back: boolean;
    }>(
      'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back FROM _prisma_migrations',
    );
    if (rows.some((row) => !row.finished && !row.rolled_back)) return false; // a failed migration: the engine reports it
    const applied = new Map(
      rows.filter((row) => row.finished && !row.rolled_back).map((row) => [row.migration_name, row.checksum]),
    );
    return migrationsList.migrationDirectories.every(
      ({ path: name, migrationFile }) =>
        migrationFile.content.tag === 'ok' &&
        applied.get(name) === createHash('sha256').update(migrationFile.content.value, 'utf8').digest('hex'),
    );
  });
}

// ---------------------------------------------------------------------------------------------------------
// Files: schema.prisma and the migrations directory, in the layout the Prisma CLI uses
// ---------------------------------------------------------------------------------------------------------

/** The package root is the nearest directory above this module with a package.json (works from src/ and dist/). */
function defaultPrismaDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return path.join(dir, 'prisma');
}

async function readSchema(prismaDir: string): Promise<{ path: string; content: string }> {
  const schemaPath = path.join(prismaDir, 'schema.prisma');
  return { path: schemaPath, content: await readFile(schemaPath, 'utf8') };
}

/** Mirrors the Prisma CLI's own listing: every subdirectory is a migration, sorted by name. */
async function readMigrations(prismaDir: string): Promise<MigrationList> {
  const baseDir = path.join(prismaDir, 'migrations');
  const lockfilePath = 'migration_lock.toml';
  const lockfile = { path: lockfilePath, content: await readOptional(path.join(baseDir, lockfilePath)) };
  const entries = await readdir(baseDir, { withFileTypes: true }).catch((error: unknown) => {
    if (isErrorCode(error, 'ENOENT')) return [];
    throw error;
  });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  names.sort((a, b) => a.localeCompare(b));

  const migrationDirectories = await Promise.all(
    names.map(async (name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: await readFile(path.join(baseDir, name, 'migration.sql'), 'utf8').then(
          (value) => ({ tag: 'ok' as const, value }),
          (error: unknown) => ({ tag: 'error' as const, value: errorMessage(error) }),
        ),
      },
    })),
  );
  return { baseDir, lockfile, shadowDbInitScript: '', migrationDirectories };
}

async function readOptional(file: string): Promise<string | null> {
  return readFile(file, 'utf8').catch((error: unknown) => {
    if (isErrorCode(error, 'ENOENT')) return null;
    throw error;
  });
}

/** Same content as the Prisma CLI writes. */
const LOCKFILE_CONTENT =
  '# Please do not edit this file manually\n' +
  '# It should be added in your version-control system (e.g., Git)\n' +
  'provider = "postgresql"\n';

async function writeLockfileIfMissing(migrationsDir: string): Promise<void> {
  const lockfile = path.join(migrationsDir, 'migration_lock.toml');
  if (!existsSync(lockfile)) await writeFile(lockfile, LOCKFILE_CONTENT, 'utf8');
}

/** Migrations apply in name order, so a new one named before an existing one would never be diffed against. */
async function assertSortsLast(prismaDir: string, directoryName: string): Promise<void> {
  const { migrationDirectories } = await readMigrations(prismaDir);
  const last = migrationDirectories.at(-1)?.path;
  if (last !== undefined && last.localeCompare(directoryName) >= 0) {
    throw new Error(`new migration ${directoryName} would not sort after the existing ${last}`);
  }
}

function utcTimestamp(date: Date): string {
  return date.toISOString().replace(/\D/g, '').slice(0, 14); // yyyymmddHHMMSS
}

// ---------------------------------------------------------------------------------------------------------
// Databases: creation, the advisory lock, the shadow database
// ---------------------------------------------------------------------------------------------------------

function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  if (name === '') throw new Error('the database URL names no database');
  return name;
}

function withDatabase(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/** For log lines: the database and server, never the credentials. */
function describeDatabase(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `"${databaseName(databaseUrl)}" on ${url.host}`;
}

async function withClient<T>(connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  // A connection lost while idle (the lock holder is idle while the engine works) would otherwise be an
  // unhandled 'error' event and crash the process; the next query reports it instead.
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Returns true when it created the database. */
async function createDatabaseIfMissing(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  return withClient(withDatabase(databaseUrl, 'postgres'), async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      return true;
    } catch (error) {
      // Another process created it between our check and our CREATE: 42P04 duplicate_database, or
      // 23505 when both inserts reach pg_database's unique index at once.
      if (isErrorCode(error, '42P04') || isErrorCode(error, '23505')) return false;
      throw error;
    }
  });
}

/**
 * Holds a session advisory lock on the main database around `fn`, so processes starting together apply
 * the migrations one after the other: the second then finds nothing pending.
 */
async function withAdvisoryLock<T>(databaseUrl: string, log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      MIGRATION_LOCK_KEY,
    ]);
    if (!rows[0]?.locked) {
      log(`waiting for another process migrating ${describeDatabase(databaseUrl)}`);
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    }
    try {
      return await fn();
    } finally {
      // Best effort: if the connection is gone, so is the lock, and fn's own error matters more.
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    }
  });
}

/**
 * Hazard 4: runs `fn` with a shadow database the engine may fill with the migrations' replay.
 * Without SHADOW_DATABASE_URL, a randomly named database is created next to the main one and dropped after.
 * With it (for servers where we may not CREATE DATABASE), that database is emptied before use, as Prisma does
 * with a configured shadow database, and left in place.
 */
async function withShadowDatabase<T>(databaseUrl: string, fn: (shadowUrl: string) => Promise<T>): Promise<T> {
  const configured = process.env.SHADOW_DATABASE_URL;
  if (configured) {
    await emptyConfiguredShadow(configured, databaseUrl);
    return fn(configured);
  }

  const name = `prisma_shadow_${randomBytes(8).toString('hex')}`;
  const maintenanceUrl = withDatabase(databaseUrl, 'postgres');
  await withClient(maintenanceUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  try {
    return await fn(withDatabase(databaseUrl, name));
  } finally {
    await withClient(maintenanceUrl, (client) =>
      client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
    );
  }
}

/** Empties SHADOW_DATABASE_URL's public schema, after making sure it cannot be a real database. */
async function emptyConfiguredShadow(shadowUrl: string, databaseUrl: string): Promise<void> {
  const [shadow, main] = [new URL(shadowUrl), new URL(databaseUrl)];
  if (shadow.host === main.host && databaseName(shadowUrl) === databaseName(databaseUrl)) {
    throw new Error('SHADOW_DATABASE_URL names the main database; it must be a separate, disposable database');
  }
  await withClient(shadowUrl, async (client) => {
    // A database with a migrations table is someone's real database (replays never create one), however
    // the URL spells its host: refuse rather than empty it.
    const { rows } = await client.query<{ migrated: boolean }>(
      "SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS migrated",
    );
    if (rows[0]?.migrated) {
      const shadow = describeDatabase(shadowUrl);
      throw new Error(`SHADOW_DATABASE_URL's database ${shadow} has a _prisma_migrations table; not emptying it`);
    }
    await client.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public');
  });
}

// ---------------------------------------------------------------------------------------------------------
// The schema engine and its driver adapter
// ---------------------------------------------------------------------------------------------------------

/**
 * Hazard 1: the package's entry point imports its .wasm as an ES module, which Node 20 only allows with
 * --experimental-wasm-modules. Instead, import its JS glue (schema_engine_bg.js) and instantiate the .wasm
 * next to it by hand, doing what the entry point would have done. Once per process: the glue is a singleton.
 */
type EngineBindings = typeof EngineModule;
let engineReady: Promise<EngineBindings> | undefined;

/** Loaded on first use only: a service on an up-to-date database never loads the engine (see allApplied). */
function loadSchemaEngine(): Promise<EngineBindings> {
  engineReady ??= (async () => {
    const engineBindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const gluePath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bytes = await readFile(path.join(path.dirname(gluePath), 'schema_engine_bg.wasm'));
    // @types/node 20 does not declare the WebAssembly global, hence the narrow local type.
    const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: WasmRuntime };
    const { instance } = await wasm.instantiate(bytes, { './schema_engine_bg.js': engineBindings });
    engineBindings.__wbg_set_wasm(instance.exports);
    instance.exports.__wbindgen_start();
    return engineBindings;
  })();
  return engineReady;
}

interface WasmRuntime {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, object>,
  ): Promise<{ instance: { exports: { __wbindgen_start(): void } } }>;
}

/** Runs `fn` with a schema engine whose main connection is `mainUrl` and shadow connection `shadowUrl`. */
async function withEngine<T>(
  prismaDir: string,
  mainUrl: string,
  shadowUrl: string | null,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const engineBindings = await loadSchemaEngine();
  const schema = await readSchema(prismaDir);
  const connections = new OfflinePgConnections(mainUrl, shadowUrl);
  // bindMigrationAwareSqlAdapterFactory gives the engine the error-capturing interface it expects:
  // a bare PrismaPg fails.
  const adapter = bindMigrationAwareSqlAdapterFactory(connections);
  try {
    const engine = await engineBindings.SchemaEngine.new(
      { datamodels: [[schema.path, schema.content]] },
      () => {}, // the engine's tracing output; nothing here needs it
      adapter,
    );
    try {
      return await fn(engine);
    } finally {
      engine.free();
    }
  } catch (error) {
    throw engineError(error);
  } finally {
    await connections.close();
  }
}

/**
 * The adapter factory handed to the engine: adapter-pg, with hazards 2, 3 and 4 taken care of.
 * Each connection gets its own pg pool, which this class ends in close().
 */
class OfflinePgConnections implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = '@prisma/adapter-pg';
  private readonly pools: pg.Pool[] = [];
  private readonly disconnected: Promise<void>[] = [];

  constructor(
    private readonly mainUrl: string,
    private readonly shadowUrl: string | null,
  ) {}

  connect(): Promise<SqlDriverAdapter> {
    return this.open(this.mainUrl);
  }

  /** Hazard 4: adapter-pg's own connectToShadowDb() would reconnect to the main database. */
  connectToShadowDb(): Promise<SqlDriverAdapter> {
    if (this.shadowUrl === null) {
      return Promise.reject(new Error('this operation was not given a shadow database, and must not need one'));
    }
    return this.open(this.shadowUrl);
  }

  private async open(connectionString: string): Promise<SqlDriverAdapter> {
    const pool = new pg.Pool({ connectionString, Client: CharAsTextClient });
    this.pools.push(pool);
    pool.on('connect', (client) => this.disconnected.push(new Promise((resolve) => client.once('end', resolve))));
    const adapter = await new PrismaPg(pool).connect();
    // Hazard 2: adapter-pg's executeScript splits on every `;`, breaking $$ function bodies, string literals
    // and comments. Send each script whole, as the native engine does (one simple-protocol query).
    adapter.executeScript = async (script) => {
      try {
        await pool.query(script);
      } catch (error) {
        throw toDriverAdapterError(error);
      }
    };
    return adapter;
  }

  /**
   * pool.end() resolves once it has *asked* its connections to close. Wait until they are closed, so that
   * dropping the shadow database right after (WITH (FORCE)) finds no session of ours to terminate.
   */
  async close(): Promise<void> {
    await Promise.all(this.pools.map((pool) => (pool.ending ? undefined : pool.end())));
    await Promise.all(this.disconnected);
  }
}

/**
 * Hazard 3: the engine reads columns such as pg_constraint.contype, of type "char" (OID 18), which adapter-pg
 * 7.10 refuses to deserialize. pg already returns them as strings, so relabelling the result fields as text
 * (OID 25) is all it takes. Done in the pg client so that every query path (pool and transaction) gets it.
 */
class CharAsTextClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // An error on a connection no query is waiting on (say, terminated while closing) is an 'error' event,
    // which would crash the process with no listener; whoever uses the connection next gets the error anyway.
    this.on('error', () => {});
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg's query() has many overloads; all pass through
  override query(...args: any[]): any {
    const callbackAt = args.findIndex((arg) => typeof arg === 'function');
    if (callbackAt >= 0) {
      const callback = args[callbackAt] as (error: unknown, result: unknown) => void;
      args[callbackAt] = (error: unknown, result: unknown) =>
        callback(error, error ? result : relabelCharFields(result));
      return Reflect.apply(super.query, this, args);
    }
    const returned: unknown = Reflect.apply(super.query, this, args);
    return returned instanceof Promise ? returned.then(relabelCharFields) : returned;
  }
}

const CHAR_OID = 18;
const TEXT_OID = 25;

function relabelCharFields(result: unknown): unknown {
  for (const one of Array.isArray(result) ? result : [result]) {
    for (const field of (one as Partial<pg.QueryResult> | undefined)?.fields ?? []) {
      if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
    }
  }
  return result;
}

/** How adapter-pg itself reports a Postgres error, so the engine's messages name the real cause. */
function toDriverAdapterError(error: unknown): unknown {
  if (!(error instanceof pg.DatabaseError)) return error;
  return new DriverAdapterError({
    kind: 'postgres',
    code: error.code ?? 'N/A',
    severity: error.severity ?? 'N/A',
    message: error.message,
    detail: error.detail,
    column: error.column,
    hint: error.hint,
    originalCode: error.code,
    originalMessage: error.message,
  });
}

/**
 * The engine's errors end in a Rust span trace ("   0: sql_schema_connector::…  at schema-engine/…rs:113"),
 * noise for whoever reads the message; keep the text above it (plus the failing migration's name, which only
 * the trace carries), and the original error as the cause.
 */
function engineError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(`schema engine: ${String(error)}`, { cause: error });
  const trace = error.message.search(/^\s+0: /m);
  if (trace < 0) return error;
  const migration = /migration_name="([^"]+)"/.exec(error.message.slice(trace))?.[1];
  const text = error.message.slice(0, trace).trimEnd() + (migration ? `\n(migration ${migration})` : '');
  const trimmed = new Error(text, { cause: error });
  trimmed.name = error.name;
  return trimmed;
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------

function isErrorCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
