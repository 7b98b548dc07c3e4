// Writes openapi/openapi.json from the routes' schemas (`npm run openapi`). Needs PostgreSQL and Redis; no blob is
// read or written, so without RV_BLOB_CONNECTION_STRING the app gets an account that is never called (an API-only
// process may not start an embedded Azurite).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { azuriteConnectionString } from '../src/storage/azurite.ts';
import { openapiJson } from '../src/openapi.ts';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'openapi', 'openapi.json');
const config = loadConfig();
const app = await buildApp(
  {
    ...config,
    workers: false,
    blobConnectionString: config.blobConnectionString ?? azuriteConnectionString('http://127.0.0.1:1'),
  },
  { logger: false },
);
try {
  await app.ready();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, openapiJson(app));
  console.log(`wrote ${file}`);
} finally {
  await app.close();
}
