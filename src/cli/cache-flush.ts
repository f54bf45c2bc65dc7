/**
 * `npm run cache:flush`: drops every cached response of CACHE_NAMESPACE in Redis (REDIS_URL or REDIS_CLUSTER_NODES) and on every
 * running instance, after writes made outside the API (SQL fixes, imports). `npm run seed` does it too.
 */
import { parseEnv } from '../env.js';
import { flushSharedCache } from '../infra/cache/flush-shared-cache.js';
import { createLogger } from '../infra/logger.js';

const env = parseEnv(process.env, { cli: true });
const flushed = await flushSharedCache(env, createLogger(env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL));
if (flushed) console.log(`flushed namespace "${flushed.namespace}": ${flushed.entries} cached responses removed, every instance told`);
else console.log('No REDIS_URL or REDIS_CLUSTER_NODES: each instance caches in its own memory; flush a running one with the ADMIN mutation flushResponseCache, or restart it.');
process.exit(0);
