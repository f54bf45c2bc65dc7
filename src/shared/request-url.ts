/**
 * A request's URL, parsed once per request: whatwg-node's Request keeps the URL its server adapter
 * parsed for the onRequest hooks (`parsedUrl`); any other Request (an in-process `yoga.fetch`) is
 * parsed here. The plugins used to parse it again each (metrics, access log, persisted operations).
 */
export function requestUrl(request: Request): URL {
  return (request as { parsedUrl?: URL }).parsedUrl ?? new URL(request.url);
}
