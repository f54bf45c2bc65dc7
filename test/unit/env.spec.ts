import { describe, expect, it } from 'vitest';
import { EnvError, parseEnv } from '../../src/env.js';

describe('environment', () => {
  it('has working defaults for the embedded development setup', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ NODE_ENV: 'development', PORT: 4000, DB_POOL_MAX: 10, DB_STATEMENT_TIMEOUT_MS: 5000, GRAPHIQL: true, MIGRATE_ON_START: true });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('reports every problem at once', () => {
    try {
      parseEnv({ PORT: 'eighty', DATABASE_URL: 'mysql://x', REDIS_URL: 'http://nope', DB_POOL_MAX: '0', NODE_ENV: 'production' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(EnvError);
      const problems = (error as EnvError).problems.join('\n');
      for (const name of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'DB_POOL_MAX']) expect(problems).toContain(name);
    }
  });

  it('requires real secrets and a real database in production', () => {
    expect(() => parseEnv({ NODE_ENV: 'production' })).toThrow(/TOKEN_SECRET[\s\S]*DATABASE_URL|DATABASE_URL[\s\S]*TOKEN_SECRET/);
    const env = parseEnv({ NODE_ENV: 'production', TOKEN_SECRET: 'x'.repeat(32), DATABASE_URL: 'postgres://db/app' });
    expect(env.GRAPHIQL).toBe(false);
  });
});
