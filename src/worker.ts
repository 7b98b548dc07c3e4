import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { exitOnStartupFailure } from './startup.ts';

/**
 * Workers only: the BullMQ processors without the HTTP listeners, for scaling the work out separately from
 * the API (run the API with RV_WORKERS=false then).
 */
try {
  const config = { ...loadConfig(), workers: true, workerOnly: true };
  const app = await buildApp(config);
  await app.ready();
  app.log.info('recovery-vault workers started');
  closeWithGrace({ delay: 30_000 }, async () => app.close());
} catch (error) {
  exitOnStartupFailure(error);
}
