import Table from 'cli-table3';
import type { RestoreProof } from './scenario.ts';
import type { DemoResult } from './play.ts';

const table = (head: string[], rows: (string | number)[][]) => {
  const t = new Table({ ...(head.length === 0 ? {} : { head }), style: { head: [], border: [] } });
  t.push(...rows.map((r) => r.map(String)));
  return t.toString();
};

/** A restore, the two hashes, and whether they prove it. */
function proof(restore: RestoreProof): string[] {
  return [
    table(
      [],
      [
        ['database', restore.database],
        ['point in time', restore.pointInTime],
        ['restored to', restore.target],
        ['SHA-256 of the restored database', restore.restoredSha256],
        ['SHA-256 of the source at that second', restore.sourceSha256],
      ],
    ),
    restore.proven
      ? `PROVEN: the restored database equals ${restore.database} at ${restore.pointInTime} (content SHA-256 ${restore.sourceSha256.slice(0, 16)}…)`
      : `NOT PROVEN: the restored content differs from ${restore.database} at ${restore.pointInTime}`,
  ];
}

/** The demo's summary: what was discovered, backed up and restored, the jobs, and how long each step took. */
export function report(result: DemoResult): string {
  const byOperation = new Map<string, Map<string, number>>();
  for (const job of result.jobs) {
    const statuses = byOperation.get(job.operation) ?? new Map<string, number>();
    statuses.set(job.status, (statuses.get(job.status) ?? 0) + 1);
    byOperation.set(job.operation, statuses);
  }
  return [
    'Discovery (sqlvm1 has an instance whose backup plugin lacks sysadmin):',
    table(
      ['VM', 'SQL instance', 'databases', 'discovery'],
      result.discovery.map((d) => [d.vm, d.instance, d.databases, d.status]),
    ),
    `Backups dispatched by the scheduler over two simulated days: ${result.backupsStarted}`,
    table(
      ['database', 'Full points', 'Log backups', 'point-in-time ranges'],
      result.points.map((p) => [p.database, p.fulls, p.logs, p.ranges.join('\n')]),
    ),
    'Jobs (scheduled log backups are not listed, as in Azure):',
    table(
      ['operation', 'status', 'count'],
      [...byOperation].flatMap(([operation, statuses]) =>
        [...statuses].map(([status, count]) => [operation, status, count]),
      ),
    ),
    table(
      ['operation', 'entity', 'status', 'started (service clock)', 'duration'],
      result.jobs.slice(0, 8).map((j) => [j.operation, j.entity, j.status, j.start?.toISOString() ?? '', j.duration]),
    ),
    'Point-in-time restore:',
    ...proof(result.restore),
    'Availability group ag1 (orders on sqlvm1 and sqlvm2, backup preference "Secondary only"):',
    table(
      ['orders', 'node'],
      result.availabilityGroup.steps.map((s) => [s.step, s.node]),
    ),
    'Point-in-time restore across the failover:',
    ...proof(result.availabilityGroup.restore),
    'Timings (wall clock):',
    table(
      ['step', 'seconds'],
      result.timings.map((t) => [t.step, t.seconds.toFixed(1)]),
    ),
  ].join('\n');
}
