import type { Server, ServerResponse } from 'node:http';
import type { Logger } from './logger.js';

/** One step of the shutdown sequence. */
export interface Closer {
  name: string;
  /** Stops this part; the sequence waits for it before the next step. */
  close(): unknown;
  /** Called when the deadline passes while shutdown is still under way: give up on waiting (e.g. cut connections). */
  force?(): void;
}

export interface ShutdownOptions {
  /** /ready answers 503 this long before the server stops accepting, so load balancers stop sending first. */
  delayMs: number;
  /** The whole shutdown, from the signal to the exit; past it connections are cut and the exit code is 1. */
  timeoutMs: number;
  logger: Logger;
  exit?: (code: number) => void;
}

/** Time a closer is still given after `force()` before the process exits anyway. */
const FORCE_GRACE_MS = 2000;

/**
 * Graceful shutdown as one ordered list of closers, run one after another on SIGTERM/SIGINT:
 * readiness fails at once (`draining`), then each closer in the order it was added. The composition
 * root (src/index.ts) adds the HTTP server first, then whatever produces work (schedulers, and
 * background workers: add them there, before the database), then the database and Redis, which the
 * earlier steps still use while they finish. Exit 0 when all closed in time, 1 when the deadline forced it.
 */
export class GracefulShutdown {
  private readonly controller = new AbortController();
  /** Aborted when shutdown begins; the readiness check answers 503 from then on. */
  readonly draining: AbortSignal = this.controller.signal;
  private readonly closers: Closer[] = [];
  private readonly exit: (code: number) => void;

  constructor(private readonly options: ShutdownOptions) {
    this.exit = options.exit ?? ((code) => process.exit(code));
  }

  add(closer: Closer): this {
    this.closers.push(closer);
    return this;
  }

  /** Runs the sequence on the first of these signals; a second signal exits at once with 1. */
  onSignals(signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): void {
    for (const signal of signals) process.on(signal, () => void this.run(signal));
  }

  async run(reason: string): Promise<void> {
    const { logger, delayMs, timeoutMs } = this.options;
    if (this.draining.aborted) {
      logger.warn(`${reason} during shutdown: exiting now`);
      return this.exit(1);
    }
    this.controller.abort();
    logger.info({ delayMs, timeoutMs }, `${reason}: draining`);
    let forced = false;
    const deadline = setTimeout(() => {
      forced = true;
      logger.warn({ timeoutMs }, 'shutdown timed out: cutting connections');
      for (const closer of this.closers) closer.force?.();
      setTimeout(() => this.exit(1), FORCE_GRACE_MS).unref();
    }, timeoutMs);
    deadline.unref();
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    for (const closer of this.closers) {
      try {
        await closer.close();
        logger.debug(`shutdown: ${closer.name} closed`);
      } catch (error) {
        logger.warn({ err: error instanceof Error ? error.message : error }, `shutdown: closing ${closer.name} failed`);
      }
    }
    clearTimeout(deadline);
    logger.info(forced ? 'shut down (forced)' : 'shut down');
    this.exit(forced ? 1 : 0);
  }
}

/**
 * Closes an HTTP server gracefully with Node's own means: `close()` stops accepting and ends idle
 * keep-alive connections; responses still running, and requests that arrive on open connections
 * meanwhile, are sent with `Connection: close` so their connections end after them (Node alone would
 * keep them open until the keep-alive timeout); `force()` cuts whatever is left.
 */
export function httpServerCloser(server: Server, draining: AbortSignal): Closer {
  const open = new Set<ServerResponse>();
  server.prependListener('request', (_request, response) => {
    if (draining.aborted) response.setHeader('connection', 'close');
    open.add(response);
    response.once('close', () => {
      open.delete(response);
      if (draining.aborted) server.closeIdleConnections();
    });
  });
  draining.addEventListener('abort', () => {
    for (const response of open) if (!response.headersSent) response.setHeader('connection', 'close');
  });
  return {
    name: 'http server',
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    force: () => server.closeAllConnections(),
  };
}
