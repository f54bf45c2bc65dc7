import type { Plugin } from 'graphql-yoga';
import { ValidationError } from '../shared/errors.js';

/** A NUL character in a document: raw, or written as a `\u0000` escape in a string literal. */
const NUL_IN_DOCUMENT = /\u0000|\\u0000/;

function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value && typeof value === 'object') return Object.entries(value).some(([key, item]) => key.includes('\u0000') || containsNul(item));
  return false;
}

/**
 * Postgres text cannot hold NUL characters: a string carrying one would fail deep inside a query as an
 * INTERNAL_SERVER_ERROR. Refuse it up front, in variables or in the document, as bad input.
 */
export function useTextGuard(): Plugin {
  return {
    onParams({ params }) {
      if ((typeof params.query === 'string' && NUL_IN_DOCUMENT.test(params.query)) || containsNul(params.variables)) {
        throw new ValidationError('Text may not contain NUL characters (\\u0000)', [{ path: 'variables', message: 'contains a NUL character' }]);
      }
    },
  };
}
