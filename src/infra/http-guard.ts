import type { RequestListener } from 'node:http';

/**
 * Requests the HTTP adapter cannot even turn into a URL (a malformed Host header, a bad request
 * target): below Yoga, where they became a 500 with a stack trace in text/plain. A coded 400 instead.
 */
export function guardHttp(handler: RequestListener): RequestListener {
  return (req, res) => {
    // canParse: the same parse, without building a URL object the adapter would build again.
    if (!URL.canParse(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`)) {
      const body = JSON.stringify({ errors: [{ message: 'Malformed Host header or request target', extensions: { code: 'BAD_REQUEST' } }] });
      res.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
      return;
    }
    handler(req, res);
  };
}
