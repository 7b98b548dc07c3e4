import type { PrismaClient } from '../generated/prisma/client.ts';

interface ItemKey {
  containerId: string;
  itemNameKey: string;
}

export interface ProtectionStates {
  /** A discovered database: Protected while it is a protected item (soft-deleted ones are not), else NotProtected. */
  database: (row: ItemKey) => 'Protected' | 'NotProtected';
  /** A discovered instance: whether an auto-protection intent covers it. */
  autoProtected: (row: ItemKey) => boolean;
}

const keyOf = (row: ItemKey) => `${row.containerId}/${row.itemNameKey}`;

/** How discovered items stand against protection, for a page of them: two queries for the whole page. */
export async function protectionStatesOf(db: PrismaClient, rows: readonly ItemKey[]): Promise<ProtectionStates> {
  const where = {
    containerId: { in: [...new Set(rows.map((r) => r.containerId))] },
    itemNameKey: { in: [...new Set(rows.map((r) => r.itemNameKey))] },
  };
  const [items, intents] =
    rows.length === 0
      ? [[], []]
      : await Promise.all([
          db.protectedItem.findMany({
            where: { ...where, deferredDeleteAt: null },
            select: { containerId: true, itemNameKey: true },
          }),
          db.protectionIntent.findMany({ where, select: { containerId: true, itemNameKey: true } }),
        ]);
  const protectedKeys = new Set(items.map(keyOf));
  const intentKeys = new Set(intents.map(keyOf));
  return {
    database: (row) => (protectedKeys.has(keyOf(row)) ? 'Protected' : 'NotProtected'),
    autoProtected: (row) => intentKeys.has(keyOf(row)),
  };
}
