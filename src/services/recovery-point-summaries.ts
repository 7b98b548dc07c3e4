import type { PrismaClient } from '../generated/prisma/client.ts';

/** What a protected item's `extendedInfo` says of its recovery points. */
export interface RecoveryPointSummary {
  /** Discrete points (Full, Differential, copy-only Full): what the portal counts as restore points. */
  count: number;
  /** The oldest discrete point. */
  oldest: Date | undefined;
  /** The latest time the item can be restored to, a log backup's end included. */
  latest: Date | undefined;
}

const NONE: RecoveryPointSummary = { count: 0, oldest: undefined, latest: undefined };

/** The summaries of many items, two grouped queries for all of them (both on the item's (type, endTime) index). */
export async function recoveryPointSummaries(
  db: PrismaClient,
  itemIds: readonly string[],
): Promise<(itemId: string) => RecoveryPointSummary> {
  if (itemIds.length === 0) return () => NONE;
  const ids = [...new Set(itemIds)];
  const [discrete, logs] = await Promise.all([
    db.recoveryPoint.groupBy({
      by: ['protectedItemId'],
      where: { protectedItemId: { in: ids }, type: { not: 'Log' } },
      _count: { _all: true },
      _min: { endTime: true },
      _max: { endTime: true },
    }),
    db.recoveryPoint.groupBy({
      by: ['protectedItemId'],
      where: { protectedItemId: { in: ids }, type: 'Log' },
      _max: { endTime: true },
    }),
  ]);
  const summaries = new Map<string, RecoveryPointSummary>(
    discrete.map((g) => [
      g.protectedItemId,
      { count: g._count._all, oldest: g._min.endTime ?? undefined, latest: g._max.endTime ?? undefined },
    ]),
  );
  for (const log of logs) {
    const summary = summaries.get(log.protectedItemId) ?? { ...NONE };
    const end = log._max.endTime ?? undefined;
    if (end !== undefined && (summary.latest === undefined || end > summary.latest)) summary.latest = end;
    summaries.set(log.protectedItemId, summary);
  }
  return (itemId) => summaries.get(itemId) ?? NONE;
}
