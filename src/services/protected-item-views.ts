import { Prisma, type PrismaClient } from '../generated/prisma/client.ts';

/**
 * A protected item with what its ARM view shows of its container, its policy and its recovery points: one row of
 * one query. The list of a vault's items reads a page of these by one round trip: five Prisma queries (the items,
 * their containers and policies, two recovery-point aggregates) mapped wide rows the view mostly ignores, and held
 * the list to 0.27 of the same rows' plain SQL (bench/RESULTS.md).
 */
export interface ProtectedItemView {
  id: string;
  itemName: string;
  itemNameKey: string;
  friendlyName: string;
  instanceName: string;
  recoveryModel: string;
  protectionState: string;
  healthStatus: string;
  lastBackupStatus: string | null;
  lastBackupTime: Date | null;
  lastBackupError: Prisma.JsonValue;
  deferredDeleteAt: Date | null;
  containerName: string;
  /** The VM's FQDN when its agent reported one, else its name. */
  serverName: string;
  vmResourceId: string;
  policyName: string | null;
  /** Discrete points (Full, Differential, copy-only Full): what the portal counts as restore points. */
  pointCount: number;
  /** The oldest discrete point's end. */
  oldestPoint: Date | null;
  /** The latest time the item can be restored to, a log backup's end included. */
  latestPoint: Date | null;
}

/**
 * The recovery points' summary reads the index, never an item's points: the latest end is one probe of
 * (protectedItemId, endTime); the discrete points are `type <> 'Log'` written as the two ranges of
 * (protectedItemId, type, endTime) around 'Log', so that an item's thousands of log points are skipped, not
 * filtered (an item with 1,440 logs: 0.02 ms instead of 0.45–0.57 ms, by EXPLAIN ANALYZE).
 */
const columns = Prisma.sql`
  SELECT i."id", i."itemName", i."itemNameKey", i."friendlyName", i."instanceName", i."recoveryModel",
         i."protectionState"::text AS "protectionState", i."healthStatus", i."lastBackupStatus", i."lastBackupTime",
         i."lastBackupError", i."deferredDeleteAt",
         c."name" AS "containerName", COALESCE(c."fqdn", c."friendlyName") AS "serverName", c."vmResourceId",
         p."name" AS "policyName", d."pointCount", d."oldestPoint",
         (SELECT max(r."endTime") FROM "RecoveryPoint" r WHERE r."protectedItemId" = i."id") AS "latestPoint"
  FROM "ProtectedItem" i
  JOIN "ProtectionContainer" c ON c."id" = i."containerId"
  LEFT JOIN "Policy" p ON p."id" = i."policyId"
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS "pointCount", min(e) AS "oldestPoint" FROM (
      SELECT r."endTime" FROM "RecoveryPoint" r WHERE r."protectedItemId" = i."id" AND r."type" < 'Log'
      UNION ALL
      SELECT r."endTime" FROM "RecoveryPoint" r WHERE r."protectedItemId" = i."id" AND r."type" > 'Log'
    ) discrete(e)
  ) d`;

/** What the list's `$filter` narrows to (names compared case-insensitively, as Azure compares them). */
export interface ProtectedItemFilter {
  policyName?: string;
  containerName?: string;
  friendlyName?: string;
}

/**
 * A page of a vault's protected items in (itemNameKey, id) order — the order of the (vaultId, itemNameKey, id)
 * index, which the page walks from the cursor.
 */
export function protectedItemsOfVault(
  db: PrismaClient,
  vaultId: string,
  filter: ProtectedItemFilter,
  after: readonly string[] | undefined,
  take: number,
): Promise<ProtectedItemView[]> {
  const conditions = [Prisma.sql`i."vaultId" = ${vaultId}`];
  if (filter.policyName !== undefined) conditions.push(Prisma.sql`p."nameKey" = ${filter.policyName.toLowerCase()}`);
  if (filter.containerName !== undefined)
    conditions.push(Prisma.sql`c."nameKey" = ${filter.containerName.toLowerCase()}`);
  if (filter.friendlyName !== undefined)
    conditions.push(Prisma.sql`lower(i."friendlyName") = lower(${filter.friendlyName})`);
  if (after !== undefined)
    conditions.push(Prisma.sql`(i."itemNameKey", i."id") > (${after[0] ?? ''}, ${after[1] ?? ''})`);
  return db.$queryRaw<ProtectedItemView[]>`${columns}
    WHERE ${Prisma.join(conditions, ' AND ')}
    ORDER BY i."itemNameKey", i."id"
    LIMIT ${take}`;
}

/** One protected item of a container, by its name (case-insensitive), or null. */
export async function protectedItemOfContainer(
  db: PrismaClient,
  containerId: string,
  itemName: string,
): Promise<ProtectedItemView | null> {
  const [item] = await db.$queryRaw<ProtectedItemView[]>`${columns}
    WHERE i."containerId" = ${containerId} AND i."itemNameKey" = ${itemName.toLowerCase()}`;
  return item ?? null;
}
