/**
 * A typed client of the agent protocol (`/agent/v1/...`, contract in src/protocol/agent.ts).
 *
 * - Retries with exponential backoff and full jitter on network errors, timeouts, 429 and 5xx (honouring
 *   `Retry-After`); never on any other 4xx. Every call of the protocol is safe to repeat: registering again returns
 *   the same container, the inventory replaces the previous one, an acknowledgement is idempotent and only the first
 *   result of a command counts.
 * - Backup blocks (`putBlock`) go out as raw bytes with their Content-Length and `x-content-sha256`; the bytes stay
 *   the caller's (a retry sends the same ones again), nothing is copied.
 * - HTTPS with the service's self-signed certificate: trusted through `NODE_EXTRA_CA_CERTS` (process-wide, read at
 *   start), or per client with `ca`/`caFile`, added to Node's roots. Plain http works too. Requests go through
 *   `node:http(s)` (see nodeTransport), not the built-in fetch.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { ReadableStream as WebReadableStream } from 'node:stream/web';
import { rootCertificates } from 'node:tls';
import type { Static } from 'typebox';
import type {
  BackupMetadata,
  BackupType,
  BlockReceipt,
  Command,
  CommandResult,
  HeartbeatRequest,
  HeartbeatResponse,
  InventoryReport,
  OpenUploadRequest,
  RegisterRequest,
  RegisterResponse,
  RestoreState,
  UploadState,
} from '../protocol/agent.ts';

export type HeartbeatBody = Static<typeof HeartbeatRequest>;
export type HeartbeatAnswer = Static<typeof HeartbeatResponse>;
/** What the vault answers to an inventory report. */
export interface InventoryAnswer {
  instances: number;
  databases: number;
  protectable: number;
}

/** What the client hands its transport: `body` is JSON text, or the raw bytes of a backup block. */
export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

/** The subset of `fetch` the client uses; tests may inject their own. */
export type Transport = (url: string, init: FetchInit) => Promise<Response>;

/**
 * A transport written for JSON calls only (`body` typed as text). Still accepted where a `Transport` is (the options
 * declare `fetch` with method syntax, so its parameter is compared both ways): block uploads then hand it bytes,
 * which a transport that forwards `init` to the global fetch sends as they are.
 */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<Response>;

export type BlockAnswer = Static<typeof BlockReceipt>;

/**
 * The protocol's upload types with `backupType` spelled out: protocol.ts builds its schema as a union of mapped
 * literals, which `Static` types as `never`.
 */
type WithBackupType<T> = Omit<T, 'backupType'> & { backupType: BackupType };
export type OpenUploadBody = WithBackupType<OpenUploadRequest>;
export type CommitMetadata = WithBackupType<BackupMetadata>;

export interface RetryOptions {
  /** Attempts after the first one. Default 5. */
  retries: number;
  /** Base delay of the exponential backoff. Default 250 ms. */
  minDelayMs: number;
  /** Ceiling of one delay (also of a server's Retry-After). Default 10 s. */
  maxDelayMs: number;
}

export interface AgentClientOptions {
  /** The service's origin, e.g. `https://localhost:8443` (a path prefix is kept). */
  serverUrl: string;
  /** PEM certificate(s) to trust in addition to Node's roots, for https. */
  ca?: string | Buffer;
  /** A file holding `ca` (e.g. the service's `.data/tls/cert.pem`). */
  caFile?: string;
  retry?: Partial<RetryOptions>;
  /** Timeout of one request (long-polls get their wait on top). Default 30 s. */
  requestTimeoutMs?: number;
  /** Told before each retry: what failed and how long the client waits. */
  onRetry?: (info: { operation: string; attempt: number; delayMs: number; error: Error }) => void;
  /** The transport (tests); a `Transport`, or a `FetchLike` (see there). */
  fetch?(url: string, init: FetchInit): Promise<Response>;
}

/** An answer of the service other than success (after retries, for the retryable ones). */
export class AgentApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(`${code}: ${message}`);
    this.name = 'AgentApiError';
  }

  /** 429 and 5xx: the service may answer differently later. */
  get retryable(): boolean {
    return this.status === 429 || this.status >= 500;
  }
}

/**
 * The service could not be reached (connection refused or reset, DNS, timeout): retryable. Also an https server
 * whose certificate is not trusted: not retryable (it will not fix itself; the message says what to do).
 */
export class AgentNetworkError extends Error {
  constructor(
    message: string,
    options?: { cause?: unknown },
    readonly retryable = true,
  ) {
    super(message, options);
    this.name = 'AgentNetworkError';
  }
}

