import { ArmError } from '../domain/errors.ts';
import { failRestore } from '../services/restores.ts';
import { databaseItemName } from '../domain/discovery.ts';
import { finishJob } from './job-records.ts';
import type { OperationHandler } from './operation-handler.ts';
import { targetOf } from './operation-targets.ts';

/**
 * Restore (`restores.trigger`): the target VM's agent applies the chain planned at trigger time, reading the parts
 * through the agent plane. The operation (and its Restore job) ends with the agent's result, so the SDK's
 * `beginTriggerAndWait` resolves when the database is restored — or fails with the agent's code.
 */
export const itemRestore: OperationHandler = {
  async run(app, operation) {
    const { vaultId, protectedItemId, plan } = targetOf(operation, 'item.restore');
    const now = app.clock.now();
    // Safe to repeat after a crash: the restore takes the operation's id, and its command is issued once.
    await app.db.restore.upsert({
      where: { id: operation.id },
      create: {
        id: operation.id,
        vaultId,
        protectedItemId,
        targetContainerId: plan.targetContainerId,
        operationId: operation.id,
        jobId: operation.jobId,
        parts: plan.command.parts.map((p) => p.recoveryPointId),
        pointInTime: plan.pointInTime === undefined ? null : new Date(plan.pointInTime),
        createdAt: now,
        updatedAt: now,
      },
      update: {},
    });
    if ((await app.db.agentCommand.count({ where: { operationId: operation.id } })) === 0) {
      await app.agentCommands.issue(
        plan.targetContainerId,
        'restore',
        { restoreId: operation.id, ...plan.command },
        operation.id,
      );
    }
    return { waitForAgent: true };
  },
  async onAgentResult(app, operation, command) {
    if (command.status === 'Failed') {
      throw new ArmError(
        400,
        command.errorCode ?? 'UserErrorRestoreFailed',
        command.errorMessage ?? 'The workload extension could not restore the database.',
      );
    }
    const now = app.clock.now();
    const { command: restored, targetContainerId } = targetOf(operation, 'item.restore').plan;
    // A database restored over a protected one has a new log chain: that item's next scheduled backup heals as a Full.
    const overwritten =
      restored.mode === 'Database' &&
      restored.target.instanceName !== undefined &&
      restored.target.databaseName !== undefined
        ? databaseItemName(restored.target.instanceName, restored.target.databaseName).toLowerCase()
        : undefined;
    await app.db.$transaction([
      app.db.restore.updateMany({
        where: { id: operation.id, state: 'InProgress' },
        data: { state: 'Succeeded', updatedAt: now },
      }),
      ...(overwritten === undefined
        ? []
        : [
            app.db.protectedItem.updateMany({
              where: { containerId: targetContainerId, itemNameKey: overwritten },
              data: { chainBroken: true, updatedAt: now },
            }),
          ]),
    ]);
    await finishJob(app, operation.jobId);
  },
  async onFailure(app, operation, code, message) {
    await failRestore(app, operation.id, { code, message });
    await finishJob(app, operation.jobId, { code, message });
  },
};
