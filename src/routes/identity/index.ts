import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import formbody from '@fastify/formbody';
import { Type, type Static } from 'typebox';
import { verifySecret } from '../../auth/secrets.ts';
import { OAuthError, oauthErrorBody, oauthErrors } from '../../auth/oauth-errors.ts';
import { unavailableDependency } from '../../plugins/errors.ts';
import { authorityOf, openIdConfiguration, type Authority, type EndpointVersion } from '../../auth/authorities.ts';
import { origin } from '../../arm/urls.ts';

const field = (maxLength: number) => Type.Optional(Type.String({ maxLength }));
/** Every field optional: a missing one is answered in OAuth's words (AADSTS900144), not as a schema failure. */
const TokenRequest = Type.Object(
  {
    grant_type: field(64),
    client_id: field(256),
    client_secret: field(1024),
    scope: field(2048),
    resource: field(2048),
  },
  { additionalProperties: true },
);

const TokenResponse = Type.Object({
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  ext_expires_in: Type.Integer(),
  access_token: Type.String(),
});

const OAuthErrorResponse = Type.Object(
  {
    error: Type.String(),
    error_description: Type.String(),
    error_codes: Type.Array(Type.Integer()),
    timestamp: Type.String(),
    trace_id: Type.String(),
    correlation_id: Type.String(),
    error_uri: Type.String(),
  },
  { description: "OAuth 2.0 error, as Entra ID's token endpoint answers (AADSTS code in error_codes)" },
);

const OpenIdConfiguration = Type.Object(
  {
    issuer: Type.String(),
    authorization_endpoint: Type.String(),
    token_endpoint: Type.String(),
    jwks_uri: Type.String(),
    token_endpoint_auth_methods_supported: Type.Array(Type.String()),
    grant_types_supported: Type.Array(Type.String()),
    response_types_supported: Type.Array(Type.String()),
    scopes_supported: Type.Array(Type.String()),
    subject_types_supported: Type.Array(Type.String()),
    id_token_signing_alg_values_supported: Type.Array(Type.String()),
  },
  { description: 'OpenID Connect discovery document' },
);

const Jwks = Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) });
const TenantParams = Type.Object({ tenant: Type.String({ maxLength: 64 }) });
const oauthResponses = { '4xx': OAuthErrorResponse, '5xx': OAuthErrorResponse };

type TokenRequestOf = FastifyRequest<{ Body: Static<typeof TokenRequest>; Params: { tenant?: string } }>;

/**
 * The built-in issuer, shaped like Entra ID so that MSAL (az), azure-identity and scripts written for Azure log in
 * unchanged: OpenID configuration documents for each authority form, client-credentials token endpoints, and token
 * errors in OAuth's shape with Entra ID's AADSTS codes.
 */
const identityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Form bodies exist only here, as Entra ID's token endpoint takes them; anything else (JSON too) is refused in
  // OAuth's words by the error handler below.
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.setErrorHandler((error: FastifyError | OAuthError, request, reply) => {
    if (error instanceof OAuthError) return sendOAuthError(request, reply, error);
    if (error.statusCode !== undefined && error.statusCode < 500)
      return sendOAuthError(request, reply, oauthErrors.malformedBody(error.message));
    const dependency = unavailableDependency(error);
    if (dependency !== undefined) {
      reply.header('retry-after', '5');
      return sendOAuthError(request, reply, oauthErrors.temporarilyUnavailable(dependency));
    }
    request.log.error({ err: error }, 'token request failed');
    return sendOAuthError(request, reply, oauthErrors.serverError(request.id));
  });

  /** The authority named by the path, or the service's tenant for the unprefixed paths. */
  const authority = (segment: string | undefined, errorCode?: string): Authority => {
    if (segment === undefined) return { kind: 'tenant', segment: app.config.tenantId, tenantId: app.config.tenantId };
    const found = authorityOf(segment, app.config.tenantId);
    if (found === undefined) throw oauthErrors.unknownTenant(segment, errorCode);
    return found;
  };

  const issue = async (request: TokenRequestOf) => {
    const { tenantId } = authority(request.params.tenant);
    const body = request.body ?? {};
    if (body.grant_type === undefined) throw oauthErrors.missingParameter('grant_type');
    if (body.grant_type !== 'client_credentials') throw oauthErrors.unsupportedGrantType(body.grant_type);
    if (tenantId === undefined) throw oauthErrors.grantNotSupportedAtCommon();
    if (body.client_id === undefined) throw oauthErrors.missingParameter('client_id');
    if (body.client_secret === undefined) throw oauthErrors.missingSecret();
    const principal = await app.db.principal.findUnique({ where: { clientId: body.client_id } });
    if (principal === null) throw oauthErrors.unknownClient(body.client_id, tenantId);
    if (principal.secretHash === null || !(await verifySecret(body.client_secret, principal.secretHash)))
      throw oauthErrors.invalidSecret(body.client_id);
    const token = await app.tokens.issue(principal, tenantId);
    return {
      token_type: 'Bearer' as const,
      expires_in: token.expiresIn,
      ext_expires_in: token.expiresIn,
      access_token: token.accessToken,
    };
  };

  const tokenSchema = {
    tags: ['identity'],
    security: [],
    consumes: ['application/x-www-form-urlencoded'],
    body: TokenRequest,
    response: { 200: TokenResponse, ...oauthResponses },
  };
  app.post('/oauth2/token', { schema: { ...tokenSchema, summary: 'Issue a token (client credentials)' } }, issue);
  for (const path of ['/:tenant/oauth2/token', '/:tenant/oauth2/v2.0/token']) {
    app.post(
      path,
      {
        schema: {
          ...tokenSchema,
          summary: 'Issue a token (client credentials) for a tenant, `organizations` or `adfs`',
          params: TenantParams,
        },
      },
      issue,
    );
  }

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags: ['identity'],
        security: [],
        summary: 'Public keys of the built-in issuer',
        response: { 200: Jwks },
      },
    },
    async () => app.tokens.jwks,
  );

  const discovery = (version: EndpointVersion) => async (request: FastifyRequest<{ Params: { tenant?: string } }>) =>
    openIdConfiguration(
      origin(request),
      authority(request.params.tenant, 'invalid_tenant'),
      version,
      app.config.token.issuer,
    );
  const discoverySchema = (summary: string, params?: typeof TenantParams) => ({
    tags: ['identity'],
    security: [],
    summary,
    ...(params === undefined ? {} : { params }),
    response: { 200: OpenIdConfiguration, ...oauthResponses },
  });
  app.get(
    '/.well-known/openid-configuration',
    { schema: discoverySchema("OpenID configuration of the service's tenant") },
    discovery('v1'),
  );
  app.get(
    '/:tenant/.well-known/openid-configuration',
    {
      schema: discoverySchema(
        'OpenID configuration of an authority (tenant id, organizations, common, adfs)',
        TenantParams,
      ),
    },
    discovery('v1'),
  );
  app.get(
    '/:tenant/v2.0/.well-known/openid-configuration',
    { schema: discoverySchema('OpenID configuration of an authority, v2.0 endpoints', TenantParams) },
    discovery('v2'),
  );
};

function sendOAuthError(request: FastifyRequest, reply: FastifyReply, error: OAuthError) {
  const clientRequestId = request.headers['client-request-id'];
  return reply
    .code(error.statusCode)
    .type('application/json; charset=utf-8')
    .send(oauthErrorBody(error, new Date(), typeof clientRequestId === 'string' ? clientRequestId : undefined));
}

export default identityRoutes;
