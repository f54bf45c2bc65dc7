import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Plugin } from 'graphql-yoga';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

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

/**
 * Compresses responses of 1 KiB and more with br or gzip when the client accepts it. The new response is
 * the server adapter's own Response (fetchAPI), whose buffer it writes at once: the global Response's
 * body is a web stream, which the adapter pumps to the socket chunk by chunk.
 */
export function useCompression(): Plugin {
  return {
    async onResponse({ request, response, setResponse, fetchAPI }) {
      const encoding = negotiateEncoding(request.headers.get('accept-encoding'));
      if (!encoding || !response.body || response.headers.has('content-encoding')) return;
      const type = response.headers.get('content-type') ?? '';
      if (!/json|html|text|javascript/.test(type)) return;
      const body = Buffer.from(await response.arrayBuffer());
      const headers = new Headers(response.headers);
      headers.append('vary', 'Accept-Encoding');
      if (body.length < MIN_BYTES) {
        setResponse(new fetchAPI.Response(body, { status: response.status, statusText: response.statusText, headers }));
        return;
      }
      const compressed =
        encoding === 'br' ? await brotli(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }) : await gzipAsync(body);
      headers.set('content-encoding', encoding);
      headers.set('content-length', String(compressed.length));
      setResponse(new fetchAPI.Response(compressed, { status: response.status, statusText: response.statusText, headers }));
    },
  };
}
