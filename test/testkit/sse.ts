import type { GraphQLResponse } from './app.js';

export interface SseSubscription<T = Record<string, any>> {
  /** The HTTP status and content type of the answer. */
  status: number;
  contentType: string;
  /** The next `next` event's payload; rejects after `timeoutMs` (default 10 s) or when the stream ends first. */
  next(timeoutMs?: number): Promise<GraphQLResponse<T>>;
  /** Resolves once the server ended the stream (a `complete` event or the body closing). */
  ended: Promise<void>;
  close(): void;
}

/**
 * A GraphQL subscription over Server-Sent Events, as a browser's fetch-based client runs it: a POST with
 * `Accept: text/event-stream`, read as it streams.
 */
export async function subscribe<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<SseSubscription<T>> {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const events: GraphQLResponse<T>[] = [];
  const waiting: ((event: GraphQLResponse<T> | null) => void)[] = [];
  let finished = false;
  let markEnded!: () => void;
  const ended = new Promise<void>((resolve) => (markEnded = resolve));
  const finish = () => {
    if (finished) return;
    finished = true;
    markEnded();
    for (const waiter of waiting.splice(0)) waiter(null);
  };
  const deliver = (event: GraphQLResponse<T>) => {
    const waiter = waiting.shift();
    if (waiter) waiter(event);
    else events.push(event);
  };
  void (async () => {
    const contentType = response.headers.get('content-type') ?? '';
    if (!contentType.includes('text/event-stream')) {
      // A refusal before any stream (an error result, a 4xx): delivered as one event.
      deliver((await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }))) as GraphQLResponse<T>);
      return finish();
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let boundary: number;
        while ((boundary = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = block.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trimStart()).join('\n');
          if (type === 'complete') return finish();
          if (type === 'next' && data) deliver(JSON.parse(data) as GraphQLResponse<T>);
        }
      }
    } catch {
      // aborted by close()
    }
    finish();
  })();
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    next(timeoutMs = 10_000) {
      const ready = events.shift();
      if (ready) return Promise.resolve(ready);
      if (finished) return Promise.reject(new Error('the stream has ended'));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(settle), 1);
          reject(new Error(`no event within ${timeoutMs} ms`));
        }, timeoutMs);
        const settle = (event: GraphQLResponse<T> | null) => {
          clearTimeout(timer);
          if (event) resolve(event);
          else reject(new Error('the stream has ended'));
        };
        waiting.push(settle);
      });
    },
    ended,
    close() {
      controller.abort();
      finish();
    },
  };
}
