import { createPublicKey } from 'node:crypto';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';

/**
 * Tokens an attacker might present, built from a genuine one: each must be refused with 401. Those that test a
 * claim (issuer, audience, expiry) are signed with the service's real key, so that only the claim is wrong.
 */
export async function forgedTokens(genuine: string, signingKeyFile: string): Promise<[label: string, token: string][]> {
  const claims = decodeJwt(genuine);
  const real = await loadOrCreateSigningKey(signingKeyFile);
  const stranger = await generateKeyPair('ES256', { extractable: true });
  const strangerKey = stranger.privateKey;
  const now = Math.floor(Date.now() / 1000);
  const sign = (
    payload: JWTPayload,
    key = real.privateKey,
    header: Record<string, unknown> = { alg: 'ES256', kid: real.kid, typ: 'JWT' },
  ) => new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const [header = '', payload = '', signature = ''] = genuine.split('.');
  // Alg confusion: an HMAC whose secret is the public key, as a verifier that trusts the header's alg would check it.
  const publicPem = createPublicKey({ key: real.publicJwk as never, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const hmacWith = async (secret: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: real.kid, typ: 'JWT' })
      .sign(new TextEncoder().encode(secret));
  const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
  return [
    ['signed by another key, with the real kid', await sign(claims, strangerKey)],
    [
      'signature of another token',
      `${header}.${encode({ ...claims, oid: '00000000-0000-0000-0000-00000000beef' })}.${signature}`,
    ],
    ['signature bytes altered', `${header}.${payload}.${flipped}`],
    ['wrong issuer', await sign({ ...claims, iss: 'https://login.example.test/attacker/' })],
    ['wrong audience', await sign({ ...claims, aud: 'https://storage.azure.com/' })],
    ['expired', await sign({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 })],
    ['not valid yet', await sign({ ...claims, iat: now, nbf: now + 3600, exp: now + 7200 })],
    ['alg none', `${encode({ alg: 'none', typ: 'JWT' })}.${payload}.`],
    ['alg None with the real signature', `${encode({ alg: 'None', kid: real.kid })}.${payload}.${signature}`],
    ['HS256 keyed with the public key (PEM)', await hmacWith(publicPem)],
    ['HS256 keyed with the public JWK', await hmacWith(JSON.stringify(real.publicJwk))],
    [
      'its own key in the jwk header',
      await sign(claims, strangerKey, { alg: 'ES256', jwk: await exportJWK(stranger.publicKey) }),
    ],
    ['not a JWT', 'definitely-not-a-token'],
    ['two segments', `${header}.${payload}`],
    ['payload not JSON', `${header}.${Buffer.from('{"oid":').toString('base64url')}.${signature}`],
  ];
}
