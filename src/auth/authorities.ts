/**
 * The authority forms Entra ID clients use, as the first path segment: the tenant's id, `organizations` and `common`
 * (multi-tenant aliases), and `adfs` — the form az 2.45 needs to skip MSAL's instance discovery at Microsoft's own
 * login host. This service has one tenant; every form but `common` issues tokens for it.
 */
export type Authority =
  | { kind: 'tenant' | 'organizations' | 'adfs'; segment: string; tenantId: string }
  | { kind: 'common'; segment: string; tenantId: undefined };

export function authorityOf(segment: string, tenantId: string): Authority | undefined {
  const lower = segment.toLowerCase();
  if (lower === tenantId) return { kind: 'tenant', segment: lower, tenantId };
  if (lower === 'organizations' || lower === 'adfs') return { kind: lower, segment: lower, tenantId };
  if (lower === 'common') return { kind: 'common', segment: lower, tenantId: undefined };
  return undefined;
}

/** `v1`: `/{tenant}/oauth2/token`; `v2`: `/{tenant}/oauth2/v2.0/token` (ADFS has only the first). */
export type EndpointVersion = 'v1' | 'v2';

/**
 * The OpenID configuration document of an authority. MSAL refuses one without `authorization_endpoint` (it reads
 * it even for client credentials), then posts to `token_endpoint`. The issuer is the one the service's tokens carry.
 */
export function openIdConfiguration(origin: string, authority: Authority, version: EndpointVersion, issuer: string) {
  const base = `${origin}/${authority.segment}/oauth2${version === 'v2' && authority.kind !== 'adfs' ? '/v2.0' : ''}`;
  return {
    issuer,
    authorization_endpoint: `${base}/authorize`,
    token_endpoint: `${base}/token`,
    jwks_uri: `${origin}/.well-known/jwks.json`,
    token_endpoint_auth_methods_supported: ['client_secret_post'],
    grant_types_supported: ['client_credentials'],
    response_types_supported: ['token'],
    scopes_supported: ['openid'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['ES256'],
  };
}
