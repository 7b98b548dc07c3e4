import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../../domain/errors.ts';
import { responses } from '../../arm/schemas.ts';
import { origin } from '../../arm/urls.ts';

/** Azure AD Graph's resource id: az requires one for every cloud, though nothing here calls Graph. */
const GRAPH = 'https://graph.windows.net/';

const Authentication = Type.Object({
  loginEndpoint: Type.String(),
  audiences: Type.Array(Type.String()),
  tenant: Type.Optional(Type.String()),
  identityProvider: Type.Optional(Type.String()),
});
const LegacyEndpoints = Type.Object({
  galleryEndpoint: Type.String(),
  graphEndpoint: Type.String(),
  portalEndpoint: Type.String(),
  authentication: Authentication,
});
const CloudEndpoints = Type.Object({
  name: Type.String(),
  resourceManager: Type.String(),
  portal: Type.String(),
  gallery: Type.String(),
  graph: Type.String(),
  graphAudience: Type.String(),
  authentication: Authentication,
  suffixes: Type.Object({}, { additionalProperties: Type.String() }),
});

/**
 * ARM's cloud metadata (`GET /metadata/endpoints`), from which `az cloud register --endpoint-resource-manager URL`
 * fills in every other endpoint. api-version 2015-01-01 (what az 2.45 asks) is one object; later versions
 * (2019-05-01, 2022-09-01) a list of clouds. The login endpoint is the `/adfs` authority, which both old and new az
 * use without MSAL's instance discovery at Microsoft's login host.
 */
const metadataRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/metadata/endpoints',
    {
      schema: {
        tags: ['identity'],
        security: [],
        summary: 'Cloud endpoints, for az cloud register',
        querystring: Type.Object({ 'api-version': Type.Optional(Type.String({ maxLength: 32 })) }),
        response: responses({ 200: Type.Union([LegacyEndpoints, Type.Array(CloudEndpoints)]) }),
      },
    },
    async (request) => {
      const version = request.query['api-version'];
      if (version === undefined || version === '') throw errors.missingApiVersion();
      if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(version)) throw errors.invalidApiVersion(version);
      const base = origin(request);
      const authentication = {
        loginEndpoint: `${base}/adfs`,
        audiences: app.config.token.audiences,
        tenant: 'adfs',
        identityProvider: 'ADFS',
      };
      if (version < '2019-05-01') {
        return {
          galleryEndpoint: `${base}/`,
          graphEndpoint: GRAPH,
          portalEndpoint: `${base}/`,
          authentication,
        };
      }
      return [
        {
          name: 'RecoveryVault',
          resourceManager: `${base}/`,
          portal: `${base}/`,
          gallery: `${base}/`,
          graph: GRAPH,
          graphAudience: GRAPH,
          authentication,
          suffixes: {},
        },
      ];
    },
  );
};

export default metadataRoutes;
