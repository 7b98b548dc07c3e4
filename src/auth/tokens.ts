import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config.ts';
import type { SigningKey } from './signing-key.ts';

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
}

export interface VerifiedToken {
  /** The principal's object id (`oid`, else `sub`). */
  principalId: string;
}

export class TokenError extends Error {}

/** Agent tokens carry this audience, which the management plane never accepts (and vice versa). */
const AGENT_AUDIENCE = 'urn:recovery-vault:agent';

export interface AgentClaims {
  containerId: string;
  /** The container's token generation when issued; unregistering bumps it, revoking older tokens. */
  generation: number;
}

/** How long a verified token is remembered at most (its own expiry comes first when sooner). */
const VERIFIED_TTL_MS = 5 * 60_000;
/** How long an external issuer's key set is trusted before it is fetched again (jose's default: 10 minutes). */
const JWKS_MAX_AGE_MS = 60_000;

/**
 * Issues the emulator's own tokens (ES256, like Entra ID's shape: iss, aud, sub, oid, tid, appid) and verifies
 * them — or, when configured, tokens of an external issuer fetched by JWKS URL.
 */
export class TokenService {
  private readonly localKeys;
  private readonly externalKeys;
  // A token's signature and claims verify the same way every time until it expires: callers send the same token with
  // every request, and checking an ES256 signature costs more than the rest of authentication. Keyed by the whole
  // token (an altered one is another key), one cache per audience; an entry lives until the token's `exp`, at most
  // VERIFIED_TTL_MS.
  private readonly verifiedCallers = new LRUCache<string, VerifiedToken>({ max: 10_000 });
  private readonly verifiedAgents = new LRUCache<string, AgentClaims>({ max: 10_000 });

  constructor(
    private readonly config: Config['token'],
    private readonly key: SigningKey,
    private readonly now: () => Date,
  ) {
    this.localKeys = createLocalJWKSet({ keys: [key.publicJwk] });
    this.externalKeys =
      config.external === undefined
        ? undefined
        : createRemoteJWKSet(new URL(config.external.jwksUrl), { cacheMaxAge: JWKS_MAX_AGE_MS });
  }

  get jwks() {
    return { keys: [this.key.publicJwk] };
  }

  async issue(principal: { id: string; clientId: string | null }, tenantId: string): Promise<IssuedToken> {
    const issuedAt = Math.floor(this.now().getTime() / 1000);
    const expiresIn = this.config.lifetimeSeconds;
    const accessToken = await new SignJWT({
      oid: principal.id,
      tid: tenantId,
      ...(principal.clientId === null ? {} : { appid: principal.clientId, azp: principal.clientId }),
      uti: randomUUID(),
      ver: '2.0',
    })
      .setProtectedHeader({ alg: 'ES256', kid: this.key.kid, typ: 'JWT' })
      .setIssuer(this.config.issuer)
      .setAudience(this.config.audiences[0] ?? 'https://management.azure.com/')
      .setSubject(principal.id)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + expiresIn)
      .sign(this.key.privateKey);
    return { accessToken, expiresIn };
  }

  /** A token scoped to one protection container, for that VM's agent. */
  async issueAgent(claims: AgentClaims, lifetimeSeconds: number): Promise<{ token: string; expiresAt: Date }> {
    const issuedAt = Math.floor(this.now().getTime() / 1000);
    const token = await new SignJWT({ gen: claims.generation })
      .setProtectedHeader({ alg: 'ES256', kid: this.key.kid, typ: 'JWT' })
      .setIssuer(this.config.issuer)
      .setAudience(AGENT_AUDIENCE)
      .setSubject(claims.containerId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + lifetimeSeconds)
      .sign(this.key.privateKey);
    return { token, expiresAt: new Date((issuedAt + lifetimeSeconds) * 1000) };
  }

  async verifyAgent(token: string): Promise<AgentClaims> {
    return this.remembered(this.verifiedAgents, token, () => this.verifyAgentAnew(token));
  }

  async verify(token: string): Promise<VerifiedToken> {
    return this.remembered(this.verifiedCallers, token, () => this.verifyAnew(token));
  }

  private async remembered<T extends object>(
    cache: LRUCache<string, T>,
    token: string,
    verify: () => Promise<{ result: T; expiresAt: number | undefined }>,
  ): Promise<T> {
    const known = cache.get(token);
    if (known !== undefined) return known;
    const { result, expiresAt } = await verify();
    const ttl = Math.min(VERIFIED_TTL_MS, (expiresAt ?? 0) * 1000 - this.now().getTime());
    if (ttl > 0) cache.set(token, result, { ttl });
    return result;
  }

  private async verifyAgentAnew(token: string) {
    try {
      const { payload } = await jwtVerify(token, this.localKeys, {
        issuer: this.config.issuer,
        audience: AGENT_AUDIENCE,
        algorithms: ['ES256'],
        currentDate: this.now(),
      });
      if (typeof payload.sub !== 'string' || typeof payload.gen !== 'number')
        throw new TokenError('The agent token is malformed.');
      return { result: { containerId: payload.sub, generation: payload.gen }, expiresAt: payload.exp };
    } catch (error) {
      if (error instanceof TokenError) throw error;
      throw new TokenError(describe(error));
    }
  }

  private async verifyAnew(token: string) {
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw new TokenError('The access token is malformed.');
    }
    const external = this.config.external;
    try {
      const { payload } =
        external !== undefined && issuer === external.issuer && this.externalKeys !== undefined
          ? await jwtVerify(token, this.externalKeys, {
              issuer: external.issuer,
              audience: external.audience,
              algorithms: ['RS256', 'ES256', 'PS256'],
              currentDate: this.now(),
            })
          : await jwtVerify(token, this.localKeys, {
              issuer: this.config.issuer,
              audience: this.config.audiences,
              algorithms: ['ES256'],
              currentDate: this.now(),
            });
      const principalId = typeof payload.oid === 'string' ? payload.oid : payload.sub;
      if (principalId === undefined) throw new TokenError('The access token names no principal (oid or sub).');
      return { result: { principalId }, expiresAt: payload.exp };
    } catch (error) {
      if (error instanceof TokenError) throw error;
      throw new TokenError(describe(error));
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The access token has expired.';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return `The access token is not valid here: claim '${error.claim}' ${error.reason === 'check_failed' ? 'does not match' : error.reason}.`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The access token signature is invalid.';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The access token uses an algorithm that is not allowed.';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'The access token was signed by an unknown key.';
  return 'The access token is invalid.';
}
