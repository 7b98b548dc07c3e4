import type { FastifyInstance } from 'fastify';
import type { AgentCommand, Operation } from '../generated/prisma/client.ts';

/**
 * The work behind one kind of asynchronous operation. `run` must be safe to repeat after a crash. An operation
 * that needs a VM's agent issues a command and returns `waitForAgent`; `onAgentResult` then finishes it when the
 * agent answers (throw an ArmError to fail it), and `onTimeout` cleans up if it never does.
 */
export interface OperationHandler {
  run(app: FastifyInstance, operation: Operation): Promise<{ waitForAgent?: boolean } | void>;
  onAgentResult?(app: FastifyInstance, operation: Operation, command: AgentCommand): Promise<void>;
  onFailure?(app: FastifyInstance, operation: Operation, code: string, message: string): Promise<void>;
}
