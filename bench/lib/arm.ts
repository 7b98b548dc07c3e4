import pg from 'pg';
import { DEV_PRINCIPAL } from '../../src/config.ts';
import { applyMigrations } from '../../src/db/migrations.ts';

const BASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/recovery_vault_bench';

/** The URL of bench database `recovery_vault_bench_<name>`, dropped and migrated anew (each run starts empty). */
export async function freshBenchDatabase(name: string): Promise<string> {
  // BENCH_DATABASE_TAG keeps benches of several checkouts on one server apart (each drops its database first).
  const tag = process.env.BENCH_DATABASE_TAG;
  const database = `recovery_vault_bench_${name}${tag === undefined ? '' : `_${tag}`}`;
  const admin = new pg.Client({ connectionString: BASE_URL.replace(/\/[^/]*$/, '/postgres') });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  const url = BASE_URL.replace(/\/[^/]*$/, `/${database}`);
  await applyMigrations(url);
  return url;
}

/** A management token of the development principal, from the service at `base`. */
export async function devToken(base: string): Promise<string> {
  const response = await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: DEV_PRINCIPAL.clientId ?? '',
      client_secret: DEV_PRINCIPAL.clientSecret ?? '',
    }),
  });
  if (!response.ok) throw new Error(`POST /oauth2/token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export type ArmCall = (method: string, path: string, body?: object) => Promise<Response>;

/** Calls the management API at `base` with `token` (api-version added): the answer, or throws on an error status. */
export function armCaller(base: string, token: string): ArmCall {
  return async (method, path, body) => {
    const response = await fetch(`${base}${path}${path.includes('?') ? '&' : '?'}api-version=2023-06-01`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response;
  };
}
