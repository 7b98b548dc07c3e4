import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';

/**
 * Workers only: the BullMQ processors without the HTTP listeners, for scaling the work out separately from
 * the API (run the API with RV_WORKERS=false then).
 */
try {
  const config = { ...loadConfig(), workers: true };
  const app = await buildApp(config);
  await app.ready();
  app.log.info('recovery-vault workers started');
  closeWithGrace({ delay: 30_000 }, async () => app.close());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