/** OpenSSL's verdicts on a certificate chain Node does not trust (or that does not fit the host). */
const CERTIFICATE_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function isRetryable(error: unknown): boolean {
  return (error instanceof AgentApiError || error instanceof AgentNetworkError) && error.retryable;
}

/** True for the abort of a caller's signal (not a timeout). */
export function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

export const DEFAULT_RETRY: RetryOptions = { retries: 5, minDelayMs: 250, maxDelayMs: 10_000 };

/** Waits `ms`, or rejects with an AbortError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error an aborted wait or call rejects with (`isAbort` recognises it). */
export function abortError(): Error {
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}

/** Full-jitter exponential backoff: a random delay in [0, min(max, base × 2^attempt)], at least `floorMs`. */
export function backoffDelay(attempt: number, options: RetryOptions, floorMs = 0): number {
  const ceiling = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** attempt);
  return Math.min(options.maxDelayMs, Math.max(floorMs, Math.round(Math.random() * ceiling)));
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The node streams behind the Responses nodeTransport makes. A restore part is read from there: through the web
 * stream, Node's adapters copy every chunk (measured: a tenth of the agent's CPU reading a restore, and as much again
 * in garbage collection).
 */
const nodeBodies = new WeakMap<Response, Readable>();

/**
 * The client's own transport: `node:http` / `node:https` with keep-alive connections (several blocks go out at
 * once, each on its own connection), trusting `ca` on top of Node's roots for https when given. Not the built-in
 * fetch: it copies every request body it is handed (a 4 MiB block twice over: measured at a third of the agent's
 * CPU in the ingest benchmark, mostly garbage collection), where `request.end(bytes)` writes the caller's bytes as
 * they are. The answer's body stays a stream (a restore part can be gigabytes): it is resolved with the headers, and
 * the client's byte streams read it as the node stream it is (see nodeBodies).
 */
export function nodeTransport(ca?: string | Buffer): Transport {
  const agents = {
    http: new HttpAgent({ keepAlive: true }),
    https: new HttpsAgent({
      keepAlive: true,
      ...(ca === undefined ? {} : { ca: [...rootCertificates, ca.toString()] }),
    }),
  };
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const secure = url.startsWith('https:');
      const options = {
        method: init.method,
        headers: init.headers,
        agent: secure ? agents.https : agents.http,
        signal: init.signal,
      };
      const onResponse = (response: IncomingMessage) => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          if (value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
        }
        const status = response.statusCode ?? 502;
        const nullBody = status === 204 || status === 205 || status === 304;
        if (nullBody) response.resume();
        // Read only if someone reads the Response's body (JSON answers); a byte stream takes the node stream instead.
        const body = nullBody ? null : (WebReadableStream.from(response) as unknown as ReadableStream<Uint8Array>);
        const answer = new Response(body, { status, statusText: response.statusMessage ?? '', headers });
        if (!nullBody) nodeBodies.set(answer, response);
        resolve(answer);
      };
      const request = secure ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
      request.on('error', reject);
      request.end(init.body);
    });
}

/** The protocol's calls that need no token: registration. Container calls go through `container(...)`. */
export class AgentClient {
  readonly serverUrl: string;
  private readonly fetchImpl: Transport;
  private readonly retry: RetryOptions;
  private readonly requestTimeoutMs: number;

