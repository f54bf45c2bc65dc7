import type { Plugin } from 'graphql-yoga';

/**
 * Yoga refuses a POST whose content type it cannot parse (text/plain, XML…) with an empty 415. Every
 * other refusal carries a coded GraphQL error, so this one does too.
 */
export function useMediaTypeError(): Plugin {
  return {
    onResponse({ response, setResponse }) {
      if (response.status !== 415 || response.body) return;
      const error = {
        message: 'Unsupported content type: POST application/json (or use GET with query parameters)',
        extensions: { code: 'BAD_REQUEST' },
      };
      setResponse(Response.json({ errors: [error] }, { status: 415, headers: { 'content-type': 'application/json; charset=utf-8' } }));
    },
  };
}
