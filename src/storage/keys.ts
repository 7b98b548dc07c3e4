import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Envelope encryption of vault data keys: each vault has its own random AES-256 key, stored only wrapped
 * (AES-256-GCM) under the master key from configuration. Layout: nonce(12) | tag(16) | ciphertext(32).
 */
export function createWrappedDataKey(masterKey: Buffer): Buffer {
  return wrapKey(masterKey, randomBytes(32));
}

export function wrapKey(masterKey: Buffer, dataKey: Buffer): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterKey, nonce);
  const ciphertext = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), ciphertext]);
}

/** Throws when the wrapped key was not made with this master key (GCM tag mismatch). */
export function unwrapDataKey(masterKey: Buffer, wrapped: Uint8Array): Buffer {
  const bytes = Buffer.from(wrapped);
  const decipher = createDecipheriv('aes-256-gcm', masterKey, bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(12, 28));
  return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
}