  constructor(private readonly options: AgentClientOptions) {
    let url: URL;
    try {
      url = new URL(options.serverUrl);
    } catch {
      throw new TypeError(`the server URL '${options.serverUrl}' is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new TypeError(`the server URL '${options.serverUrl}' must use http: or https:`);
    this.serverUrl = url.href.replace(/\/+$/, '');
    const ca = options.ca ?? (options.caFile === undefined ? undefined : readFileSync(options.caFile));
    this.fetchImpl = options.fetch ?? nodeTransport(ca);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** `POST /agent/v1/register`: credentials + VM identity → a token for the VM's container. */
  register(body: RegisterRequest, signal?: AbortSignal): Promise<RegisterResponse> {
    return this.call<RegisterResponse>('register', 'POST', '/agent/v1/register', { body, signal });
  }

  /** The calls of one container, with its agent token. */
  container(containerName: string, agentToken: string): ContainerClient {
    return new ContainerClient(this, containerName, agentToken);
  }

  /**
   * One protocol call: JSON in, JSON (or nothing) out; retried as the header comment says. Rejects with
   * AgentApiError (the service's `{error:{code,message}}`), AgentNetworkError, or an AbortError when `signal` aborts.
   */
  async call<T>(
    operation: string,
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    options: CallOptions = {},
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(method, path, options);
      } catch (error) {
        if (isAbort(error) || !isRetryable(error) || attempt >= this.retry.retries) throw error;
        const floor = error instanceof AgentApiError ? Math.min(error.retryAfterMs ?? 0, this.retry.maxDelayMs) : 0;
        const delayMs = backoffDelay(attempt, this.retry, floor);
        this.options.onRetry?.({ operation, attempt: attempt + 1, delayMs, error: error as Error });
        await sleep(delayMs, options.signal);
      }
    }
  }

  /**
   * A GET whose answer is a byte stream (restore parts): retried like `call` until the answer's headers arrive;
   * the body is then the caller's — a cut connection surfaces as a stream error, not a retry.
   */
  async stream(
    operation: string,
    path: string,
    token: string,
    signal?: AbortSignal,
  ): Promise<{ body: Readable; headers: Headers }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.openStream(path, token, signal);
      } catch (error) {
        if (isAbort(error) || !isRetryable(error) || attempt >= this.retry.retries) throw error;
        const floor = error instanceof AgentApiError ? Math.min(error.retryAfterMs ?? 0, this.retry.maxDelayMs) : 0;
        const delayMs = backoffDelay(attempt, this.retry, floor);
        this.options.onRetry?.({ operation, attempt: attempt + 1, delayMs, error: error as Error });
        await sleep(delayMs, signal);
      }
    }
  }

  private async openStream(
    path: string,
    token: string,
    signal?: AbortSignal,
  ): Promise<{ body: Readable; headers: Headers }> {
    if (signal?.aborted) throw abortError();
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.serverUrl}${path}`, {
        method: 'GET',
        headers: { accept: 'application/octet-stream, application/json', authorization: `Bearer ${token}` },
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      if (signal?.aborted) throw abortError();
      throw new AgentNetworkError(`GET ${path}: ${networkMessage(error)}`, { cause: error });
    }
    if (!response.ok || response.body === null) {
      const text = await response.text().catch(() => '');
      let error: { code?: string; message?: string } | undefined;
      try {
        error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      } catch {
        error = undefined;
      }
      throw new AgentApiError(
        response.status,
        error?.code ?? `Http${response.status}`,
        error?.message ?? (text.slice(0, 200) || response.statusText),
        retryAfterMs(response.headers.get('retry-after')),
      );
    }
    return {
      body: nodeBodies.get(response) ?? Readable.fromWeb(response.body as WebReadableStream),
      headers: response.headers,
    };
  }

  private async once<T>(method: string, path: string, options: CallOptions): Promise<T> {
    if (options.signal?.aborted) throw abortError();
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: string | Uint8Array | undefined;
    if (options.bytes !== undefined) {
      body = options.bytes;
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = String(options.bytes.byteLength);
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    Object.assign(headers, options.headers);
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(`${this.serverUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal,
      });
      text = await response.text();
    } catch (error) {
      if (options.signal?.aborted) throw abortError();
      if (timeout.aborted)
        throw new AgentNetworkError(`${method} ${path}: no answer within ${timeoutMs} ms`, { cause: error });
      const code = errorCode(error);
      if (code !== undefined && CERTIFICATE_ERRORS.has(code)) {
        throw new AgentNetworkError(
          `${method} ${path}: the service's TLS certificate is not trusted (${code}: ${networkMessage(error)}); pass its CA with --ca FILE (caFile) or NODE_EXTRA_CA_CERTS`,
          { cause: error },
          false,
        );
      }
      throw new AgentNetworkError(`${method} ${path}: ${networkMessage(error)}`, { cause: error });
    }
    let json: unknown;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new AgentApiError(
        response.status,
        error?.code ?? `Http${response.status}`,
        error?.message ?? (text.slice(0, 200) || response.statusText || 'no details'),
        retryAfterMs(response.headers.get('retry-after')),
      );
    }
    return json as T;
  }
}

