import { createHash } from 'node:crypto';
import { useResponseCache as useEnvelopResponseCache, type Cache } from '@envelop/response-cache';
import { getOperationAST, Kind, parse, printSchema, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { GraphQLParams, Plugin, YogaServerInstance } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { CacheHit, Ticket, TwoTierCache } from '../infra/cache/two-tier-cache.js';
import type { Logger } from '../infra/logger.js';
import { TTL_POLICY } from '../infra/cache/ttl-policy.js';
import { requestPrincipal, setRequestPrincipal } from '../modules/auth/request-principal.js';
import { localeFromAcceptLanguage } from '../shared/locale.js';
import { isPersistedRequest } from './use-persisted-operations.js';

interface RequestCacheState {
  key?: string;
  ticket?: Ticket;
  /** Set when the response is served from, or stored in, the cache. */
  expiresAt?: number;
  /** A hash of the cached result: the body is its serialization, so equal bodies share it. */
  etag?: string;
  /** A hit's stored JSON, sent as the body as it is (see onParams). */
  body?: string;
  /** The answer holds a person's own data: never `public` in HTTP caches. */
  personal?: boolean;
  persisted: boolean;
  /** The document looked up (for Cache-Control's volatility check). */
  query?: string;
}

/** The cache scope: one per API key; null is the shared anonymous scope (public data only). */
function sessionOf(request: Request): string | null {
  const principal = requestPrincipal(request);
  return principal.kind === 'apiKey' ? `key:${principal.keyId}` : null;
}

/** `Query.<field>` for each root field: lists are invalidated through these when entities are created. */
function rootFieldTags(document: DocumentNode, operationName?: string | null): string[] {
  const operation = getOperationAST(document, operationName);
  if (!operation || operation.operation !== 'query') return [];
  return operation.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [`Query.${s.name.value}`] : []));
}

const STAND_IN: ExecutionResult = { data: null };

/** Whether each looked-up request was a hit or a miss (for the access log); absent when there was no lookup. */
const outcomes = new WeakMap<Request, 'hit' | 'miss'>();
export const responseCacheOutcome = (request: Request): 'hit' | 'miss' | undefined => outcomes.get(request);
const PERSONAL = new Set(TTL_POLICY.personal);

/** Whether Yoga answers this request with a plain JSON body (not an event stream or multipart). */
function answersWithJson(request: Request): boolean {
  const accept = request.headers.get('accept') ?? '';
  return !/event-stream|multipart/i.test(accept);
}

/** Whether a hit is due for a background refresh (see TTL_POLICY.refreshAhead). */
function dueForRefresh(hit: CacheHit, now = Date.now()): boolean {
  const remaining = hit.expiresAt - now;
  return hit.tags.some((tag) => remaining < (TTL_POLICY.refreshAhead[tag] ?? 0));
}

const VOLATILE = new Set(TTL_POLICY.volatile);

/** Whether a document selects a volatile field (TTL_POLICY.volatile), through fragments too. */
function selectsVolatile(schema: GraphQLSchema, query: string): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    parse(query),
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (parent && VOLATILE.has(`${parent.name}.${node.name.value}`)) found = true;
      },
    }),
  );
  return found;
}

/** Shared caches keep an answer as long as its server-side entry lives, except answers with volatile fields. */
function publicCacheControl(remainingMs: number, volatile: boolean): string {
  const seconds = (ms: number) => Math.max(0, Math.floor(ms / 1000));
  const { volatileMaxAge, staleWhileRevalidate } = TTL_POLICY.publicHttp;
  if (!volatile) return `public, max-age=${seconds(remainingMs)}`;
  return `public, max-age=${seconds(Math.min(remainingMs, volatileMaxAge))}, stale-while-revalidate=${seconds(staleWhileRevalidate)}`;
}

const weakEtag = (body: string) => `W/"${createHash('sha1').update(body).digest('base64url')}"`;

