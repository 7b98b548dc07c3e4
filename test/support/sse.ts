/** One Server-Sent Event as it arrived on the wire. */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

export interface EventStream {
  status: number;
  headers: Headers;
  messages: SseMessage[];
  /** Comment lines (`: …`), such as heartbeats. */
  comments: string[];
  /** Resolves with the first message (arrived or to come) after `from` that matches. */
  next(match: (message: SseMessage) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<SseMessage>;
  close(): void;
}

/**
 * A text/event-stream read the way a portal backend would: fetch with a bearer token, parsed per the SSE framing
 * (blank-line separated blocks of `field: value` lines), so the test sees the wire format, heartbeats included.
 */
export async function openEventStream(
  url: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<EventStream> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  let ended = false;
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body ?? []) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: SseMessage = { data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            const [, field, value = ''] = /^([a-z]+): ?(.*)$/i.exec(line) ?? [];
            if (field === 'id') message.id = value;
            else if (field === 'event') message.event = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length > 0) messages.push({ ...message, data: data.join('\n') });
          notify();
        }
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true;
      notify();
    }
  })();
  return {
    status: response.status,
    headers: response.headers,
    messages,
    comments,
    next(match, { from = 0, timeoutMs = 20_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.slice(from).find(match);
          if (found !== undefined) return done(() => resolve(found));
          if (ended) return done(() => reject(new Error('the event stream ended')));
        };
        const timer = setTimeout(
          () =>
            done(() => reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(messages)}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    close: () => abort.abort(),
  };
}
