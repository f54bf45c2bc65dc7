import type { Logger } from '../infra/logger.js';
import type { SummaryReporter } from './use-request-summary.js';

/**
 * The access log, fed by use-request-summary: one info line per GraphQL request (request id, method,
 * operation, status, duration, cache outcome, principal kind, error codes; never variables or
 * personal data), and a warning naming the operation when a request took longer than `slowMs`.
 */
export function operationLog(logger: Logger, slowMs: number): SummaryReporter {
  return (summary) => {
    const line = {
      reqId: summary.requestId,
      method: summary.method,
      operation: summary.operation,
      operationName: summary.operationName,
      operationType: summary.operationType,
      status: summary.status,
      ms: Math.round(summary.durationMs),
      cache: summary.cache,
      principal: summary.principal,
      ...(summary.errors.length ? { errors: summary.errors.map((error) => error.code) } : {}),
    };
    logger.info(line, 'graphql request');
    if (summary.durationMs > slowMs) logger.warn({ ...line, slowMs }, `slow graphql operation ${summary.operationName ?? summary.operation}`);
  };
}
