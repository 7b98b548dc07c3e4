import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { AgentCommand } from '../generated/prisma/client.ts';
import type { CommandResult, CommandType } from '../protocol/agent.ts';
import { errors } from '../domain/errors.ts';

export interface AgentCommands {
  /** Queues a command for a container's agent and wakes its long-poll (in whichever process it waits). */
  issue(containerId: string, type: CommandType, payload?: object, operationId?: string): Promise<AgentCommand>;
  /** Wakes the long-polls of these containers' agents (commands were queued for them). */
  wake(containerIds: Iterable<string>): Promise<void>;
  /**
   * Commands ready for delivery (new, or delivered but unacknowledged past their lease), waiting up to `waitSeconds`.
   * Nothing is claimed once `abandoned` fires (the agent hung up), and what it fires during is released, so no
   * command is leased to a poll nobody reads.
   */
  poll(containerId: string, waitSeconds: number, abandoned?: AbortSignal): Promise<AgentCommand[]>;
  acknowledge(containerId: string, commandId: string): Promise<void>;
  /** Records the agent's result; only the first result counts. Returns the command if this call completed it. */
  complete(containerId: string, commandId: string, result: CommandResult): Promise<AgentCommand | null>;
}

declare module 'fastify' {
  interface FastifyInstance {
    agentCommands: AgentCommands;
  }
}

const channel = (prefix: string, containerId: string) => `${prefix}:agent-commands:${containerId}`;

export default fp(
  async (app) => {
    const prefix = app.config.queuePrefix;
    const waiters = new Map<string, Set<() => void>>();
    let closing = false;
    // One subscriber connection per process; Postgres stays the truth, the message only wakes a waiting poll.
    const subscriber: Redis = app.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber.on('error', (error) => app.log.warn({ err: error }, 'agent command subscriber error'));
    await subscriber.psubscribe(`${prefix}:agent-commands:*`);
    subscriber.on('pmessage', (_pattern, name) => {
      const containerId = name.slice(name.lastIndexOf(':') + 1);
      for (const wake of waiters.get(containerId) ?? []) wake();
    });
    app.addHook('onClose', async () => {
      closing = true;
      for (const set of waiters.values()) for (const wake of set) wake();
      subscriber.disconnect();
    });

    const waitForWake = (containerId: string, ms: number) =>
      new Promise<void>((resolve) => {
        const set = waiters.get(containerId) ?? new Set();
        waiters.set(containerId, set);
        const done = () => {
          clearTimeout(timer);
          set.delete(done);
          if (set.size === 0) waiters.delete(containerId);
          resolve();
        };
        const timer = setTimeout(done, ms);
        set.add(done);
      });

    const claim = async (containerId: string): Promise<AgentCommand[]> => {
      const now = app.clock.now();
      const ready = await app.db.agentCommand.findMany({
        where: {
          containerId,
          OR: [{ status: 'Pending' }, { status: 'Delivered', leaseUntil: { lt: now } }],
        },
        orderBy: { issuedAt: 'asc' },
        take: 20,
      });
      const leaseUntil = new Date(now.getTime() + app.config.agent.commandLeaseSeconds * 1000);
      const claimed: AgentCommand[] = [];
      for (const command of ready) {
        // Conditional update: two polls racing for one command deliver it once per lease.
        const updated = await app.db.agentCommand.updateMany({
          where: { id: command.id, status: command.status, attempts: command.attempts },
          data: { status: 'Delivered', attempts: { increment: 1 }, leaseUntil },
        });
        if (updated.count === 1)
          claimed.push({ ...command, status: 'Delivered', attempts: command.attempts + 1, leaseUntil });
      }
      return claimed;
    };

    const release = async (claimed: readonly AgentCommand[]) => {
      for (const command of claimed) {
        await app.db.agentCommand.updateMany({
          where: { id: command.id, status: 'Delivered', attempts: command.attempts },
          data: { status: 'Pending', attempts: command.attempts - 1, leaseUntil: null },
        });
      }
    };

    /** A 404 unless the command exists and is this container's. */
    const requireOwnCommand = async (containerId: string, commandId: string) => {
      const command = await app.db.agentCommand.findUnique({ where: { id: commandId }, select: { containerId: true } });
      if (command?.containerId !== containerId)
        throw errors.resourceNotFound(`The command '${commandId}' of this container`);
    };

    app.decorate('agentCommands', {
      async issue(containerId, type, payload = {}, operationId) {
        const command = await app.db.agentCommand.create({
          data: {
            containerId,
            type,
            payload: payload as object,
            issuedAt: app.clock.now(),
            operationId: operationId ?? null,
          },
        });
        await app.announce([[channel(prefix, containerId), command.id]]);
        return command;
      },

      async wake(containerIds) {
        await app.announce([...containerIds].map((containerId) => [channel(prefix, containerId), 'wake'] as const));
      },

      async poll(containerId, waitSeconds, abandoned) {
        const deadline = Date.now() + waitSeconds * 1000;
        const hungUp = () => abandoned?.aborted === true;
        for (;;) {
          if (hungUp()) return [];
          const claimed = await claim(containerId);
          if (hungUp()) {
            // The agent hung up while they were being claimed: back to Pending now, not after the lease.
            await release(claimed);
            return [];
          }
          const remaining = deadline - Date.now();
          if (claimed.length > 0 || remaining <= 0 || closing) return claimed;
          // Re-check at least every second: a lease may expire without any message.
          await waitForWake(containerId, Math.min(remaining, 1_000));
        }
      },

      // Acknowledge and complete touch only this container's command, in one statement; only when it touched
      // nothing is the command read, to tell another container's (404) from one already past that state.
      async acknowledge(containerId, commandId) {
        const { count } = await app.db.agentCommand.updateMany({
          where: { id: commandId, containerId, status: { in: ['Pending', 'Delivered'] } },
          data: { status: 'Acknowledged', leaseUntil: null },
        });
        if (count === 0) await requireOwnCommand(containerId, commandId);
      },

      async complete(containerId, commandId, result) {
        const [completed] = await app.db.agentCommand.updateManyAndReturn({
          where: { id: commandId, containerId, status: { in: ['Pending', 'Delivered', 'Acknowledged'] } },
          data: {
            status: result.status,
            completedAt: app.clock.now(),
            result: (result.result ?? {}) as object,
            errorCode: result.error?.code ?? null,
            errorMessage: result.error?.message ?? null,
            leaseUntil: null,
          },
        });
        if (completed !== undefined) return completed;
        await requireOwnCommand(containerId, commandId);
        return null;
      },
    } satisfies AgentCommands);
  },
  { name: 'agent-commands', dependencies: ['db', 'queues', 'clock'] },
);
