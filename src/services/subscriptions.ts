import type { PrismaClient } from '../generated/prisma/client.ts';
import { visibleSubscriptions, type Assignment } from '../domain/rbac.ts';

/** The subscriptions a caller may list (ARM's `GET /subscriptions`), after its role assignments. */
export async function subscriptionsOf(db: PrismaClient, assignments: readonly Assignment[]): Promise<string[]> {
  if (!assignments.some((a) => a.subscriptionId === '*')) return visibleSubscriptions(assignments, []);
  const [vaults, named] = await Promise.all([
    db.vault.findMany({ distinct: ['subscriptionId'], select: { subscriptionId: true } }),
    db.roleAssignment.findMany({
      where: { subscriptionId: { not: '*' } },
      distinct: ['subscriptionId'],
      select: { subscriptionId: true },
    }),
  ]);
  return visibleSubscriptions(
    assignments,
    [...vaults, ...named].map((row) => row.subscriptionId),
  );
}
