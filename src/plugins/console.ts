import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The console's source: plain ES modules, served as they are (no build step). Two levels up from src/ or dist/. */
const CONSOLE_DIR = fileURLToPath(new URL('../../src/console/', import.meta.url));
/** Preact, its hooks and htm in one ES module, from the htm package itself (nothing fetched from a CDN). */
const HTM_DIR = dirname(fileURLToPath(import.meta.resolve('htm/preact/standalone')));

/**
 * The Backup center console at /console/: static files only. Everything it shows or does goes through the same ARM,
 * portal, identity and emulator endpoints any client uses, with the signed-in principal's token.
 */
export default async function consoleAssets(app: FastifyInstance) {
  // Only this origin's scripts, styles and API: the page works offline and cannot be made to load anything else.
  const csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";
  await app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply) => {
      reply.header('content-security-policy', csp);
      reply.header('x-content-type-options', 'nosniff');
    });
    // The page's relative URLs (app.js, styles.css) need the trailing slash.
    scope.get('/console', { schema: { hide: true } }, (_request, reply) => reply.redirect('/console/'));
    await scope.register(fastifyStatic, {
      root: CONSOLE_DIR,
      prefix: '/console/',
      redirect: true,
      index: 'index.html',
    });
    await scope.register(fastifyStatic, {
      root: HTM_DIR,
      prefix: '/console/vendor/',
      decorateReply: false,
      allowedPath: (path) => path === '/standalone.module.js',
    });
  });
}
