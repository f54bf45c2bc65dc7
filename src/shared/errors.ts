import { PothosValidationError } from '@pothos/core';
import { GraphQLError, type GraphQLErrorOptions } from 'graphql';

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'QUERY_TOO_COMPLEX'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

export interface FieldProblem {
  path: string;
  message: string;
}

/** Base of every error a client is meant to see; anything else is masked. */
export abstract class AppError extends GraphQLError {
  abstract readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode, extensions: Record<string, unknown> = {}, options: GraphQLErrorOptions = {}) {
    super(message, { ...options, extensions: { ...extensions, code } });
  }
}

export class ValidationError extends AppError {
  readonly code = 'BAD_USER_INPUT';
  /** `extensions`: e.g. `{ http: { status: 400 } }` for refusals of the whole request. */
  constructor(message: string, readonly fields: FieldProblem[] = [], extensions: Record<string, unknown> = {}) {
    super(message, 'BAD_USER_INPUT', { ...extensions, ...(fields.length ? { fields } : {}) });
  }
}

export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND';
  constructor(what: string) {
    super(`${what} not found`, 'NOT_FOUND');
  }
}

export class UnauthenticatedError extends AppError {
  readonly code = 'UNAUTHENTICATED';
  constructor(message = 'Missing or invalid credentials', extensions: Record<string, unknown> = {}) {
    super(message, 'UNAUTHENTICATED', extensions);
  }
}

/** A bad or unknown API key: the whole request is refused with HTTP 401. */
export class InvalidCredentialsError extends UnauthenticatedError {
  constructor(message: string) {
    super(message, { http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } });
  }
}

export class ForbiddenError extends AppError {
  readonly code = 'FORBIDDEN';
  constructor(message = 'Not allowed') {
    super(message, 'FORBIDDEN');
  }
}

export class ConflictError extends AppError {
  readonly code = 'CONFLICT';
  constructor(message: string) {
    super(message, 'CONFLICT');
  }
}

/** Which of the caller's limits a document went over (`extensions.limit`; metrics count rejections by it). */
export type QueryLimit = 'depth' | 'aliases' | 'directives' | 'tokens' | 'characters' | 'cost';

/** Depth, aliases, directives, tokens, characters or cost over the caller's limits. */
export class QueryTooComplexError extends AppError {
  readonly code = 'QUERY_TOO_COMPLEX';
  constructor(message: string, limit: QueryLimit) {
    super(message, 'QUERY_TOO_COMPLEX', { limit });
  }
}

/** An operation's cost over the caller's limit (one message, whether Pothos or the up-front check refuses it). */
export function costLimitError(cost: number, limit: number): QueryTooComplexError {
  return new QueryTooComplexError(`Query cost ${cost} exceeds the limit of ${limit} for this caller.`, 'cost');
}

/** HTTP 429 with Retry-After; `extensions.retryAfter` carries the same seconds. */
export class RateLimitedError extends AppError {
  readonly code = 'RATE_LIMITED';
  constructor(retryAfterSeconds: number) {
    super(`Too many requests; retry in ${retryAfterSeconds} s`, 'RATE_LIMITED', {
      retryAfter: retryAfterSeconds,
      http: { status: 429, headers: { 'Retry-After': String(retryAfterSeconds) } },
    });
  }
}

/** The database is down or not answering: HTTP 503 with Retry-After, so clients retry instead of reporting a bug. */
export class ServiceUnavailableError extends AppError {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(retryAfterSeconds = 5, options: GraphQLErrorOptions = {}) {
    super('The service is temporarily unavailable; retry shortly', 'SERVICE_UNAVAILABLE', {
      retryAfter: retryAfterSeconds,
      http: { status: 503, headers: { 'Retry-After': String(retryAfterSeconds) } },
    }, options);
  }
}

const MASKED_MESSAGE = 'Unexpected error.';

/**
 * Yoga's maskError: our typed errors pass as they are, input errors that graphql-js and Pothos
 * raise gain a code, and everything else becomes a masked INTERNAL_SERVER_ERROR (with the
 * original message only with the development relaxations, env.relaxed).
 */
export function maskError(error: unknown, _message: string, relaxed = false, isOutage: (error: unknown) => boolean = () => false): Error {
  const graphQLError = error instanceof GraphQLError ? error : undefined;
  const original = graphQLError?.originalError ?? error;
  if (!(original instanceof AppError) && isOutage(error)) {
    return new ServiceUnavailableError(5, { nodes: graphQLError?.nodes, path: graphQLError?.path });
  }
  if (original instanceof AppError) {
    return graphQLError && graphQLError !== original ? withCode(graphQLError, original.code, original.extensions) : original;
  }
  if (original instanceof PothosValidationError && graphQLError) {
    return withCode(graphQLError, 'BAD_USER_INPUT');
  }
  // GraphQLErrors are meant for clients: parse, validation and variable-coercion errors (with no
  // originalError, or a graphql-js one inside) and plugins' coded errors. Keep them, with a code.
  if (graphQLError && (!graphQLError.originalError || original instanceof GraphQLError)) {
    // Yoga's request parser puts the JSON parser's message in `extensions.originalError`, and that
    // message quotes the client's body: internals, and whatever the body held. Only when relaxed.
    // Dropped in place: Yoga decides the HTTP status by this very error object. Without an
    // originalError Yoga would answer application/json clients 200 (its `spec` flag); a body it cannot
    // interpret is 400 for every client, as the GraphQL-over-HTTP spec asks.
    if (!relaxed && graphQLError.extensions?.originalError !== undefined) dropOriginalError(graphQLError.extensions as Record<string, unknown>);
    if (graphQLError.extensions?.code) return graphQLError;
    const inner = original instanceof GraphQLError ? original.extensions?.code : undefined;
    return withCode(graphQLError, typeof inner === 'string' ? inner : clientErrorCode(graphQLError));
  }
  return new GraphQLError(relaxed && original instanceof Error ? `${MASKED_MESSAGE} ${original.message}` : MASKED_MESSAGE, {
    nodes: graphQLError?.nodes,
    path: graphQLError?.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

function dropOriginalError(extensions: Record<string, unknown>): void {
  delete extensions.originalError;
  const http = extensions.http as { spec?: boolean } | undefined;
  if (http) delete http.spec;
}

function clientErrorCode(error: GraphQLError): string {
  if (error.message.startsWith('Syntax Error')) return 'GRAPHQL_PARSE_FAILED';
  if (error.message.startsWith('Variable "$')) return 'BAD_USER_INPUT';
  if (error.extensions?.http) return 'BAD_REQUEST';
  return 'GRAPHQL_VALIDATION_FAILED';
}

function withCode(error: GraphQLError, code: string, extensions: Record<string, unknown> = {}): GraphQLError {
  const http = error.extensions?.http as { status?: number; spec?: boolean } | undefined;
  // Request errors (e.g. variable coercion) are 400 for graphql-response+json clients and, as the
  // GraphQL-over-HTTP spec asks, 200 for application/json ones; `spec: true` tells Yoga so.
  if (http?.status === 400) http.spec = true;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, ...extensions, code },
  });
}