/**
 * Response cache over the two-tier store. Differences from the stock Yoga plugin, on purpose:
 * entries are also tagged with their root fields (so a new workshop evicts cached `workshops` pages,
 * even empty ones); the ETag hashes the cached result, i.e. the body (the stock one is the cache key,
 * so a client kept stale data through 304s after a re-cache); Cache-Control is public only for
 * anonymous GET persisted queries holding no one's personal data, and matches the remaining TTL
 * (capped for volatile counts, which no invalidation reaches once a browser or CDN holds them).
 */
export function useResponseCache(options: {
  cache: TwoTierCache;
  logger: Logger;
  /** Part of every key with the schema's hash: another build's answers (other fields, other authorization) never match. */
  buildId: string;
}): Plugin {
  const states = new WeakMap<Request, RequestCacheState>();
  const rootTags = new WeakMap<object, string[]>();
  const contextRequest = (context: unknown) => (context as { request: Request }).request;
  let yoga: YogaServerInstance<Record<string, unknown>, Record<string, unknown>> | undefined;
  const refreshing = new Set<string>();
  let schema: GraphQLSchema | undefined;
  let version = options.buildId;
  // Public answers come from persisted documents, a small set: the check runs once per document.
  const volatility = new LRUCache<string, boolean>({ max: 1000 });
  const isVolatile = (query: string) => {
    let volatile = volatility.get(query);
    if (volatile === undefined) volatility.set(query, (volatile = !schema || selectsVolatile(schema, query)));
    return volatile;
  };

  /**
   * Runs the request's operation again, off the request path, as the same principal and locale; the
   * envelop plugin stores the fresh result under the same key. The ticket is taken before execution,
   * so a write that lands meanwhile makes the store refuse it. One refresh per key at a time.
   */
  async function refresh(request: Request, params: GraphQLParams, key: string): Promise<void> {
    if (!yoga || refreshing.has(key) || typeof params.query !== 'string') return;
    refreshing.add(key);
    try {
      const background = new Request(request.url, { method: 'POST', headers: request.headers });
      setRequestPrincipal(background, requestPrincipal(request));
      states.set(background, { key, ticket: await options.cache.ticket(key), persisted: false });
      const { parse, validate, contextFactory, execute, schema } = yoga.getEnveloped({ request: background, params });
      const document = parse(params.query);
      if (validate(schema, document).length) return;
      const result = await execute({ schema, document, contextValue: await contextFactory(), variableValues: params.variables, operationName: params.operationName });
      // A deferred or streamed operation answers with an iterator: the merged result is stored once it has run to its end.
      if (result && typeof result === 'object' && Symbol.asyncIterator in result) for await (const _ of result as AsyncIterable<unknown>);
    } catch (error) {
      options.logger.warn({ err: (error as Error).message }, 'response cache: background refresh failed');
    } finally {
      refreshing.delete(key);
    }
  }

  // The envelop plugin asks for a Cache per context: this one adds root-field tags and records the TTL.
  const cacheFor = (context: unknown): Cache => ({
    // Lookups happen in onParams (below), before the context exists; the envelop plugin's own is a no-op.
    get: () => undefined,
    set: async (key, result, entityIterable, ttl) => {
      const state = states.get(contextRequest(context));
      if (!state?.ticket || !(ttl > 0)) return;
      const entities = [...entityIterable]; // may be a one-shot iterator
      state.expiresAt = Date.now() + ttl;
      state.personal = entities.some((entity) => PERSONAL.has(entity.typename));
      state.etag = weakEtag(await options.cache.set(key, result, entities, ttl, rootTags.get(context as object) ?? [], state.ticket));
    },
    invalidate: (entities) => options.cache.invalidate([...entities]),
  });

  return {
    onPluginInit({ addPlugin }) {
      addPlugin(
        // envelop's plugin type is generic over any context; Yoga's context satisfies it.
        useEnvelopResponseCache({
          cache: cacheFor as unknown as Cache,
          session: (context: unknown) => sessionOf(contextRequest(context)),
          buildResponseCacheKey: ({ context }) => states.get(contextRequest(context))?.key ?? '',
          enabled: (context: unknown) => Boolean(states.get(contextRequest(context))?.key),
          ttl: TTL_POLICY.default,
          ttlPerSchemaCoordinate: TTL_POLICY.perSchemaCoordinate,
          scopePerSchemaCoordinate: Object.fromEntries(TTL_POLICY.private.map((type) => [type, 'PRIVATE' as const])),
          shouldCacheResult: ({ result }) => !result.errors?.length,
          includeExtensionMetadata: false,
        }) as Plugin,
      );
    },
    onYogaInit({ yoga: instance }) {
      yoga = instance as typeof yoga;
    },
    onSchemaChange({ schema: next }) {
      schema = next;
      version = createHash('sha256').update(printSchema(next)).update('\0').update(options.buildId).digest('hex').slice(0, 16);
      volatility.clear();
    },
    async onParams({ params, request, setResult }) {
      const state: RequestCacheState = { persisted: isPersistedRequest(request) };
      states.set(request, state);
      const query = params.query;
      // Documents that may hold a mutation skip the lookup (a cheap test; a false positive only misses).
      if (typeof query !== 'string' || /\bmutation\b|\bsubscription\b/.test(query)) return;
      state.query = query;
      // The locale is part of the answer (localized fields default to Accept-Language's choice).
      const locale = localeFromAcceptLanguage(request.headers.get('accept-language'));
      state.key = createHash('sha256')
        .update(JSON.stringify([version, query, params.variables ?? {}, params.operationName ?? null, sessionOf(request), locale]))
        .digest('hex');
      const { hit, ticket } = await options.cache.get(state.key);
      outcomes.set(request, hit ? 'hit' : 'miss');
      state.ticket = ticket;
      if (hit) {
        state.expiresAt = hit.expiresAt;
        state.etag = weakEtag(hit.json);
        state.personal = hit.tags.some((tag) => PERSONAL.has(tag));
        // A hit is sent as the stored bytes: Yoga serializes a stand-in and onResponse swaps the body,
        // which saves a parse and a stringify per hit. Only where Yoga answers with plain JSON.
        if (answersWithJson(request)) {
          state.body = hit.json;
          setResult(STAND_IN);
        } else {
          setResult(JSON.parse(hit.json) as ExecutionResult);
        }
        if (dueForRefresh(hit)) void refresh(request, params, state.key);
      }
    },
    onExecute({ args }) {
      rootTags.set(args.contextValue as object, rootFieldTags(args.document, args.operationName));
    },
    async onResponse({ request, response, setResponse }) {
      const state = states.get(request);
      if (!state || response.status !== 200) return;
      const headers = new Headers(response.headers);
      const anonymous = requestPrincipal(request).kind === 'anonymous';
      const { etag } = state;
      if (etag && anonymous && request.method === 'GET' && state.persisted && !state.personal) {
        headers.set('cache-control', publicCacheControl(state.expiresAt! - Date.now(), isVolatile(state.query!)));
        // Shared caches must keep locales apart, and not hand the anonymous answer to a keyed request.
        headers.append('vary', 'Accept-Language, Authorization');
      } else {
        headers.set('cache-control', 'private, no-store');
      }
      if (etag) {
        headers.set('etag', etag);
        const ifNoneMatch = request.headers.get('if-none-match');
        if (ifNoneMatch?.split(',').some((tag) => tag.trim() === etag)) {
          setResponse(new Response(null, { status: 304, headers }));
          return;
        }
      }
      if (state.body !== undefined) {
        headers.delete('content-length');
        setResponse(new Response(state.body, { status: response.status, headers }));
        return;
      }
      setResponse(new Response(response.body, { status: response.status, headers }));
    },
  };
}
