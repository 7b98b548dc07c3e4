import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ProtectionContainer } from '../../generated/prisma/client.ts';
import { errors } from '../../domain/errors.ts';
import { bearerToken, verifiedOr401 } from '../../auth/bearer.ts';

declare module 'fastify' {
  interface FastifyRequest {
    container: ProtectionContainer | undefined;
  }
}

/**
 * The onRequest hook of container-scoped agent routes: the agent token must be valid, still current (unregistering
 * revokes it: 401) and for the container in the path (403 otherwise).
 */
export function agentAuthentication(app: FastifyInstance) {
  return async (request: FastifyRequest) => {
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) throw errors.missingToken();
    const claims = await verifiedOr401(app.tokens.verifyAgent(token));
    const container = await app.db.protectionContainer.findUnique({ where: { id: claims.containerId } });
    if (container === null || container.tokenGeneration !== claims.generation) {
      throw errors.unauthenticated(
        'The agent token is no longer valid: the container was unregistered. Register the VM again.',
      );
    }
    const { containerName } = request.params as { containerName: string };
    if (container.nameKey !== containerName.toLowerCase()) throw errors.agentForbidden(containerName);
    // An injected AgentSilence or VmConnectivity: this VM's requests never reach the vault (the agent sees an outage
    // and retries).
    if (app.faults.agentSilenced(container.id))
      throw errors.serviceUnavailable('The vault, seen from this VM (an emulator fault),');
    request.container = container;
  };
}

/** The container an authenticated agent request acts for. */
export const containerOf = (request: FastifyRequest) => request.container as ProtectionContainer;
