import { builder } from '../../builder.js';
import type { CacheFlush } from '../../infra/cache/two-tier-cache.js';

const ResponseCacheFlushRef = builder.objectRef<CacheFlush>('ResponseCacheFlush').implement({
  fields: (t) => ({
    namespace: t.exposeString('namespace', { description: 'The flushed namespace (`CACHE_NAMESPACE`).' }),
    entries: t.exposeInt('entries', { description: 'Cached answers removed from Redis (from this instance alone without Redis).' }),
    shared: t.exposeBoolean('shared', { description: 'False when Redis did not answer: the flush is replayed there once it does.' }),
  }),
});

builder.mutationFields((t) => ({
  flushResponseCache: t.field({
    type: ResponseCacheFlushRef,
    description: 'Drops every cached response of this deployment on every instance (ADMIN), e.g. after a seed or a fix made in SQL.',
    resolve: (_root, _args, ctx) => ctx.services.responseCache.flushAs(ctx.principal),
  }),
}));
