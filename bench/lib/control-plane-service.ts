// The service for the control-plane benchmark, as its own process: the app buildApp makes, configured from the
// environment, plus one bare route that runs `select 1` on the same Prisma pool — the baseline the routes are
// measured against. Prints `listening <url>`.
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';

const app = await buildApp(loadConfig());
app.get('/bench/select-1', async () => {
  await app.db.$queryRaw`select 1`;
  return { ok: true };
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening http://127.0.0.1:${(app.server.address() as { port: number }).port}\n`);
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
