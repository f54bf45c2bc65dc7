import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../infra/logger.js';
import { operationLabel } from './use-persisted-operations.js';

/**
 * One line per GraphQL request (debug level), labelled `<client>/<operation>` for persisted
 * operations and `ad-hoc` otherwise: a bounded label set, safe for log indexes and metrics.
 */
export function useOperationLog(logger: Logger): Plugin {
  const started = new WeakMap<Request, number>();
  return {
    onRequest({ request }) {
      started.set(request, performance.now());
    },
    onResponse({ request, response }) {
      const start = started.get(request);
      if (start === undefined || !new URL(request.url).pathname.endsWith('/graphql')) return;
      logger.debug({ operation: operationLabel(request), status: response.status, ms: Math.round(performance.now() - start) }, 'graphql request');
    },
  };
}
