import type { FastifyInstance } from 'fastify';
import { PROTECTED_ITEMS_PER_VAULT } from '../domain/limits.ts';
import type { Policy, ProtectedItem, SqlDatabase, Vault } from '../generated/prisma/client.ts';
import { ArmError } from '../domain/errors.ts';
import type { SqlPolicy } from '../domain/policy/types.ts';
import { scheduleFor } from '../domain/protection.ts';
import { toWireFormat } from '../domain/policy/validate.ts';
import { finishJob, startJob } from '../jobs/job-records.ts';
import { deleteBackupBlobs } from './backups.ts';
import { configureAgents, groupProtectionProblem } from './availability-groups.ts';

/**
 * A SQL policy's rules as they were validated on write. Every vault also holds Azure VM policies (its defaults), which
 * have no SQL schedule: reading one as SQL is a defect, refused here rather than failing later on a missing field.
 */
export function policyOf(policy: Pick<Policy, 'id' | 'backupManagementType' | 'properties'>): SqlPolicy {
  if (policy.backupManagementType !== 'AzureWorkload')
    throw new Error(`policy ${policy.id} is an ${policy.backupManagementType} policy, not a SQL one`);
  return policy.properties as unknown as SqlPolicy;
}

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
export async function protect(
  app: FastifyInstance,
  vault: Vault,
  database: SqlDatabase,
  policy: Policy,
  intentId: string | null = null,
): Promise<{ item: ProtectedItem; created: boolean }> {
  const now = app.clock.now();
  const schedule = scheduleFor(
    policyOf(policy),
    { name: database.name, recoveryModel: database.recoveryModel, isReadOnly: database.isReadOnly },
    now,
  );
  const fields = {
    policyId: policy.id,
    protectionState: 'IRPending' as const,
    recoveryModel: database.recoveryModel,
    isReadOnly: database.isReadOnly,
    ...schedule,
    updatedAt: now,
  };
  return app.db.$transaction(async (tx) => {
    const existing = await tx.protectedItem.findUnique({
      where: { containerId_itemNameKey: { containerId: database.containerId, itemNameKey: database.itemNameKey } },
    });
    if (existing !== null) {
      // Resumed or moved to another policy: Protected already when it has a backup to restore (IRPending means
      // "no backup yet", as Azure shows a resumed item).
      const backedUp = await tx.recoveryPoint.findFirst({
        where: { protectedItemId: existing.id },
        select: { id: true },
      });
      const item = await tx.protectedItem.update({
        where: { id: existing.id },
        data: { ...fields, protectionState: backedUp === null ? 'IRPending' : 'Protected' },
      });
      return { item, created: false };
    }
    const slot =
      await tx.$executeRaw`UPDATE "Vault" SET "protectedItemCount" = "protectedItemCount" + 1 WHERE "id" = ${vault.id} AND "protectedItemCount" < ${PROTECTED_ITEMS_PER_VAULT}`;
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

/**
 * Removes items for good (soft delete expired, or deleted with soft delete off) and frees their slots. Their recovery
 * points and uploads go with the row (cascade); their blobs are deleted after that commits, so a crash in between
 * leaves garbage in storage, never a recovery point without its data.
 */
export async function purgeItems(app: FastifyInstance, items: Pick<ProtectedItem, 'id' | 'vaultId'>[]): Promise<void> {
  for (const item of items) {
    const blobNames = await app.db.$transaction(async (tx) => {
      const [points, uploads] = await Promise.all([
        tx.recoveryPoint.findMany({ where: { protectedItemId: item.id }, select: { blobName: true } }),
        tx.backupUpload.findMany({ where: { protectedItemId: item.id, state: 'Open' }, select: { blobName: true } }),
      ]);
      const removed = await tx.protectedItem.deleteMany({ where: { id: item.id } });
      if (removed.count === 1)
        await tx.$executeRaw`UPDATE "Vault" SET "protectedItemCount" = "protectedItemCount" - 1 WHERE "id" = ${item.vaultId}`;
      return removed.count === 1 ? [...points, ...uploads].map((b) => b.blobName) : [];
    });
    await deleteBackupBlobs(app, item.vaultId, blobNames);
  }
}

/**
 * Purges soft-deleted items whose retention ended by `now` (the vault's soft-delete retention, 14 days by default),
 * in every vault or in one.
 */
export async function purgeExpiredSoftDeletes(app: FastifyInstance, now: Date, vaultId?: string): Promise<number> {
  const expired = await app.db.protectedItem.findMany({
    where: { deferredDeleteAt: { lte: now }, ...(vaultId === undefined ? {} : { vaultId }) },
    select: { id: true, vaultId: true },
    take: 1000,
  });
  await purgeItems(app, expired);
  return expired.length;
}

/** Azure's portal configures at most 50 databases per ConfigureBackup job; auto-protection batches the same way. */
export const CONFIGURE_BATCH = 50;

/**
 * Auto-protection: every protectable, unprotected database of the intent's SQL instance — or of its availability
 * group, whose databases live in the group's container — gets the intent's policy, in ConfigureBackup jobs of at most
 * 50 databases. Runs when the intent is created and after every discovery. An AG's databases need its backup
 * preference met, as when protecting one by hand: otherwise the job fails with Azure's code and nothing is protected.
 */
export async function autoProtect(
  app: FastifyInstance,
  intentId: string,
): Promise<{ protectedCount: number; jobIds: string[] }> {
  const intent = await app.db.protectionIntent.findUnique({
    where: { id: intentId },
    include: { policy: true, vault: true },
  });
  if (intent === null) return { protectedCount: 0, jobIds: [] };
  const container = await app.db.protectionContainer.findUnique({ where: { id: intent.containerId } });
  if (container === null || container.registrationStatus !== 'Registered') return { protectedCount: 0, jobIds: [] };
  const instanceName = intent.itemName.slice(intent.itemName.indexOf(';') + 1);
  const candidates = await app.db.sqlDatabase.findMany({
    where: {
      containerId: container.id,
      instanceName: { equals: instanceName, mode: 'insensitive' },
      isProtectable: true,
    },
    orderBy: { itemNameKey: 'asc' },
  });
  const existing = new Set(
    (await app.db.protectedItem.findMany({ where: { containerId: container.id }, select: { itemNameKey: true } })).map(
      (i) => i.itemNameKey,
    ),
  );
  const unprotected = candidates.filter((d) => !existing.has(d.itemNameKey));
  const unmet = unprotected.length === 0 ? undefined : await groupProtectionProblem(app, container);
  const jobIds: string[] = [];
  let protectedCount = 0;
  for (let i = 0; i < unprotected.length; i += CONFIGURE_BATCH) {
    const batch = unprotected.slice(i, i + CONFIGURE_BATCH);
    // The job exists once there is something to show: runs for one intent may overlap (an AG's nodes each report
    // its databases), and a database the other run protected first is no job of this one.
    let jobId: string | undefined;
    const jobStarted = async () => {
      jobId ??= (await startJob(app, intent.vaultId, 'ConfigureBackup', `${instanceName} [${container.friendlyName}]`))
        .id;
    };
    let failure: ArmError | undefined = unmet && new ArmError(400, unmet.code, unmet.message);
    if (failure !== undefined) await jobStarted();
    for (const database of failure === undefined ? batch : []) {
      try {
        const { item, created } = await protect(app, intent.vault, database, intent.policy, intent.id);
        if (!created) continue;
        await jobStarted();
        await configureAgents(app, container.id, {
          itemName: item.itemName,
          protect: true,
          policy: toWireFormat(policyOf(intent.policy)),
        });
        protectedCount += 1;
      } catch (error) {
        if ((error as { code?: string }).code === 'P2002') continue; // the overlapping run created it meanwhile
        if (!(error instanceof ArmError)) throw error;
        failure = error;
        await jobStarted();
      }
    }
    if (jobId === undefined) continue;
    jobIds.push(jobId);
    await finishJob(app, jobId, failure === undefined ? undefined : { code: failure.code, message: failure.message });
  }
  return { protectedCount, jobIds };
}
