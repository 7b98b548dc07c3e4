// Writes openapi/openapi.json from the routes' schemas (`npm run openapi`). Needs what the service needs
// (PostgreSQL, Redis; an embedded Azurite starts unless RV_BLOB_CONNECTION_STRING is set).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openapiJson } from '../src/openapi.ts';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'openapi', 'openapi.json');
const app = await buildApp({ ...loadConfig(), workers: false }, { logger: false });
try {
  await app.ready();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, openapiJson(app));
  console.log(`wrote ${file}`);
} finally {
  await app.close();
}
