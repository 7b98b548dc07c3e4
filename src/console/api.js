// The console's only way to the service: the endpoints every client uses (identity, ARM, portal, emulator), with the
// signed-in principal's bearer token. Nothing here is private to the console.

export const API_VERSION = '2023-06-01';
const SUBSCRIPTIONS_API_VERSION = '2022-12-01';

/** An `{error:{code,message}}` answer (ARM, portal, emulator) or an OAuth `{error,error_description}` one. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function errorOf(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    if (body.error && typeof body.error === 'object')
      return new ApiError(response.status, body.error.code, body.error.message);
    if (typeof body.error === 'string') return new ApiError(response.status, body.error, body.error_description ?? '');
  } catch {
    // not JSON: fall through
  }
  return new ApiError(response.status, `HTTP${response.status}`, text.slice(0, 300));
}

/** Client credentials against the service's own token endpoint, as any script would. */
export async function requestToken(clientId, clientSecret) {
  const response = await fetch('/oauth2/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: 'https://management.azure.com/.default',
    }),
  });
  if (!response.ok) throw await errorOf(response);
  return (await response.json()).access_token;
}

/** The principal id (`oid`) a token names, read from its payload for display only; the service checks the token. */
export function principalOf(token) {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return payload.oid ?? payload.sub ?? '';
  } catch {
    return '';
  }
}

/** A path as this origin serves it: nextLinks are absolute (ARM's shape) but the console stays on its own origin. */
const local = (url) => {
  const parsed = new URL(url, location.origin);
  return parsed.pathname + parsed.search;
};

export function withApiVersion(path, version = API_VERSION) {
  return path.includes('api-version=') ? path : `${path}${path.includes('?') ? '&' : '?'}api-version=${version}`;
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  async send(method, path, body) {
    const response = await fetch(local(path), {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async json(method, path, body) {
    const response = await this.send(method, path, body);
    return response.status === 204 ? undefined : response.json().catch(() => undefined);
  }

  get(path) {
    return this.json('GET', path);
  }

  /** Every page of a list, following nextLink; `onPage` sees each page as it arrives. */
  async list(path, onPage) {
    const all = [];
    let next = path;
    while (next) {
      const page = await this.get(next);
      all.push(...page.value);
      onPage?.(all, Boolean(page.nextLink));
      next = page.nextLink;
    }
    return all;
  }

  /**
   * The subscriptions the principal sees: ARM's subscription list where the service answers it, otherwise the ids the
   * user typed at sign-in (a subscription without a role on it answers 404 on every path, so those show as errors).
   */
  async subscriptions(typed) {
    try {
      const page = await this.get(`/subscriptions?api-version=${SUBSCRIPTIONS_API_VERSION}`);
      const listed = page.value.map((s) => s.subscriptionId);
      return [...new Set([...listed, ...typed])];
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return typed;
      throw error;
    }
  }

  /**
   * A vault's live event stream (job and alert changes), read with fetch so that it carries the bearer token
   * (EventSource cannot send headers). Resumes with Last-Event-ID when the connection drops; `stop()` ends it.
   */
  follow(vaultId, onEvent, onState) {
    const controller = new AbortController();
    let lastEventId;
    const run = async () => {
      while (!controller.signal.aborted) {
        try {
          const response = await fetch(`/portal/v1${vaultId}/events`, {
            headers: {
              authorization: `Bearer ${this.token}`,
              accept: 'text/event-stream',
              ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
            },
            signal: controller.signal,
          });
          if (!response.ok) throw await errorOf(response);
          onState?.('live');
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            let end;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const frame = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const event = { type: 'message', data: '' };
              for (const line of frame.split('\n')) {
                const colon = line.indexOf(':');
                if (colon <= 0) continue;
                const field = line.slice(0, colon);
                const text = line.slice(colon + 1).replace(/^ /, '');
                if (field === 'id') event.id = text;
                else if (field === 'event') event.type = text;
                else if (field === 'data') event.data += text;
              }
              if (event.id !== undefined) lastEventId = event.id;
              if (event.data !== '') onEvent(event.type, JSON.parse(event.data));
            }
          }
        } catch (error) {
          if (controller.signal.aborted) return;
          onState?.(`reconnecting (${error.message})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    void run();
    return () => controller.abort();
  }
}
