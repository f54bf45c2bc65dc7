import { createHash, hash } from 'node:crypto';
import { useResponseCache as useEnvelopResponseCache, type Cache } from '@envelop/response-cache';
import { getOperationAST, Kind, parse, printSchema, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { FetchAPI, GraphQLParams, Plugin, YogaServerInstance } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { CacheHit, Ticket, TwoTierCache } from '../infra/cache/two-tier-cache.js';
import type { Logger } from '../infra/logger.js';
import { TTL_POLICY } from '../infra/cache/ttl-policy.js';
import { requestPrincipal, setRequestPrincipal } from '../modules/auth/request-principal.js';
import { localeFromAcceptLanguage } from '../shared/locale.js';
import { withSharedBody } from './use-compression.js';
import { isPersistedRequest, labelPersistedRequest, persistedOperationFor, persistedOperationId, type PersistedOperationsPolicy } from './use-persisted-operations.js';

interface RequestCacheState {
  key?: string;
  ticket?: Ticket;
  /** Set when the response is served from, or stored in, the cache. */
  expiresAt?: number;
  /** A hash of the cached result: the body is its serialization, so equal bodies share it. */
  etag?: string;
  /** A hit whose stored JSON is sent as the body as it is (see onParams). */
  sent?: CacheHit;
  /** The answer holds a person's own data: never `public` in HTTP caches. */
  personal?: boolean;
  persisted: boolean;
  /** The document looked up (for Cache-Control's volatility check). */
  query?: string;
  /** Answered by the fast lane, headers and all. */
  answered?: boolean;
  /** The executed result being stored: the response waits for it (its ETag, and the caller's next read hits). */
  storing?: Promise<void>;
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

/** How Yoga reads a request's GraphQL parameters (its GET parser, for the fast lane). */
type RequestParser = (request: Request) => GraphQLParams | GraphQLParams[] | Response | Promise<GraphQLParams | GraphQLParams[] | Response>;

/**
 * An Accept that names an event stream or multipart takes the pipeline: the fast lane serves only
 * requests that plainly want JSON (Yoga may still answer such a request with JSON, see jsonMediaType).
 */
function namesStreams(request: Request): boolean {
  return /event-stream|multipart/i.test(request.headers.get('accept') ?? '');
}

const JSON_MEDIA_TYPES = ['application/graphql-response+json', 'application/json'];

/**
 * The media type Yoga answers a single result with when that is plain JSON, else null. Yoga does not
 * export its choice (graphql-yoga 5, plugins/use-result-processor.js and result-processor/accept.js),
 * so this follows it: Accept entries with a charset other than utf-8 are skipped, q-values are
 * ignored, and the JSON processor, tried last, wins with the first entry matching one of its types
 * (application/json for a wildcard); no Accept is `*\/*`. When it matches none (`text/*` alone is an
 * event stream, `multipart/mixed` a multipart body), null: hits are then parsed for Yoga to serialize.
 */
function jsonMediaType(request: Request): string | null {
  return mediaTypes.memo(request.headers.get('accept') || '*/*') || null;
}

/** Clients send few distinct Accept headers: each one's choice is kept ('' for none). */
const mediaTypes = new LRUCache<string, string>({ max: 200, memoMethod: (accept) => jsonMediaTypeFor(accept) ?? '' });

function jsonMediaTypeFor(accept: string): string | null {
  const entries = accept.replace(/\s/g, '').toLowerCase().split(',');
  for (const entry of entries) {
    const [type = '', ...params] = entry.split(';');
    if ((params.find((param) => param.includes('charset=')) || 'charset=utf-8') !== 'charset=utf-8') continue;
    const [pre, suf] = type.split('/');
    const matching = JSON_MEDIA_TYPES.filter((candidate) => {
      const [candidatePre, candidateSuf] = candidate.split('/');
      return (pre === '*' || pre === candidatePre) && (suf === '*' || suf === candidateSuf);
    });
    if (matching.length) return matching[matching.length - 1]!;
  }
  return null;
}

/** Whether the client holds this answer already (If-None-Match names its ETag). */
function notModified(request: Request, etag: string | undefined): boolean {
  return etag !== undefined && Boolean(request.headers.get('if-none-match')?.split(',').some((tag) => tag.trim() === etag));
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

// crypto.hash: one call, no Hash object (the hot paths hash once per request).
const weakEtag = (body: string) => `W/"${hash('sha1', body, 'base64url')}"`;
/** A hit's ETag, hashed once per stored entry (hits are the entries themselves). */
const hitEtags = new WeakMap<CacheHit, string>();
function etagOf(hit: CacheHit): string {
  let etag = hitEtags.get(hit);
  if (etag === undefined) hitEtags.set(hit, (etag = weakEtag(hit.json)));
  return etag;
}

/**
 * What the fast lane needs from the rest of the chain (see useResponseCache): each piece is the one
 * the pipeline itself uses, so both answer an anonymous persisted GET by the same rules.
 */
export interface FastLane {
  /** The persisted operations policy (usePersistedOperations'). */
  persisted: PersistedOperationsPolicy;
  /** The pipeline's onParams refusals an anonymous persisted query can meet, each throwing as it does there. */
  checks: ((request: Request, params: GraphQLParams) => void)[];
  /** One request against the caller's budget; once per Request, so the pipeline may count a request left to it again. */
  countRequest: (request: Request, serverContext: unknown) => Promise<void>;
  /** What the pipeline's onParams hooks record (the access log's operation name), for a request answered early; `params` as Yoga parsed them. */
  answered: (request: Request, params: GraphQLParams) => void;
}

/**
 * Cache-Control, Vary and ETag of an answer the cache looked up: public only for anonymous GET persisted
 * queries holding no one's personal data, with the entry's remaining TTL; private, no-store otherwise.
 */
function setCacheHeaders(headers: Pick<Headers, 'set' | 'append'>, request: Request, state: RequestCacheState, isVolatile: (query: string) => boolean): void {
  const anonymous = requestPrincipal(request).kind === 'anonymous';
  if (state.etag && anonymous && request.method === 'GET' && state.persisted && !state.personal) {
    headers.set('cache-control', publicCacheControl(state.expiresAt! - Date.now(), isVolatile(state.query!)));
    // Shared caches must keep locales apart, and not hand the anonymous answer to a keyed request.
    headers.append('vary', 'Accept-Language, Authorization');
  } else {
    headers.set('cache-control', 'private, no-store');
  }
  if (state.etag) headers.set('etag', state.etag);
}

/**
 * Response cache over the two-tier store. Differences from the stock Yoga plugin, on purpose:
 * entries are also tagged with their root fields (so a new workshop evicts cached `workshops` pages,
 * even empty ones); the ETag hashes the cached result, i.e. the body (the stock one is the cache key,
 * so a client kept stale data through 304s after a re-cache); Cache-Control is public only for
 * anonymous GET persisted queries holding no one's personal data, and matches the remaining TTL
 * (capped for volatile counts, which no invalidation reaches once a browser or CDN holds them).
 *
 * The fast lane: an anonymous persisted GET whose answer is cached is answered in onRequestParse,
 * after the request guard and CSRF prevention (earlier plugins) and before Yoga's parameter handling,
 * the onParams hooks and result processing. It applies the pipeline's own checks (`fastLane`) and the
 * same key, and leaves anything else (a miss, a refusal, credentials, a streamed answer) to the pipeline.
 */
export function useResponseCache(options: {
  cache: TwoTierCache;
  logger: Logger;
  /** Part of every key with the schema's hash: another build's answers (other fields, other authorization) never match. */
  buildId: string;
  /** Answer anonymous persisted GET hits before the pipeline; absent: every request takes the pipeline. */
  fastLane?: FastLane;
}): Plugin {
  const states = new WeakMap<Request, RequestCacheState>();
  // The fast lane's lookup, reused when the request falls through: one lookup (and one count in the stats) per request.
  const lookups = new WeakMap<Request, { key: string; result: ReturnType<TwoTierCache['get']> }>();
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
   * The cache key of a request's operation: build and schema, document, variables, operation name, the
   * principal's scope and the locale (localized fields default to Accept-Language's choice). Null for
   * documents that may hold a mutation or subscription (a cheap test; a false positive only misses).
   */
  function cacheKey(request: Request, params: GraphQLParams): string | null {
    const query = params.query;
    if (typeof query !== 'string' || /\bmutation\b|\bsubscription\b/.test(query)) return null;
    const locale = localeFromAcceptLanguage(request.headers.get('accept-language'));
    return hash('sha256', JSON.stringify([version, digestOf(query), params.variables ?? {}, params.operationName ?? null, sessionOf(request), locale]), 'hex');
  }

  // Most requests send one of a few documents (the persisted ones): each is hashed once, not on every lookup.
  const documentDigests = new LRUCache<string, string>({
    maxSize: 4_000_000,
    sizeCalculation: (_digest, query) => query.length || 1,
    memoMethod: (query) => hash('sha256', query, 'base64url'),
  });
  const digestOf = (query: string) => documentDigests.memo(query);

  function lookUp(request: Request, key: string): ReturnType<TwoTierCache['get']> {
    const earlier = lookups.get(request);
    if (earlier?.key === key) return earlier.result;
    const result = options.cache.get(key);
    lookups.set(request, { key, result });
    return result;
  }

  /** A hit's facts for onResponse (Cache-Control, ETag) and the access log. */
  function noteHit(request: Request, state: RequestCacheState, hit: CacheHit): void {
    outcomes.set(request, 'hit');
    state.expiresAt = hit.expiresAt;
    state.etag = etagOf(hit);
    state.personal = hit.tags.some((tag) => PERSONAL.has(tag));
  }

  /** The fast lane's answer to an eligible request (see useResponseCache), or null to leave it to the pipeline. */
  async function earlyAnswer(lane: FastLane, request: Request, parse: RequestParser, serverContext: unknown, mediaType: string, fetchAPI: FetchAPI): Promise<Response | null> {
    const params = await parse(request);
    if (Array.isArray(params) || params instanceof Response || params.query) return null;
    const id = persistedOperationId(params, request);
    const persisted = id ? persistedOperationFor(lane.persisted, id, request) : null;
    if (!persisted) return null;
    const query = persisted.document;
    const operation: GraphQLParams = { query, variables: params.variables, operationName: params.operationName, extensions: params.extensions };
    for (const check of lane.checks) check(request, operation);
    const key = cacheKey(request, operation);
    if (!key) return null;
    const { hit } = await lookUp(request, key);
    if (!hit) return null;
    // Refused (429): the pipeline's count answers with the same refusal.
    await lane.countRequest(request, serverContext);
    // Only now what the access log reports: a request left to the pipeline is labelled as the pipeline would (or would not).
    labelPersistedRequest(request, persisted);
    const state: RequestCacheState = { key, persisted: true, query, sent: hit };
    noteHit(request, state, hit);
    states.set(request, state);
    lane.answered(request, params);
    if (dueForRefresh(hit)) void refresh(request, operation, key);
    // As Yoga's JSON result processor would send it, with the headers onResponse gives any hit (answered: it leaves them).
    state.answered = true;
    const headers = new fetchAPI.Headers({ 'content-type': `${mediaType}; charset=utf-8` });
    setCacheHeaders(headers, request, state, isVolatile);
    if (notModified(request, state.etag)) return new fetchAPI.Response(null, { status: 304, headers });
    return withSharedBody(new fetchAPI.Response(hit.json, { status: 200, headers }), hit);
  }

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
    // The envelop plugin does not wait for this; onResponse does (state.storing).
    set: (key, result, entityIterable, ttl) => {
      const state = states.get(contextRequest(context));
      if (!state?.ticket || !(ttl > 0)) return;
      const entities = [...entityIterable]; // may be a one-shot iterator
      state.expiresAt = Date.now() + ttl;
      state.personal = entities.some((entity) => PERSONAL.has(entity.typename));
      state.storing = options.cache.set(key, result, entities, ttl, rootTags.get(context as object) ?? [], state.ticket).then(
        (json) => void (state.etag = weakEtag(json)),
        (error: unknown) => options.logger.warn({ err: (error as Error).message }, 'response cache: storing failed'),
      );
      return state.storing;
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
    async onRequestParse({ request, url, requestParser, serverContext, endResponse, fetchAPI }) {
      const lane = options.fastLane;
      // Cheap tests first: most requests are not eligible. A request with credentials takes the pipeline.
      if (!lane || request.method !== 'GET' || !requestParser || request.headers.has('authorization') || namesStreams(request)) return;
      const mediaType = jsonMediaType(request);
      if (!mediaType || url.pathname !== yoga?.graphqlEndpoint) return;
      // Whatever stops the fast lane (a refusal, a miss, a failure) is for the pipeline to answer as it always does.
      const answer = await earlyAnswer(lane, request, requestParser, serverContext, mediaType, fetchAPI).catch(() => null);
      if (answer) endResponse(answer);
    },
    async onParams({ params, request, setResult }) {
      const state: RequestCacheState = { persisted: isPersistedRequest(request) };
      states.set(request, state);
      const key = cacheKey(request, params);
      if (!key) return;
      state.key = key;
      state.query = params.query;
      const { hit, ticket } = await lookUp(request, key);
      if (!hit) outcomes.set(request, 'miss');
      state.ticket = ticket;
      if (hit) {
        noteHit(request, state, hit);
        // A hit is sent as the stored bytes: Yoga serializes a stand-in and onResponse swaps the body,
        // which saves a parse and a stringify per hit. Only where Yoga answers with plain JSON.
        if (jsonMediaType(request)) {
          state.sent = hit;
          setResult(STAND_IN);
        } else {
          setResult(JSON.parse(hit.json) as ExecutionResult);
        }
        if (dueForRefresh(hit)) void refresh(request, params, key);
      }
    },
    onExecute({ args }) {
      rootTags.set(args.contextValue as object, rootFieldTags(args.document, args.operationName));
    },
    async onResponse({ request, response, setResponse, fetchAPI }) {
      const state = states.get(request);
      if (!state || response.status !== 200) return;
      if (state.answered) return;
      await state.storing;
      const unchanged = notModified(request, state.etag);
      if (!unchanged && !state.sent) {
        // Executed: Yoga's own response keeps its body (a string the adapter writes at once); only headers are added.
        setCacheHeaders(response.headers, request, state, isVolatile);
        return;
      }
      // Yoga's headers, changed in place (no copy: copying them through the standard Headers was a sixth of a
      // hit), and the adapter's Response: it writes a string body at once, a standard Response's is a stream.
      const headers = response.headers;
      setCacheHeaders(headers, request, state, isVolatile);
      if (unchanged || !state.sent) {
        setResponse(new fetchAPI.Response(null, { status: 304, headers }));
        return;
      }
      headers.delete('content-length');
      setResponse(withSharedBody(new fetchAPI.Response(state.sent.json, { status: response.status, headers }), state.sent));
    },
  };
}
