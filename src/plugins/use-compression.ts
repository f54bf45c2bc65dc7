import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, constants, gzip, gzipSync } from 'node:zlib';
import type { Plugin } from 'graphql-yoga';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);
const BROTLI_OPTIONS = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } };

/** Smaller bodies gain nothing from compression but latency. */
const MIN_BYTES = 1024;

/** Picks br or gzip from Accept-Encoding, honouring q-values (q=0 refuses); null when neither is acceptable. */
export function negotiateEncoding(header: string | null): 'br' | 'gzip' | null {
  if (!header) return null;
  const offers = header.split(',').map((part) => {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return { name: name.trim(), q: q ? Number(q.slice(2)) : 1 };
  });
  const quality = (name: string) => offers.find((o) => o.name === name)?.q ?? offers.find((o) => o.name === '*')?.q ?? 0;
  const br = quality('br');
  const gz = quality('gzip');
  if (br <= 0 && gz <= 0) return null;
  return br >= gz ? 'br' : 'gzip';
}

type Encoding = 'br' | 'gzip';

/**
 * Bodies up to this size are compressed on the event loop (brotli at quality 4: 0.09 ms for the 5.5 KB
 * page of upcoming workshops): handing them to the thread pool cost more than compressing them (README
 * "Performance"). Larger ones go to the pool, off the event loop.
 */
const SYNC_MAX_BYTES = 64 * 1024;

async function compress(body: Buffer, encoding: Encoding): Promise<Buffer<ArrayBuffer>> {
  if (body.length <= SYNC_MAX_BYTES) return encoding === 'br' ? brotliCompressSync(body, BROTLI_OPTIONS) : gzipSync(body);
  return encoding === 'br' ? brotli(body, BROTLI_OPTIONS) : gzipAsync(body);
}

/** A body as sent: compressed, or as it was when it is too small to gain from it. */
interface Encoded {
  body: Buffer<ArrayBuffer>;
  encoded: boolean;
}

async function encode(response: Response, encoding: Encoding): Promise<Encoded> {
  const body = Buffer.from(await response.arrayBuffer());
  return body.length < MIN_BYTES ? { body, encoded: false } : { body: await compress(body, encoding), encoded: true };
}

/** Responses whose body is that of every response marked with the same key (a stored cache entry). */
const bodyKeys = new WeakMap<Response, object>();
/** Each key's body, encoded once per encoding, for as long as the key lives (the cache entry's lifetime). */
const encodedBodies = new WeakMap<object, Partial<Record<Encoding, Promise<Encoded>>>>();

/**
 * Marks `response` as carrying `key`'s body, the same bytes each time (a cache hit is its entry's
 * stored JSON): its compressed form is made once per entry and encoding, not once per hit. A browser
 * hit (Accept-Encoding: gzip, deflate, br) spent three quarters of its CPU in brotli (README "Performance").
 */
export function withSharedBody(response: Response, key: object): Response {
  bodyKeys.set(response, key);
  return response;
}

function encodeOnce(response: Response, key: object, encoding: Encoding): Promise<Encoded> {
  let forKey = encodedBodies.get(key);
  if (!forKey) encodedBodies.set(key, (forKey = {}));
  let encoded = forKey[encoding];
  if (!encoded) {
    const entry = forKey;
    // A failure is not kept: the next hit tries again.
    entry[encoding] = encoded = encode(response, encoding).catch((error: unknown) => {
      delete entry[encoding];
      throw error;
    });
  }
  return encoded;
}

/**
 * The response's own headers, changed in place for the response that replaces it (the server adapter's
 * Response takes them without a copy; copying through undici's Headers was a sixth of a compressed cache
 * hit), or a copy where they cannot change (a guard of `immutable`).
 */
function changeableHeaders(response: Response): Headers {
  try {
    response.headers.delete('content-encoding'); // none (checked above): a no-op that fails where changes do
    return response.headers;
  } catch {
    return new Headers(response.headers);
  }
}

/**
 * Compresses responses of 1 KiB and more with br or gzip when the client accepts it (once per cache
 * entry for hits, see withSharedBody). The new response is the server adapter's own Response (fetchAPI),
 * whose buffer it writes at once: the global Response's body is a web stream, which the adapter pumps to
 * the socket chunk by chunk.
 */
export function useCompression(): Plugin {
  return {
    async onResponse({ request, response, setResponse, fetchAPI }) {
      const encoding = negotiateEncoding(request.headers.get('accept-encoding'));
      if (!encoding || !response.body || response.headers.has('content-encoding')) return;
      const type = response.headers.get('content-type') ?? '';
      if (!/json|html|text|javascript/.test(type)) return;
      const key = bodyKeys.get(response);
      const { body, encoded } = await (key ? encodeOnce(response, key, encoding) : encode(response, encoding));
      const headers = changeableHeaders(response);
      headers.append('vary', 'Accept-Encoding');
      if (encoded) {
        headers.set('content-encoding', encoding);
        headers.set('content-length', String(body.length));
      }
      setResponse(new fetchAPI.Response(body, { status: response.status, statusText: response.statusText, headers }));
    },
  };
}
