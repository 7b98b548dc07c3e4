// Database migrations from the command line, offline (see src/db/migrations.ts):
//   tsx scripts/db.ts migrate        apply pending migrations (npm run db:migrate)
//   tsx scripts/db.ts diff <name>    write a migration for schema.prisma's changes (npm run db:diff -- <name>)
// The database comes from DATABASE_URL; the shadow database for `diff` from SHADOW_DATABASE_URL if set.

import path from 'node:path';
import { applyMigrations, diffMigration } from '../src/db/migrations.ts';

const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/recovery_vault';
const USAGE = 'usage: tsx scripts/db.ts migrate | diff <name>';

async function main(args: string[]): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const [command, ...rest] = args;

  switch (command) {
    case 'migrate': {
      if (rest.length > 0) throw new UsageError(`migrate takes no arguments, got: ${rest.join(' ')}`);
      await applyMigrations(databaseUrl, (line) => console.log(line));
      return;
    }
    case 'diff': {
      const [name, ...extra] = rest;
      if (name === undefined || extra.length > 0) throw new UsageError('diff takes exactly one migration name');
      const file = await diffMigration(databaseUrl, name);
      console.log(
        file === null
          ? 'no schema changes: schema.prisma matches the migrations, nothing written'
          : `wrote ${path.relative(process.cwd(), file)}`,
      );
      return;
    }
    default:
      throw new UsageError(command === undefined ? 'no command given' : `unknown command "${command}"`);
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((error: unknown) => {
  // One line per event: the engine's messages span several lines.
  const message = (error instanceof Error ? error.message : String(error))
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' | ');
  console.error(`db: ${message}${error instanceof UsageError ? ` (${USAGE})` : ''}`);
  process.exitCode = 1;
});
