import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';

export interface TlsMaterial {
  cert: string;
  key: string;
  certFile: string;
  /** True when this call created the certificate (first start). */
  generated: boolean;
}

/**
 * The HTTPS certificate: the user's own (RV_TLS_CERT/RV_TLS_KEY), or a self-signed one for localhost and
 * 127.0.0.1 created once in the data directory. The Azure SDK refuses bearer tokens over plain http, so
 * HTTPS is how the stock SDK pipeline reaches the emulator.
 */
export async function loadOrCreateCertificate(config: Config): Promise<TlsMaterial> {
  if (config.tls.certFile !== undefined && config.tls.keyFile !== undefined) {
    return {
      cert: readFileSync(config.tls.certFile, 'utf8'),
      key: readFileSync(config.tls.keyFile, 'utf8'),
      certFile: config.tls.certFile,
      generated: false,
    };
  }
  const dir = join(config.dataDir, 'tls');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    // Certificates made by earlier versions lack the final newline: add it, so the file concatenates into bundles.
    if (!cert.endsWith('\n')) writeFileSync(certFile, withFinalNewline(cert));
    return { cert: withFinalNewline(cert), key: readFileSync(keyFile, 'utf8'), certFile, generated: false };
  }
  // Loaded only to make a certificate (first start): its X.509 libraries cost a running service ~4 MiB for nothing.
  const { default: selfsigned } = await import('selfsigned');
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    // 825 days: the longest validity that Apple's and browsers' TLS policies accept for a leaf certificate.
    notAfterDate: new Date(Date.now() + 825 * 86_400_000),
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  // PEM files end with a newline, so that `cat cert.pem system-bundle.pem` makes a valid bundle (selfsigned's don't).
  const cert = withFinalNewline(pems.cert);
  const key = withFinalNewline(pems.private);
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyFile, key, { mode: 0o600 });
  writeFileSync(certFile, cert);
  return { cert, key, certFile, generated: true };
}

const withFinalNewline = (pem: string) => (pem.endsWith('\n') ? pem : `${pem}\n`);
