import type { FastifyInstance } from 'fastify';
import { requireApiVersion } from '../../arm/api-version.ts';
import { requireValidScope } from '../../arm/scope.ts';
import vaultRoutes from './vaults.ts';
import vaultConfigRoutes from './vault-config.ts';
import vaultOperationRoutes from './vault-operations.ts';
import registrationCredentialRoutes from './registration-credentials.ts';
import containerRoutes from './containers.ts';
import protectableItemRoutes from './protectable-items.ts';
import jobRoutes from './jobs.ts';
import policyRoutes from './policies.ts';
import protectedItemRoutes from './protected-items.ts';
import intentRoutes from './intents.ts';
import recoveryPointRoutes from './recovery-points.ts';
import resourceGuardProxyRoutes from './resource-guard-proxies.ts';

/**
 * The Microsoft.RecoveryServices management plane (what the Azure SDKs call). Every route here authenticates the
 * bearer token, authorises the route's action on its subscription, requires an api-version and a well-formed scope
 * (subscription id, resource group name) — in that order, as ARM's front door does.
 */
export default async function armRoutes(app: FastifyInstance) {
  app.decorateRequest('apiVersion', '');
  // Management bodies are JSON only; anything else is a 415, not a string the schema then rejects.
  app.removeContentTypeParser(['text/plain']);
  app.authorizeRoutes(app);
  app.addHook('onRequest', requireApiVersion);
  app.addHook('onRequest', requireValidScope);
  await app.register(vaultRoutes);
  await app.register(vaultConfigRoutes);
  await app.register(vaultOperationRoutes);
  await app.register(registrationCredentialRoutes);
  await app.register(containerRoutes);
  await app.register(protectableItemRoutes);
  await app.register(jobRoutes);
  await app.register(policyRoutes);
  await app.register(protectedItemRoutes);
  await app.register(intentRoutes);
  await app.register(recoveryPointRoutes);
  await app.register(resourceGuardProxyRoutes);
}
