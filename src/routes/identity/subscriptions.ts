import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../../domain/errors.ts';
import { subscriptionsOf } from '../../services/subscriptions.ts';
import { requireApiVersion } from '../../arm/api-version.ts';
import { requireValidScope } from '../../arm/scope.ts';
import { ApiVersionQuery, responses } from '../../arm/schemas.ts';

const Subscription = Type.Object({
  id: Type.String(),
  authorizationSource: Type.String(),
  managedByTenants: Type.Array(Type.Object({ tenantId: Type.String() })),
  subscriptionId: Type.String(),
  tenantId: Type.String(),
  displayName: Type.String(),
  state: Type.String(),
  subscriptionPolicies: Type.Object({
    locationPlacementId: Type.String(),
    quotaId: Type.String(),
    spendingLimit: Type.String(),
  }),
});

const Tenant = Type.Object({
  id: Type.String(),
  tenantId: Type.String(),
  tenantCategory: Type.String(),
  displayName: Type.String(),
  domains: Type.Array(Type.String()),
});

/**
 * ARM's subscription and tenant lists (Microsoft.Resources), which az reads at login to pick its default
 * subscription: what the caller's role assignments reach, each subscription enabled and in the service's tenant.
 */
const subscriptionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.decorateRequest('apiVersion', '');
  app.addHook('onRequest', async (request) => {
    await app.authenticate(request);
  });
  app.addHook('onRequest', requireApiVersion);
  app.addHook('onRequest', requireValidScope);

  const render = (subscriptionId: string) => ({
    id: `/subscriptions/${subscriptionId}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    subscriptionId,
    tenantId: app.config.tenantId,
    displayName: `recovery-vault ${subscriptionId}`,
    state: 'Enabled',
    subscriptionPolicies: {
      locationPlacementId: 'Public_2014-09-01',
      quotaId: 'PayAsYouGo_2014-09-01',
      spendingLimit: 'Off',
    },
  });
  const visible = (request: FastifyRequest) => subscriptionsOf(app.db, request.caller?.assignments ?? []);

  app.get(
    '/subscriptions',
    {
      schema: {
        tags: ['identity'],
        summary: 'Subscriptions the caller can see',
        querystring: ApiVersionQuery,
        response: responses({
          200: Type.Object({
            value: Type.Array(Subscription),
            count: Type.Object({ type: Type.String(), value: Type.Integer() }),
          }),
        }),
      },
    },
    async (request) => {
      const ids = await visible(request);
      return { value: ids.map(render), count: { type: 'Total', value: ids.length } };
    },
  );

  app.get(
    '/subscriptions/:subscriptionId',
    {
      schema: {
        tags: ['identity'],
        summary: 'A subscription the caller can see',
        params: Type.Object({ subscriptionId: Type.String({ maxLength: 64 }) }),
        querystring: ApiVersionQuery,
        response: responses({ 200: Subscription }),
      },
    },
    async (request) => {
      const wanted = request.params.subscriptionId.toLowerCase();
      if (!(await visible(request)).includes(wanted)) throw errors.subscriptionNotFound(request.params.subscriptionId);
      return render(wanted);
    },
  );

  app.get(
    '/tenants',
    {
      schema: {
        tags: ['identity'],
        summary: "The caller's tenants (the service's one)",
        querystring: ApiVersionQuery,
        response: responses({ 200: Type.Object({ value: Type.Array(Tenant) }) }),
      },
    },
    async () => ({
      value: [
        {
          id: `/tenants/${app.config.tenantId}`,
          tenantId: app.config.tenantId,
          tenantCategory: 'Home',
          displayName: 'recovery-vault',
          domains: [],
        },
      ],
    }),
  );
};

export default subscriptionRoutes;
