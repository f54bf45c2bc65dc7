import { randomUUID } from 'node:crypto';
import { getOperationAST, type GraphQLError } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { roleOf } from '../modules/auth/principal.js';
import { requestPrincipal } from '../modules/auth/request-principal.js';
import { operationLabel } from './use-persisted-operations.js';
import { responseCacheOutcome } from './use-response-cache.js';
import { requestUrl } from '../shared/request-url.js';

/** What the access log and the metrics know about one finished GraphQL request; no variables, no personal data. */
export interface RequestSummary {
  requestId: string;
  method: string;
  /** `<client>/<name>` for persisted operations, `ad-hoc` otherwise: bounded, safe as a metric label. */
  operation: string;
  /** The operation's name as the document gives it (unbounded: logs only, never a label). */
  operationName: string | null;
  operationType: 'query' | 'mutation' | 'subscription' | null;
  status: number;
  durationMs: number;
  /** Response cache: hit, miss, or null when the request was not cacheable (a mutation, an error). */
  cache: 'hit' | 'miss' | null;
  /** anonymous, or the API key's role. */
  principal: string;
  /** Each error in the result: its `extensions.code`, and for QUERY_TOO_COMPLEX the limit it hit. */
  errors: { code: string; limit?: string }[];
}

export type SummaryReporter = (summary: RequestSummary) => void;

/** A client's request id is kept when it looks like one (no spaces, quotes or control characters); otherwise we make one. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
export const REQUEST_ID_HEADER = 'x-request-id';

interface Observed {
  requestId: string;
  start: number;
  operationName: string | null;
  operationType: RequestSummary['operationType'];
  errors: RequestSummary['errors'];
}

const observed = new WeakMap<Request, Observed>();

/** The request's id (from `x-request-id` or generated), for anything that logs on its behalf. */
export function requestIdOf(request: Request): string | undefined {
  return observed.get(request)?.requestId;
}

function summarize(errors: readonly GraphQLError[] | undefined): RequestSummary['errors'] {
  return (errors ?? []).map(({ extensions }) => ({
    code: String(extensions?.code ?? 'INTERNAL_SERVER_ERROR'),
    ...(typeof extensions?.limit === 'string' ? { limit: extensions.limit } : {}),
  }));
}

/**
 * The name of the document's first operation, without parsing it: cache hits are answered before
 * parsing, and they should be logged with their name too. Only the text before the first `{` is read.
 */
function leadingOperationName(query: string): string | null {
  const brace = query.indexOf('{');
  const head = (brace < 0 ? query : query.slice(0, brace)).replace(/#[^\n]*/g, '');
  return /^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(head)?.[1] ?? null;
}

/** The operation's name as the request's parameters give it (before a persisted id is resolved to its document). */
export function noteOperationName(request: Request, params: GraphQLParams): void {
  const state = observed.get(request);
  if (!state) return;
  const name = typeof params.operationName === 'string' ? params.operationName : typeof params.query === 'string' ? leadingOperationName(params.query) : null;
  state.operationName = name?.slice(0, 100) ?? null;
}

/**
 * Gives every request an id (echoed in `x-request-id`) and, when a GraphQL request is answered, one
 * summary to each reporter (the access log, the metrics). First in the chain, so requests refused by
 * later plugins (rate limits, bad keys) are timed and reported too.
 */
export function useRequestSummary(reporters: SummaryReporter[]): Plugin {
  return {
    onRequest({ request }) {
      const sent = request.headers.get(REQUEST_ID_HEADER);
      observed.set(request, {
        requestId: sent && SANE_REQUEST_ID.test(sent) ? sent : randomUUID(),
        start: performance.now(),
        operationName: null,
        operationType: null,
        errors: [],
      });
    },
    onParams({ request, params }) {
      noteOperationName(request, params);
    },
    onExecute({ args }) {
      const state = observed.get((args.contextValue as { request: Request }).request);
      const operation = getOperationAST(args.document, args.operationName);
      if (!state || !operation) return;
      state.operationType = operation.operation;
      state.operationName = operation.name?.value ?? state.operationName;
    },
    onResultProcess({ request, result }) {
      const state = observed.get(request);
      if (!state || Symbol.asyncIterator in result) return;
      for (const one of Array.isArray(result) ? result : [result]) state.errors.push(...summarize(one.errors));
    },
    onResponse({ request, response }) {
      const state = observed.get(request);
      if (!state) return;
      response.headers.set(REQUEST_ID_HEADER, state.requestId);
      if (!requestUrl(request).pathname.endsWith('/graphql') || response.headers.get('content-type')?.includes('text/html')) return;
      const cache = responseCacheOutcome(request);
      const principal = requestPrincipal(request);
      const summary: RequestSummary = {
        requestId: state.requestId,
        method: request.method,
        operation: operationLabel(request),
        operationName: state.operationName,
        operationType: state.operationType ?? (cache === 'hit' ? 'query' : null),
        status: response.status,
        durationMs: performance.now() - state.start,
        cache: cache ?? null,
        principal: roleOf(principal) ?? principal.kind,
        errors: state.errors,
      };
      for (const report of reporters) report(summary);
    },
  };
}
