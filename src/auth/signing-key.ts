import { existsSync, readFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, type CryptoKey } from 'jose';
import { ConfigError } from '../config.ts';
import { createFileOnce } from '../files.ts';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * The built-in issuer's ES256 key, created once and kept in a file so tokens outlive restarts and every process
 * that shares the file (API, workers, the `token` CLI) signs and verifies alike.
 */
export async function loadOrCreateSigningKey(file: string): Promise<SigningKey> {
  if (!existsSync(file)) {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    // Atomic: of processes starting together on a fresh volume one creates it, the others read theirs.
    createFileOnce(file, JSON.stringify(await exportJWK(privateKey)));
  }
  const privateJwk = readSigningKey(file);
  const { d: _private, ...publicJwk } = privateJwk;
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    privateKey: (await importJWK(privateJwk, 'ES256')) as CryptoKey,
    publicJwk: { ...publicJwk, kid, alg: 'ES256', use: 'sig' },
  };
}

function readSigningKey(file: string): JWK {
  let jwk: JWK | undefined;
  try {
    jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } catch {
    jwk = undefined;
  }
  if (
    jwk?.kty !== 'EC' ||
    jwk.crv !== 'P-256' ||
    typeof jwk.d !== 'string' ||
    Buffer.from(jwk.d, 'base64url').length !== 32
  )
    throw new ConfigError(
      'RV_TOKEN_SIGNING_KEY_FILE',
      `${file} is not an ES256 private key (JWK); restore the deployment's key file`,
    );
  return jwk;
}
