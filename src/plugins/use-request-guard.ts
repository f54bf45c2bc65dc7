import type { Plugin } from 'graphql-yoga';

/** A coded GraphQL error body, as every other refusal has. */
function refusal(status: number, message: string): Response {
  return Response.json({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }, { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * Request shapes Yoga would answer with INTERNAL_SERVER_ERROR or misread, refused up front with a
 * coded 4xx: GET `variables`/`extensions` that are not JSON objects (Yoga's JSON.parse throws), and
 * compressed request bodies (Yoga would parse the gzip bytes as JSON and echo them back in the error;
 * no client of ours compresses requests, so 415 rather than a decompressor and its bomb limits).
 */
export function useRequestGuard(): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      const encoding = request.headers.get('content-encoding')?.trim().toLowerCase();
      if (encoding && encoding !== 'identity') {
        return endResponse(refusal(415, `Content-Encoding "${encoding.slice(0, 40)}" is not supported: send the request body uncompressed`));
      }
      for (const name of ['variables', 'extensions']) {
        const value = url.searchParams.get(name);
        if (value !== null && value !== '' && !isJsonObject(value)) {
          return endResponse(refusal(400, `The "${name}" parameter must be a JSON object`));
        }
      }
    },
  };
}
