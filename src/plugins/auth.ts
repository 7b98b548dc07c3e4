import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { loadOrCreateSigningKey } from '../auth/signing-key.ts';
import { TokenService } from '../auth/tokens.ts';
import { bearerToken, verifiedOr401 } from '../auth/bearer.ts';
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
    /**
     * Makes every route of `scope` (registered after this call, in it or its children) a management route: an
     * onRequest hook checks bearer token → caller → subscription visibility → the route's action; a route that
     * declares no action (`config.action`) is refused when it is registered, so the service does not start.
     */
    authorizeRoutes: (scope: FastifyInstance) => void;
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
      const token = bearerToken(header);
      if (token === undefined) throw errors.unauthenticated("The 'Authorization' header must be 'Bearer <token>'.");
      const { principalId } = await verifiedOr401(app.tokens.verify(token));
      request.caller = { principalId, assignments: await assignmentsOf(principalId) };
      return request.caller;
    });

    const authorize = async (request: FastifyRequest) => {
      const { principalId, assignments } = await app.authenticate(request);

      const action = request.routeOptions.config.action;
      // Unreachable (authorizeRoutes refuses such a route at start-up), but never authorise an unknown action.
      if (action === undefined) throw new Error(`route ${request.routeOptions.url} declares no action`);
      const subscriptionId = (request.params as { subscriptionId?: string }).subscriptionId;
      if (subscriptionId !== undefined && !canSeeSubscription(assignments, subscriptionId)) {
        throw errors.subscriptionNotFound(subscriptionId);
      }
      if (!isAuthorized(assignments, subscriptionId, action)) {
        throw errors.authorizationFailed(principalId, action, request.url.split('?')[0] ?? '');
      }
    };

    app.decorate('authorizeRoutes', (scope: FastifyInstance) => {
      scope.addHook('onRoute', (route) => {
        if (route.config?.action === undefined) {
          throw new Error(`route ${route.method.toString()} ${route.url} declares no RBAC action (config.action)`);
        }
      });
      scope.addHook('onRequest', authorize);
    });
  },
  { name: 'auth', dependencies: ['config', 'db'] },
);
