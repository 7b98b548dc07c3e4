import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import consoleAssets from '../../src/plugins/console.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const SOURCE = join('src', 'console');
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
  );

/** The console is static files on the service's origin: offline, no CDN, no endpoint of its own. */
describe('the console assets', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('redirects /console to /console/ and serves the page with a same-origin content security policy', async () => {
    const bare = await fetch(`${server.httpUrl}/console`, { redirect: 'manual' });
    expect(bare.status).toBe(302);
    expect(bare.headers.get('location')).toBe('/console/');
    const page = await fetch(`${server.httpUrl}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(await page.text()).toContain('<script type="module" src="app.js"></script>');
  });

  it('serves Preact and htm from the htm package, and nothing else from node_modules', async () => {
    const library = await fetch(`${server.httpUrl}/console/vendor/standalone.module.js`);
    expect(library.status).toBe(200);
    expect(library.headers.get('content-type')).toMatch(/javascript/);
    expect(await library.text()).toContain('useState');
    for (const path of ['standalone.umd.js', 'package.json', '../../htm/package.json', 'index.module.js'])
      expect((await fetch(`${server.httpUrl}/console/vendor/${path}`)).status, path).toBe(404);
  });

  it('references no other origin and serves every source file', async () => {
    for (const file of files(SOURCE)) {
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
      const served = await fetch(`${server.httpUrl}/console/${file.slice(SOURCE.length + 1)}`);
      expect(served.status, file).toBe(200);
    }
  });

  it('adds no endpoint of its own: the console plugin registers only GET and HEAD routes under /console', async () => {
    const app = Fastify();
    const routes: string[] = [];
    app.addHook('onRoute', (route) => {
      routes.push(`${[route.method].flat().join(',')} ${route.url}`);
    });
    await app.register(consoleAssets);
    await app.ready();
    await app.close();
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) expect(route).toMatch(/^(GET|HEAD)(,(GET|HEAD))* \/console(\/|$)/);
  });
});
