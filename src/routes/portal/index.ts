import type { FastifyInstance } from 'fastify';
import { requireValidScope } from '../../arm/scope.ts';
import summaryRoutes from './summary.ts';
import alertRoutes from './alerts.ts';
import backupItemRoutes from './backup-items.ts';
import eventRoutes from './events.ts';

/**
 * Read models a portal backend needs, per vault, under /portal/v1 + the vault's management path: the same bearer
 * tokens and RBAC as the management API (a subscription without a role is a 404 SubscriptionNotFound), the same
 * `{error:{code,message}}` errors, paging and `$filter`; no api-version.
 */
export default async function portalRoutes(app: FastifyInstance) {
  app.authorizeRoutes(app);
  app.addHook('onRequest', requireValidScope);
  await app.register(summaryRoutes);
  await app.register(alertRoutes);
  await app.register(backupItemRoutes);
  await app.register(eventRoutes);
}
