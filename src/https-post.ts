import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import { rootCertificates } from 'node:tls';

/**
 * A POST that trusts, for https, Node's roots plus the given CA certificates — the service's own self-signed
 * certificate, which the built-in fetch cannot be told to trust per request. Resolves with the status and body text.
 */
export function postTrusting(
  url: string,
  headers: Record<string, string>,
  ca: readonly string[],
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? request : plainRequest;
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': '0' },
        ...(target.protocol === 'https:' && ca.length > 0 ? { ca: [...rootCertificates, ...ca] } : {}),
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
