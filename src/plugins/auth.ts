import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import type { FastifyRequest } from 'fastify';
import { loadOrCreateSigningKey } from '../auth/signing-key.ts';
import { TokenError, TokenService } from '../auth/tokens.ts';
import { seedPrincipals } from '../auth/principals.ts';
import { canSeeSubscription, isAuthorized, type Assignment } from '../domain/rbac.ts';
import { errors } from '../domain/errors.ts';

export interface Caller {
  principalId: string;
  assignments: Assignment[];
}

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokenService;
    /** The caller a request's bearer token names, with its role assignments (401 without a valid token). */
    authenticate: (request: FastifyRequest) => Promise<Caller>;
    /** onRequest hook for management routes: bearer token → caller → subscription visibility → role action. */
    authorize: (request: FastifyRequest) => Promise<void>;
  }
  interface FastifyRequest {
    caller: Caller | undefined;
  }
  interface FastifyContextConfig {
    /** The ARM action a route performs, e.g. `Microsoft.RecoveryServices/vaults/write`. */
    action?: string;
  }
}

const ASSIGNMENTS_TTL_MS = 5_000;

export default fp(
  async (app) => {
    const key = await loadOrCreateSigningKey(app.config.token.signingKeyFile);
    // Tokens live in real time: simulated time (the emulator clock) may jump days ahead, a token's hour must not.
    app.decorate('tokens', new TokenService(app.config.token, key, () => new Date()));
    await seedPrincipals(app.db, app.config.principals);
    app.decorateRequest('caller', undefined);

    // Role assignments change only when a process seeds principals from its configuration, so a few seconds' cache
    // spares every management request a query (another process's different seed shows within ASSIGNMENTS_TTL_MS).
    const assignmentCache = new LRUCache<string, Promise<Assignment[]>>({ max: 10_000, ttl: ASSIGNMENTS_TTL_MS });
    const assignmentsOf = (principalId: string) => {
      const cached = assignmentCache.get(principalId);
      if (cached !== undefined) return cached;
      const assignments = app.db.roleAssignment
        .findMany({ where: { principalId }, select: { role: true, subscriptionId: true } })
        .then((rows) => rows as Assignment[]);
      assignmentCache.set(principalId, assignments);
      assignments.catch(() => assignmentCache.delete(principalId));
      return assignments;
    };

    app.decorate('authenticate', async (request: FastifyRequest) => {
      const header = request.headers.authorization;
      if (header === undefined) throw errors.missingToken();
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (match?.[1] === undefined)
        throw errors.unauthenticated("The 'Authorization' header must be 'Bearer <token>'.");
      let principalId: string;
      try {
        principalId = (await app.tokens.verify(match[1])).principalId;
      } catch (error) {
        if (error instanceof TokenError) throw errors.unauthenticated(error.message);
        throw error;
      }
      request.caller = { principalId, assignments: await assignmentsOf(principalId) };
      return request.caller;
    });

    app.decorate('authorize', async (request: FastifyRequest) => {
      const { principalId, assignments } = await app.authenticate(request);
      const action = request.routeOptions.config.action;
      if (action === undefined) throw new Error(`route ${request.routeOptions.url} declares no action`);
      const subscriptionId = (request.params as { subscriptionId?: string }).subscriptionId;
      if (subscriptionId !== undefined && !canSeeSubscription(assignments, subscriptionId)) {
        throw errors.subscriptionNotFound(subscriptionId);
      }
      if (!isAuthorized(assignments, subscriptionId, action)) {
        throw errors.authorizationFailed(principalId, action, request.url.split('?')[0] ?? '');
      }
    });
  },
  { name: 'auth', dependencies: ['config', 'db'] },
);
