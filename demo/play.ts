/**
 * The whole demo: the estate (scenario.ts), a restore of sales proven against its source, then the availability
 * group and its failover (availability-group.ts), and the jobs the vault lists at the end.
 */
import type { Agent } from '../src/agent/agent.ts';
import type { RunningServer } from '../src/server.ts';
import { playAvailabilityGroup, type AvailabilityGroupResult } from './availability-group.ts';
import {
  buildEstate,
  containerOf,
  RESOURCE_GROUP,
  restoreAndProve,
  VAULT,
  VM1,
  type DiscoveryRow,
  type PointsRow,
  type RestoreProof,
  type Timing,
} from './scenario.ts';

export interface DemoResult {
  timings: Timing[];
  discovery: DiscoveryRow[];
  backupsStarted: number;
  points: PointsRow[];
  jobs: { operation: string; entity: string; status: string; start: Date | undefined; duration: string }[];
  restore: RestoreProof;
  /** ag1 (orders) across sqlvm1 and sqlvm2: which node took what, and a restore across its failover. */
  availabilityGroup: AvailabilityGroupResult;
  agents: Agent[];
}

export async function playDemo(
  server: RunningServer,
  ca: string,
  stateRoot: string,
  log: (line: string) => void,
): Promise<DemoResult> {
  const estate = await buildEstate(server, ca, stateRoot, log);
  const { backup, start, timed, agents } = estate;

  const restore = await timed(
    'restored sales to a random second of day one on sqlvm2 (SDK: restores.beginTriggerAndWait)',
    async () => {
      const range = await backup.recoveryPoints.get(
        VAULT,
        RESOURCE_GROUP,
        'Azure',
        containerOf(VM1),
        'SQLDataBase;MSSQLSERVER;sales',
        'DefaultRangeRecoveryPoint',
      );
      const first = (range.properties as { timeRanges?: { startTime: Date; endTime: Date }[] }).timeRanges?.[0];
      if (first === undefined) throw new Error('sales has no log range to restore from');
      const dayOneEnd = new Date(start.getTime() + 86_400_000);
      return restoreAndProve(estate, {
        container: containerOf(VM1),
        itemName: 'SQLDataBase;MSSQLSERVER;sales',
        database: 'sales',
        from: first.startTime,
        to: first.endTime < dayOneEnd ? first.endTime : dayOneEnd,
      });
    },
  );

  const availabilityGroup = await playAvailabilityGroup(estate);

  const jobs: DemoResult['jobs'] = [];
  for await (const job of backup.backupJobs.list(VAULT, RESOURCE_GROUP)) {
    const p = job.properties as
      | { operation?: string; entityFriendlyName?: string; status?: string; startTime?: Date; duration?: string }
      | undefined;
    jobs.push({
      operation: p?.operation ?? '',
      entity: p?.entityFriendlyName ?? '',
      status: p?.status ?? '',
      start: p?.startTime,
      duration: p?.duration ?? '',
    });
  }
  const { timings, discovery, backupsStarted, points } = estate;
  return { timings, discovery, backupsStarted, points, jobs, restore, availabilityGroup, agents };
}
