import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout (or `destination`: tests read the log through one). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: undefined, redact: ['req.headers.authorization'] };
  return destination ? pino(options, destination) : pino(options);
}

/** The `extensions.code` a client would get for `error`; undefined when it is not an error. */
export type ErrorClassifier = (error: unknown) => string | undefined;

/** Codes of failures that are not the client's doing: logged at error level, with their stack. */
const UNEXPECTED_CODES = new Set(['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE']);

/**
 * The logger Yoga gets. Yoga logs at error level, with the stack, every error its masking changes,
 * which includes each coded client error raised in a resolver (bad input, conflicts, not found…): an
 * attacker could fill the error log at will. Those go to debug as one line (code, message, path, no
 * stack); error level is kept for unexpected failures.
 */
export function yogaLogger(logger: Logger, codeOf: ErrorClassifier): Record<'debug' | 'info' | 'warn' | 'error', (...args: unknown[]) => void> {
  return {
    debug: (...args) => logger.debug(args.length > 1 ? { args: args.slice(1) } : {}, String(args[0])),
    info: (...args) => logger.info(args.length > 1 ? { args: args.slice(1) } : {}, String(args[0])),
    warn: (...args) => logger.warn(args.length > 1 ? { args: args.slice(1) } : {}, String(args[0])),
    error: (...args) => {
      const [first] = args;
      const code = codeOf(first);
      if (code && !UNEXPECTED_CODES.has(code)) {
        const { message, path } = first as { message?: string; path?: unknown };
        logger.debug({ code, path }, `client error: ${message}`);
        return;
      }
      if (first instanceof Error) logger.error({ err: first, code }, first.message);
      else logger.error({ args }, 'unexpected error');
    },
  };
}
