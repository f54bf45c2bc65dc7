import { usePersistedOperations as useYogaPersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { normalizeOperationId, type PersistedOperation } from '../infra/persisted-manifests.js';
import { isEditor, roleOf, type Principal } from '../modules/auth/principal.js';
import { requestPrincipal } from '../modules/auth/request-principal.js';
import { requestUrl } from '../shared/request-url.js';

const labels = new WeakMap<Request, string>();

/** `<client>/<operation name>` for persisted operations, `ad-hoc` otherwise: a bounded label for logs and metrics. */
export function operationLabel(request: Request): string {
  return labels.get(request) ?? 'ad-hoc';
}

/** Whether the request ran an operation from a manifest (by id) rather than a document it sent. */
export function isPersistedRequest(request: Request): boolean {
  return labels.has(request);
}

const error = (code: string, message: string) => ({ message, extensions: { code } });

/** Who may run which persisted operations (see usePersistedOperations). */
export interface PersistedOperationsPolicy {
  manifests: Map<string, PersistedOperation[]>;
  /** Manifests anonymous callers may run (our own apps'). */
  publicClients: string[];
  /** Development relaxations: anonymous callers may send documents too. */
  relaxed: boolean;
}

const allowedFor = (policy: PersistedOperationsPolicy, principal: Principal) => (operation: PersistedOperation) => {
  if (isEditor(principal)) return true;
  if (principal.kind === 'apiKey' && principal.role === 'PARTNER') return operation.client === principal.client;
  return policy.publicClients.includes(operation.client);
};

/**
 * The persisted operation id a request names: `documentId` (in the body, or the URL of a GET) or
 * `extensions.persistedQuery.sha256Hash`, normalized; null when it names none, PERSISTED_QUERY_ID_INVALID when malformed.
 */
export function persistedOperationId(params: GraphQLParams, request: Request): string | null {
  const fromBody = (params as { documentId?: unknown }).documentId;
  const fromApq = (params.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash;
  // Yoga's GET parser keeps only the standard parameters; read documentId from the URL ourselves.
  const fromUrl = request.method === 'GET' ? requestUrl(request).searchParams.get('documentId') : null;
  const raw = fromBody ?? fromApq ?? fromUrl;
  if (raw == null) return null;
  const id = typeof raw === 'string' ? normalizeOperationId(raw) : null;
  if (!id) {
    throw new GraphQLError('Persisted operation ids are "sha256:<64 hex>" or 64 hex characters', {
      extensions: { code: 'PERSISTED_QUERY_ID_INVALID' },
    });
  }
  return id;
}

/**
 * The persisted operation `id` that the request's principal may run, or null: the one lookup both the
 * pipeline and the response cache's fast lane use.
 */
export function persistedOperationFor(policy: PersistedOperationsPolicy, id: string, request: Request): PersistedOperation | null {
  return (policy.manifests.get(id) ?? []).find(allowedFor(policy, requestPrincipal(request))) ?? null;
}

/** Names the request's operation for the access log and the metrics (operationLabel) once it runs, or is answered, as `operation`. */
export function labelPersistedRequest(request: Request, operation: PersistedOperation): void {
  labels.set(request, `${operation.client}/${operation.name}`);
}

/**
 * Persisted operations from the manifests folder, by `documentId` or `extensions.persistedQuery.sha256Hash`,
 * over POST and GET. Policy: PARTNER keys run only their own manifest's operations; anonymous callers only
 * those of the public manifests (`publicClients`: our own apps'), so a partner's operations, reviewed for
 * that partner, are not open to everyone; EDITOR/ADMIN run any, and may send any document; anonymous
 * callers may send documents only with the development relaxations (env.relaxed). Nothing is registered from requests.
 */
export function usePersistedOperations(policy: PersistedOperationsPolicy): Plugin {
  return useYogaPersistedOperations({
    allowArbitraryOperations: (request) => {
      const principal = requestPrincipal(request);
      if (isEditor(principal)) return true;
      if (roleOf(principal) === 'PARTNER') return false;
      return policy.relaxed;
    },
    extractPersistedOperationId: persistedOperationId,
    getPersistedOperation: (id, request) => {
      const operation = persistedOperationFor(policy, id, request);
      if (!operation) return null;
      labelPersistedRequest(request, operation);
      return operation.document;
    },
    customErrors: {
      notFound: error('PERSISTED_QUERY_NOT_FOUND', 'No persisted operation with this id is available to this caller'),
      persistedQueryOnly: error('PERSISTED_QUERY_ONLY', 'This caller may only run persisted operations (send documentId, not query)'),
      keyNotFound: error('PERSISTED_QUERY_ID_REQUIRED', 'Send a query, or a persisted operation id as documentId or extensions.persistedQuery.sha256Hash'),
    },
  });
}
