import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import formbody from '@fastify/formbody';
import { Type, type Static } from 'typebox';
import { ArmError } from '../../domain/errors.ts';
import { verifySecret } from '../../auth/secrets.ts';
import { responses } from '../../arm/schemas.ts';
import { origin } from '../../arm/urls.ts';

const TokenRequest = Type.Object(
  {
    grant_type: Type.String({ maxLength: 64 }),
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
    client_secret: Type.Optional(Type.String({ maxLength: 1024 })),
    scope: Type.Optional(Type.String({ maxLength: 2048 })),
    resource: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: true },
);

const TokenResponse = Type.Object({
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  ext_expires_in: Type.Integer(),
  access_token: Type.String(),
});

const Jwks = Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) });

const oauthError = (status: number, code: string, message: string) => new ArmError(status, code, message);

/**
 * The built-in token issuer, shaped like Entra ID's client-credentials endpoint (form-encoded POST, tenant in the
 * path optional) so that scripts written for Azure work here. Errors keep the service's `{error:{code,message}}`
 * body with OAuth's codes (`invalid_client`, `unsupported_grant_type`, …).
 */
const identityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Form bodies exist only here, as Entra ID's token endpoint takes them; the management plane is JSON only.
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  const issue = async (
    request: FastifyRequest<{ Body: Static<typeof TokenRequest>; Params: { tenantId?: string } }>,
  ) => {
    const body = request.body;
    if (body.grant_type !== 'client_credentials') {
      throw oauthError(
        400,
        'unsupported_grant_type',
        `The grant type '${body.grant_type}' is not supported; use client_credentials.`,
      );
    }
    if (body.client_id === undefined || body.client_secret === undefined) {
      throw oauthError(400, 'invalid_request', 'client_id and client_secret are required.');
    }
    const principal = await app.db.principal.findUnique({ where: { clientId: body.client_id } });
    const valid = principal?.secretHash != null && (await verifySecret(body.client_secret, principal.secretHash));
    if (principal === null || !valid) {
      throw oauthError(401, 'invalid_client', `Client authentication failed for client '${body.client_id}'.`);
    }
    const tenantId = request.params.tenantId ?? '00000000-0000-0000-0000-000000000000';
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
    response: responses({ 200: TokenResponse }),
  };
  app.post('/oauth2/token', { schema: { ...tokenSchema, summary: 'Issue a token (client credentials)' } }, issue);
  for (const path of ['/:tenantId/oauth2/token', '/:tenantId/oauth2/v2.0/token']) {
    app.post(
      path,
      { schema: { ...tokenSchema, hide: true, params: Type.Object({ tenantId: Type.String({ maxLength: 64 }) }) } },
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
  app.get(
    '/.well-known/openid-configuration',
    {
      schema: {
        tags: ['identity'],
        security: [],
        response: {
          200: Type.Object({
            issuer: Type.String(),
            token_endpoint: Type.String(),
            jwks_uri: Type.String(),
            id_token_signing_alg_values_supported: Type.Array(Type.String()),
          }),
        },
      },
    },
    async (request) => ({
      issuer: app.config.token.issuer,
      token_endpoint: `${origin(request)}/oauth2/token`,
      jwks_uri: `${origin(request)}/.well-known/jwks.json`,
      id_token_signing_alg_values_supported: ['ES256'],
    }),
  );
};

export default identityRoutes;
