import { startBackground } from '../../src/background.js';
import { parseEnv, type Env } from '../../src/env.js';
import type { JobSystem } from '../../src/infra/jobs/index.js';
import { createLogger } from '../../src/infra/logger.js';
import type { TestApp } from './app.js';

/** The environment a test's background work reads: the app's own settings, then `overrides`. */
export function backgroundEnv(app: TestApp, overrides: Record<string, string> = {}): Env {
  return parseEnv({
    NODE_ENV: 'test', DATABASE_URL: app.databaseUrl ?? '', TOKEN_SECRET: app.env.TOKEN_SECRET, DEVELOPMENT_RELAXATIONS: 'true', LOG_LEVEL: 'silent',
    STATS_REFRESH_DEBOUNCE_MS: '0', ...overrides,
  });
}

/** The app's background work (job workers, outbox relay, schedules) on `jobs`, as a process with WORKERS=inline runs it. */
export function startTestBackground(app: TestApp, jobs: JobSystem, overrides: Record<string, string> = {}): Promise<{ close(): Promise<void> }> {
  return startBackground({ env: backgroundEnv(app, overrides), database: app.database, services: app.services, jobs, logger: createLogger('silent') });
}
