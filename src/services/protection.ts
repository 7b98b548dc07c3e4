import type { FastifyInstance } from 'fastify';
import type { Policy, ProtectedItem, SqlDatabase, Vault } from '../generated/prisma/client.ts';
import { ArmError } from '../domain/errors.ts';
import type { SqlPolicy } from '../domain/policy/types.ts';
import { scheduleFor } from '../domain/protection.ts';
import { PROTECTED_ITEMS_PER_VAULT } from '../routes/arm/vault-config.ts';

export const policyOf = (policy: Policy) => policy.properties as unknown as SqlPolicy;

/** The 2000-item limit's error; its code is configurable (RV_MAX_ITEMS_ERROR_CODE) as no authoritative one is known. */
export function limitReached(app: FastifyInstance): ArmError {
  return new ArmError(
    400,
    app.config.protection.limitErrorCode,
    `The vault already protects the maximum of ${PROTECTED_ITEMS_PER_VAULT} databases (soft-deleted items count until they are purged). Stop protection and delete the data of items you no longer need, or use another vault.`,
  );
}

/**
 * Protects a discovered database with a policy, or moves a protected one to a new policy. A new item takes a slot of
 * the vault's limit in the same transaction that creates it: the conditional increment is what makes the limit
 * race-free (of N concurrent requests for the last slots, exactly as many as there are slots succeed).
 */
export async function protect(app: FastifyInstance, vault: Vault, database: SqlDatabase, policy: Policy, intentId: string | null = null): Promise<{ item: ProtectedItem; created: boolean }> {
  const now = app.clock.now();
  const schedule = scheduleFor(policyOf(policy), { name: database.name, recoveryModel: database.recoveryModel, isReadOnly: database.isReadOnly }, now);
  const fields = {
    policyId: policy.id,
    protectionState: 'IRPending' as const,
    recoveryModel: database.recoveryModel,
    isReadOnly: database.isReadOnly,
    ...schedule,
    updatedAt: now,
  };
  return app.db.$transaction(async (tx) => {
    const existing = await tx.protectedItem.findUnique({ where: { containerId_itemNameKey: { containerId: database.containerId, itemNameKey: database.itemNameKey } } });
    if (existing !== null) {
      const item = await tx.protectedItem.update({ where: { id: existing.id }, data: fields });
      return { item, created: false };
    }
    const slot = await tx.$executeRaw`UPDATE "Vault" SET "protectedItemCount" = "protectedItemCount" + 1 WHERE "id" = ${vault.id} AND "protectedItemCount" < ${PROTECTED_ITEMS_PER_VAULT}`;
    if (slot === 0) throw limitReached(app);
    const item = await tx.protectedItem.create({
      data: {
        ...fields,
        vaultId: vault.id,
        containerId: database.containerId,
        itemName: database.itemName,
        itemNameKey: database.itemNameKey,
        friendlyName: database.name,
        instanceName: database.instanceName,
        intentId,
        createdAt: now,
      },
    });
    return { item, created: true };
  });
}

/** Removes items for good (soft delete expired, or deleted with soft delete off) and frees their slots. */
export async function purgeItems(app: FastifyInstance, items: Pick<ProtectedItem, 'id' | 'vaultId'>[]): Promise<void> {
  for (const item of items) {
    await app.db.$transaction(async (tx) => {
      const removed = await tx.protectedItem.deleteMany({ where: { id: item.id } });
      if (removed.count === 1) await tx.$executeRaw`UPDATE "Vault" SET "protectedItemCount" = "protectedItemCount" - 1 WHERE "id" = ${item.vaultId}`;
    });
  }
}

/** Purges soft-deleted items whose retention ended by `now` (the vault's soft-delete retention, 14 days by default). */
export async function purgeExpiredSoftDeletes(app: FastifyInstance, now: Date): Promise<number> {
  const expired = await app.db.protectedItem.findMany({ where: { deferredDeleteAt: { lte: now } }, select: { id: true, vaultId: true }, take: 1000 });
  await purgeItems(app, expired);
  return expired.length;
}
