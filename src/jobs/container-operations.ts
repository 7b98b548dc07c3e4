import type { AgentCommand } from '../generated/prisma/client.ts';
import { ArmError } from '../domain/errors.ts';
import type { OperationHandler } from './operation-handler.ts';
import { finishJob } from './job-records.ts';
import { targetOf } from './operation-targets.ts';

/** An agent's failed answer becomes the operation's failure, with the agent's own code. */
function throwIfFailed(command: AgentCommand, fallbackCode: string): void {
  if (command.status === 'Failed') {
    throw new ArmError(
      400,
      command.errorCode ?? fallbackCode,
      command.errorMessage ?? 'The workload extension reported a failure.',
    );
  }
}

/** refreshContainers: VMs whose agents registered with the vault become protectable containers. */
export const containerRefresh: OperationHandler = {
  async run(app, operation) {
    const { vaultId } = targetOf(operation, 'fabric.refresh');
    await app.db.protectionContainer.updateMany({
      where: { vaultId, discovered: false },
      data: { discovered: true, updatedAt: app.clock.now() },
    });
  },
};

/** Register (or re-register): the agent installs the workload extension; then the databases are discovered. */
export const containerRegistration: OperationHandler = {
  async run(app, operation) {
    await app.agentCommands.issue(
      targetOf(operation, 'container.register').containerId,
      'registerExtension',
      {},
      operation.id,
    );
    return { waitForAgent: true };
  },
  async onAgentResult(app, operation, command) {
    throwIfFailed(command, 'UserErrorWorkloadExtensionNotInstalled');
    const { containerId } = targetOf(operation, 'container.register');
    const now = app.clock.now();
    await app.db.protectionContainer.update({
      where: { id: containerId },
      data: { registrationStatus: 'Registered', registeredAt: now, updatedAt: now },
    });
    await finishJob(app, operation.jobId);
    // As in Azure, registering discovers the VM's databases right away (the agent reports its inventory).
    await app.agentCommands.issue(containerId, 'discover');
  },
  async onFailure(app, operation, code, message) {
    const { containerId } = targetOf(operation, 'container.register');
    await app.db.protectionContainer.updateMany({
      where: { id: containerId, registrationStatus: 'Registering' },
      data: { registrationStatus: 'NotRegistered', updatedAt: app.clock.now() },
    });
    await finishJob(app, operation.jobId, { code, message });
  },
};

/** inquire: the agent reports its inventory (POST …/inventory); the operation ends with the command. */
export const containerInquiry: OperationHandler = {
  async run(app, operation) {
    await app.agentCommands.issue(targetOf(operation, 'container.inquire').containerId, 'discover', {}, operation.id);
    return { waitForAgent: true };
  },
  async onAgentResult(_app, _operation, command) {
    throwIfFailed(command, 'UserErrorInquiryFailed');
  },
};

/** Unregister: the agent removes the extension; the container and everything discovered on it go. */
export const containerUnregistration: OperationHandler = {
  async run(app, operation) {
    await app.agentCommands.issue(
      targetOf(operation, 'container.unregister').containerId,
      'unregister',
      {},
      operation.id,
    );
    return { waitForAgent: true };
  },
  async onAgentResult(app, operation, command) {
    throwIfFailed(command, 'UserErrorWorkloadExtensionNotReachable');
    await app.db.protectionContainer.deleteMany({
      where: { id: targetOf(operation, 'container.unregister').containerId },
    });
    await finishJob(app, operation.jobId);
  },
  async onFailure(app, operation, code, message) {
    await app.db.protectionContainer.updateMany({
      where: { id: targetOf(operation, 'container.unregister').containerId, registrationStatus: 'Unregistering' },
      data: { registrationStatus: 'Registered', updatedAt: app.clock.now() },
    });
    await finishJob(app, operation.jobId, { code, message });
  },
};
