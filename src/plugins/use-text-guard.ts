import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { ValidationError } from '../shared/errors.js';
import { inspectInput, VARIABLE_BOUNDS } from '../shared/input-bounds.js';

/** A NUL character in a document: raw, or written as a `\u0000` escape in a string literal. */
const NUL_IN_DOCUMENT = /\u0000|\\u0000/;

/** 400 for graphql-response+json clients; application/json ones get 200, as the GraphQL-over-HTTP spec asks (`spec`). */
const REQUEST_ERROR = { http: { status: 400, spec: true } };

/**
 * Two refusals of variables, before anything walks them recursively: values nested deeper or more
 * numerous than VARIABLE_BOUNDS (graphql-js coercion, the cache key's JSON.stringify and our
 * validators recurse, and deep enough input overflowed the stack), and NUL characters, which Postgres
 * text cannot hold (a string carrying one failed deep inside a query as INTERNAL_SERVER_ERROR).
 * Both are BAD_USER_INPUT with HTTP 400.
 */
export function assertTextAcceptable(params: GraphQLParams): void {
  const shape = inspectInput(params.variables ?? null, VARIABLE_BOUNDS);
  if (shape.exceeded) {
    const bound = shape.exceeded === 'depth' ? `${VARIABLE_BOUNDS.depth} levels of nesting` : `${VARIABLE_BOUNDS.values} values`;
    throw new ValidationError(`Variables may hold at most ${bound}`, [{ path: 'variables', message: `more than ${bound}` }], REQUEST_ERROR);
  }
  if ((typeof params.query === 'string' && NUL_IN_DOCUMENT.test(params.query)) || shape.nul) {
    throw new ValidationError('Text may not contain NUL characters (\\u0000)', [{ path: 'variables', message: 'contains a NUL character' }], REQUEST_ERROR);
  }
}

/** assertTextAcceptable on every request's parameters. */
export function useTextGuard(): Plugin {
  return {
    onParams({ params }) {
      assertTextAcceptable(params);
    },
  };
}
