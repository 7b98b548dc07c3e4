import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../../domain/errors.ts';
import { dispatchDue, nextDueTime } from '../../jobs/scheduler.ts';
import { rpoWatch } from '../../jobs/rpo-watch.ts';
import { retentionSweep, sweepTimeAfter, sweepTimeAtOrBefore } from '../../jobs/retention.ts';
import { purgeExpiredSoftDeletes } from '../../services/protection.ts';
import { responses } from '../../arm/schemas.ts';
import faultRoutes from './faults.ts';
import failoverRoutes from './failovers.ts';

const DAY_MS = 86_400_000;

const ClockState = Type.Object({
  now: Type.String({ format: 'date-time' }),
  offsetSeconds: Type.Number({ description: 'service time minus wall time' }),
  backupsStarted: Type.Optional(Type.Integer({ description: 'scheduled backups dispatched while advancing' })),
  retentionSweeps: Type.Optional(
    Type.Integer({
      description:
        'daily retention sweep instants crossed while advancing (consecutive ones with no backup between them run as one)',
    }),
  ),
});
const ClockChange = Type.Object({
  to: Type.Optional(
    Type.String({ format: 'date-time', description: 'move service time to this instant (never backwards)' }),
  ),
  advanceSeconds: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 366 * 86400, description: 'move service time forward by this much' }),
  ),
  waitForBackupsSeconds: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 600,
      description: 'per step, how long to wait for the dispatched backups to finish (default 60)',
    }),
  ),
});
const tags = ['emulator'];

/**
 * Emulator controls for CI (off unless RV_EMULATOR_CONTROLS=true). The clock: advancing runs every schedule that
 * becomes due, in order — the clock stops at each due time, the backups due then are dispatched and streamed by the
 * agents (which take them "at" that time), and only then does time move on. It also stops at every daily retention
 * sweep time it crosses (RV_RETENTION_SWEEP_HOUR:00 UTC; after the backups due at that same instant) and sweeps there
 * (consecutive sweep times with no backup between them collapse into the last, which expires the same points), so 400
 * days advanced expire exactly what 400 real days would. Soft-deleted items whose retention ended by the new
 * time are purged at the end (what the periodic purge would do at its next run).
 */
const emulatorRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Documented always, answered only when enabled: a service in normal mode has no controllable clock.
  app.addHook('onRequest', async (request) => {
    if (!app.config.emulatorControls) throw errors.routeNotFound(request.method, request.url.split('?')[0] ?? '');
  });
  app.authorizeRoutes(app);
  await app.register(faultRoutes);
  await app.register(failoverRoutes);
  const state = (advanced?: { backupsStarted: number; retentionSweeps: number }) => {
    const now = app.clock.now();
    return { now: now.toISOString(), offsetSeconds: (now.getTime() - Date.now()) / 1000, ...advanced };
  };

  app.get(
    '/emulator/v1/clock',
    {
      config: { action: 'RecoveryVault.Emulator/clock/read' },
      schema: { tags, summary: 'The service clock', response: responses({ 200: ClockState }) },
    },
    async () => state(),
  );

  app.post(
    '/emulator/v1/clock',
    {
      config: { action: 'RecoveryVault.Emulator/clock/write' },
      schema: {
        tags,
        summary: 'Set or advance the service clock, running every schedule that becomes due, in order',
        body: ClockChange,
        response: responses({ 200: ClockState }),
      },
    },
    async (request) => {
      const { to, advanceSeconds, waitForBackupsSeconds = 60 } = request.body;
      if ((to === undefined) === (advanceSeconds === undefined))
        throw errors.invalidInput('Give either `to` or `advanceSeconds`.');
      const start = app.clock.now();
      const target = to === undefined ? new Date(start.getTime() + (advanceSeconds ?? 0) * 1000) : new Date(to);
      if (target < start)
        throw errors.invalidInput(
          `The clock only moves forward: it is ${start.toISOString()}, not yet ${target.toISOString()}.`,
        );
      const sweepHour = app.config.backup.retentionSweepHour;
      let nextSweep = sweepTimeAfter(start, sweepHour);
      let started = 0;
      let sweeps = 0;
      const sweepAt = async (instant: Date, crossed: number) => {
        await retentionSweep(app, instant);
        sweeps += crossed;
        nextSweep = sweepTimeAfter(instant, sweepHour);
      };
      for (;;) {
        const due = await nextDueTime(app);
        const stop = due === undefined || due > target ? target : due > app.clock.now() ? due : app.clock.now();
        // Sweep instants strictly before `stop` have no backup between them, and expiry only grows with time: the last
        // of them expires everything the others would, so it stands for them all (years advanced need not stop daily).
        const lastBefore = sweepTimeAtOrBefore(new Date(stop.getTime() - 1), sweepHour);
        if (lastBefore >= nextSweep) {
          await app.clock.set(lastBefore);
          await sweepAt(lastBefore, (lastBefore.getTime() - nextSweep.getTime()) / DAY_MS + 1);
        }
        await app.clock.set(stop);
        // A worker's scheduler tick may be dispatching this very step: wait for its claims and for its backups too.
        const dispatched = await dispatchDue(app, stop, { waitForOthers: true });
        started += dispatched;
        await backupsSettled(stop, waitForBackupsSeconds);
        // A sweep due at this very instant runs after the backups due then.
        if (nextSweep.getTime() === stop.getTime()) await sweepAt(stop, 1);
        if (stop.getTime() >= target.getTime() && dispatched === 0) break;
      }
      await rpoWatch(app, app.clock.now());
      await purgeExpiredSoftDeletes(app, app.clock.now());
      return state({ backupsStarted: started, retentionSweeps: sweeps });
    },
  );

  /** Waits until the backups dispatched at `step` are committed or failed (or the wait runs out). */
  async function backupsSettled(step: Date, seconds: number): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      const open = await app.db.backupUpload.count({
        where: { state: 'Open', isOnDemand: false, createdAt: { gte: step } },
      });
      if (open === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
};

export default emulatorRoutes;
