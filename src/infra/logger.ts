import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout (or `destination`: tests read the log through one). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: undefined, redact: ['req.headers.authorization'] };
  return destination ? pino(options, destination) : pino(options);
}