/** One call's request: a JSON `body`, or raw `bytes` (sent as application/octet-stream with their Content-Length). */
export interface CallOptions {
  body?: unknown;
  bytes?: Uint8Array;
  headers?: Record<string, string>;
  token?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

function errorCode(error: unknown): string | undefined {
  return (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;
}

function networkMessage(error: unknown): string {
  const code = errorCode(error);
  const message = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
  return code !== undefined && !message.includes(code) ? `${code} ${message}` : message;
}

/** The container-scoped calls (agent token). */
export class ContainerClient {
  private readonly base: string;

  constructor(
    private readonly client: AgentClient,
    readonly containerName: string,
    private readonly agentToken: string,
  ) {
    this.base = `/agent/v1/containers/${encodeURIComponent(containerName)}`;
  }

  heartbeat(body: HeartbeatBody, signal?: AbortSignal): Promise<HeartbeatAnswer> {
    return this.client.call('heartbeat', 'POST', `${this.base}/heartbeat`, { body, token: this.agentToken, signal });
  }

  reportInventory(report: InventoryReport, signal?: AbortSignal): Promise<InventoryAnswer> {
    return this.client.call('inventory', 'POST', `${this.base}/inventory`, {
      body: report,
      token: this.agentToken,
      signal,
    });
  }

  /** Long-polls up to `waitSeconds` (0–60) for commands. */
  async pollCommands(waitSeconds: number, signal?: AbortSignal): Promise<Command[]> {
    const answer = await this.client.call<{ commands: Command[] }>(
      'poll',
      'GET',
      `${this.base}/commands?waitSeconds=${waitSeconds}`,
      {
        token: this.agentToken,
        signal,
        timeoutMs: 30_000 + waitSeconds * 1000,
      },
    );
    return answer.commands;
  }

  async acknowledge(commandId: string, signal?: AbortSignal): Promise<void> {
    await this.client.call('ack', 'POST', `${this.base}/commands/${encodeURIComponent(commandId)}/ack`, {
      token: this.agentToken,
      signal,
    });
  }

  async reportResult(commandId: string, result: CommandResult, signal?: AbortSignal): Promise<void> {
    await this.client.call('result', 'POST', `${this.base}/commands/${encodeURIComponent(commandId)}/result`, {
      body: result,
      token: this.agentToken,
      signal,
    });
  }

  /** `POST uploads`: opens the upload of a backup the vault asked for (the same backupId: the same upload). */
  openUpload(request: OpenUploadBody, signal?: AbortSignal): Promise<UploadState> {
    return this.client.call('openUpload', 'POST', `${this.base}/uploads`, {
      body: request,
      token: this.agentToken,
      signal,
    });
  }

  /** `GET uploads/{id}`: the upload's state and which blocks the vault holds. */
  uploadState(uploadId: string, signal?: AbortSignal): Promise<UploadState> {
    return this.client.call('uploadState', 'GET', `${this.base}/uploads/${encodeURIComponent(uploadId)}`, {
      token: this.agentToken,
      signal,
    });
  }

  /** `PUT uploads/{id}/blocks/{index}`: one block, raw, with its SHA-256 (hex). Idempotent, so retried like the rest. */
  putBlock(
    uploadId: string,
    index: number,
    bytes: Uint8Array,
    sha256: string,
    signal?: AbortSignal,
  ): Promise<BlockAnswer> {
    return this.client.call('putBlock', 'PUT', `${this.base}/uploads/${encodeURIComponent(uploadId)}/blocks/${index}`, {
      bytes,
      headers: { 'x-content-sha256': sha256 },
      token: this.agentToken,
      signal,
    });
  }

  /** `POST uploads/{id}/commit`: the vault checks the LSN chain, then commits the blob and writes the recovery point. */
  commitUpload(uploadId: string, metadata: CommitMetadata, signal?: AbortSignal): Promise<{ recoveryPointId: string }> {
    return this.client.call('commit', 'POST', `${this.base}/uploads/${encodeURIComponent(uploadId)}/commit`, {
      body: { metadata },
      token: this.agentToken,
      signal,
    });
  }

  /** `GET restores/{id}`: the restore's state (why it failed, after a part's stream was cut). */
  restoreState(restoreId: string, signal?: AbortSignal): Promise<RestoreState> {
    return this.client.call('restoreState', 'GET', `${this.base}/restores/${encodeURIComponent(restoreId)}`, {
      token: this.agentToken,
      signal,
    });
  }

  /** `GET restores/{id}/parts/{index}`: one part's backup stream, decrypted and verified by the vault. */
  restorePart(restoreId: string, index: number, signal?: AbortSignal): Promise<{ body: Readable; headers: Headers }> {
    return this.client.stream(
      'restorePart',
      `${this.base}/restores/${encodeURIComponent(restoreId)}/parts/${index}`,
      this.agentToken,
      signal,
    );
  }
}
