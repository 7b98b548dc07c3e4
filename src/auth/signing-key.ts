import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, type CryptoKey } from 'jose';

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
  let privateJwk: JWK;
  if (existsSync(file)) {
    privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } else {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    privateJwk = await exportJWK(privateKey);
    mkdirSync(dirname(file), { recursive: true });
    try {
      writeFileSync(file, JSON.stringify(privateJwk), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process created it first: use theirs so both sign with one key.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
    }
  }
  const { d: _private, ...publicJwk } = privateJwk;
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    privateKey: (await importJWK(privateJwk, 'ES256')) as CryptoKey,
    publicJwk: { ...publicJwk, kid, alg: 'ES256', use: 'sig' },
  };
}
