import type { FastifyInstance } from 'fastify';
import { ArmError } from '../domain/errors.ts';
import { toWireFormat } from '../domain/policy/validate.ts';
import { scheduleFor } from '../domain/protection.ts';
import { policyOf, purgeItems } from '../services/protection.ts';
import { configureAgents } from '../services/availability-groups.ts';
import type { OperationHandler } from './operation-handler.ts';
import { targetOf } from './operation-targets.ts';
import { finishJob, startJob } from './job-records.ts';

async function itemOf(
  app: FastifyInstance,
  { containerId, itemNameKey }: { containerId: string; itemNameKey: string },
) {
  return app.db.protectedItem.findUnique({
    where: { containerId_itemNameKey: { containerId, itemNameKey } },
    include: { policy: true },
  });
}

/** Tells the VM's agent (an AG's nodes' agents) what to back up (it caches the policy); fire-and-forget for stops and deletes. */
function sendProtection(
  app: FastifyInstance,
  containerId: string,
  itemName: string,
  policy: object | null,
  operationId?: string,
) {
  return configureAgents(app, containerId, { itemName, protect: policy !== null, policy }, operationId);
}

/** Configure protection or change policy: the agent confirms it has the policy; the item stays IRPending until its first backup. */
export const itemConfiguration: OperationHandler = {
  async run(app, operation) {
    const item = await itemOf(app, targetOf(operation, 'item.configure'));
    if (item === null || item.policy === null)
      throw new ArmError(
        404,
        'BMSUserErrorDataSourceObjectNotFound',
        'The item was removed before its protection was configured.',
      );
    await sendProtection(app, item.containerId, item.itemName, toWireFormat(policyOf(item.policy)), operation.id);
    return { waitForAgent: true };
  },
  async onAgentResult(app, operation, command) {
    if (command.status === 'Failed') {
      throw new ArmError(
        400,
        command.errorCode ?? 'UserErrorWorkloadExtensionNotReachable',
        command.errorMessage ?? 'The workload extension could not apply the policy.',
      );
    }
    await finishJob(app, operation.jobId);
  },
  async onFailure(app, operation, code, message) {
    const target = targetOf(operation, 'item.configure');
    const item = await itemOf(app, target);
    if (item !== null && target.created === true) {
      await purgeItems(app, [item]);
    } else if (item !== null) {
      await app.db.protectedItem.update({
        where: { id: item.id },
        data: { protectionState: 'ProtectionError', lastBackupError: { code, message }, updatedAt: app.clock.now() },
      });
    }
    await finishJob(app, operation.jobId, { code, message });
  },
};

/** Stop protection keeping the data: no more schedules; recovery points stay (ProtectionStopped keeps them forever). */
export const itemStop: OperationHandler = {
  async run(app, operation) {
    const target = targetOf(operation, 'item.stop');
    const item = await itemOf(app, target);
    if (item !== null) {
      const state = target.state ?? 'ProtectionStopped';
      await app.db.protectedItem.update({
        where: { id: item.id },
        data: {
          protectionState: state,
          ...(state === 'ProtectionStopped' ? { policyId: null } : {}),
          nextFullAt: null,
          nextDiffAt: null,
          nextLogAt: null,
          updatedAt: app.clock.now(),
        },
      });
      await sendProtection(app, item.containerId, item.itemName, null);
    }
    await finishJob(app, operation.jobId);
  },
};

/** Stop and delete data: soft-deleted for the vault's retention when soft delete is on, purged at once otherwise. */
export const itemDeletion: OperationHandler = {
  async run(app, operation) {
    const item = await itemOf(app, targetOf(operation, 'item.delete'));
    if (item !== null) {
      const vault = await app.db.vault.findUniqueOrThrow({ where: { id: item.vaultId } });
      await sendProtection(app, item.containerId, item.itemName, null);
      if (vault.softDeleteState === 'Disabled') {
        await purgeItems(app, [item]);
      } else {
        const now = app.clock.now();
        await app.db.protectedItem.update({
          where: { id: item.id },
          data: {
            protectionState: 'ProtectionStopped',
            policyId: null,
            nextFullAt: null,
            nextDiffAt: null,
            nextLogAt: null,
            deferredDeleteAt: new Date(now.getTime() + vault.softDeleteRetentionDays * 86_400_000),
            updatedAt: now,
          },
        });
      }
    }
    await finishJob(app, operation.jobId);
  },
};

/** Undelete: the item returns as "protection stopped, data kept"; resume protection with a policy afterwards. */
export const itemUndelete: OperationHandler = {
  async run(app, operation) {
    const item = await itemOf(app, targetOf(operation, 'item.undelete'));
    if (item === null || item.deferredDeleteAt === null)
      throw new ArmError(400, 'BMSUserErrorInvalidConfigureProtectionRequest', 'The item is not soft-deleted.');
    await app.db.protectedItem.update({
      where: { id: item.id },
      data: { deferredDeleteAt: null, protectionState: 'ProtectionStopped', updatedAt: app.clock.now() },
    });
    await finishJob(app, operation.jobId);
  },
};

/** A changed policy reaches its protected items: new schedules, the agents get the policy, one job per item. */
export const policyUpdate: OperationHandler = {
  async run(app, operation) {
    const target = targetOf(operation, 'policy.update');
    const { policyId } = target;
    const policy = await app.db.policy.findUniqueOrThrow({ where: { id: policyId } });
    const items = await app.db.protectedItem.findMany({
      where: {
        policyId,
        protectionState: { in: ['IRPending', 'Protected', 'ProtectionError'] },
        deferredDeleteAt: null,
      },
      include: { container: true },
    });
    const now = app.clock.now();
    const jobIds: string[] = [];
    for (const item of items) {
      const job = await startJob(
        app,
        item.vaultId,
        'ConfigureBackup',
        `${item.friendlyName} [${item.container.friendlyName}]`,
      );
      await app.db.protectedItem.update({
        where: { id: item.id },
        data: {
          ...scheduleFor(
            policyOf(policy),
            { name: item.friendlyName, recoveryModel: item.recoveryModel, isReadOnly: item.isReadOnly },
            now,
          ),
          updatedAt: now,
        },
      });
      await sendProtection(app, item.containerId, item.itemName, toWireFormat(policyOf(policy)));
      await finishJob(app, job.id);
      jobIds.push(job.id);
    }
    await app.db.operation.update({
      where: { id: operation.id },
      data: { target: { ...target, jobIds } },
    });
  },
};
