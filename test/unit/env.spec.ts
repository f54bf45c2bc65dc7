import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, DEVELOPMENT_REQUESTS_PER_MINUTE } from '../../src/config/limits.js';
import { EnvError, parseEnv } from '../../src/env.js';
import { PRODUCTION_MAIL_ENV } from '../testkit/production-env.js';

describe('environment', () => {
  it('has working defaults for the embedded development setup', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ NODE_ENV: 'development', PORT: 4000, DB_POOL_MAX: 10, DB_STATEMENT_TIMEOUT_MS: 5000, GRAPHIQL: true, MIGRATE_ON_START: true });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('turns tracing on only when the standard OTEL_* variables name an exporter', () => {
    expect(parseEnv({}).tracing).toBe(false);
    expect(parseEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toBe(true);
    expect(parseEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }).tracing).toBe(true);
    expect(parseEnv({ OTEL_TRACES_EXPORTER: 'console' }).tracing).toBe(true);
    expect(parseEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toBe(false);
    expect(parseEnv({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toBe(false);
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

  it('reads the read replicas and the pooler mode, refusing replicas without a primary', () => {
    const primary = { DATABASE_URL: 'postgres://db/app', TOKEN_SECRET: 'x'.repeat(32) };
    expect(parseEnv(primary)).toMatchObject({ DATABASE_REPLICA_MAX_LAG_MS: 5000, DB_POOLER: 'none' });
    expect(parseEnv(primary).DATABASE_REPLICA_URLS).toBeUndefined();
    const env = parseEnv({ ...primary, DATABASE_REPLICA_URLS: 'postgres://r1/app, postgresql://u:p@r2:5433/app', DATABASE_REPLICA_MAX_LAG_MS: '250', DB_POOLER: 'pgbouncer' });
    expect(env).toMatchObject({ DATABASE_REPLICA_URLS: ['postgres://r1/app', 'postgresql://u:p@r2:5433/app'], DATABASE_REPLICA_MAX_LAG_MS: 250, DB_POOLER: 'pgbouncer' });
    expect(() => parseEnv({ ...primary, DATABASE_REPLICA_URLS: 'postgres://r1/app,mysql://r2' })).toThrow(/DATABASE_REPLICA_URLS/);
    expect(() => parseEnv({ ...primary, DB_POOLER: 'pgpool' })).toThrow(/DB_POOLER/);
    expect(() => parseEnv({ DATABASE_REPLICA_URLS: 'postgres://r1/app' })).toThrow(/DATABASE_REPLICA_URLS: needs DATABASE_URL/);
  });

  it('requires a real database in production', () => {
    expect(() => parseEnv({ NODE_ENV: 'production', TOKEN_SECRET: 'x'.repeat(32) })).toThrow(/DATABASE_URL/);
    const env = parseEnv({ NODE_ENV: 'production', TOKEN_SECRET: 'x'.repeat(32), DATABASE_URL: 'postgres://db/app', ...PRODUCTION_MAIL_ENV });
    expect(env.GRAPHIQL).toBe(false);
  });

  it('requires a mail transport said explicitly and PUBLIC_URL in production, never the file transport by default', () => {
    const production = { NODE_ENV: 'production', TOKEN_SECRET: 'x'.repeat(32), DATABASE_URL: 'postgres://db/app' };
    expect(() => parseEnv(production)).toThrow(/SMTP_URL: is required in production[\s\S]*PUBLIC_URL: is required in production/);
    expect(parseEnv({ ...production, SMTP_URL: 'smtp://mail:587', PUBLIC_URL: 'https://w.example' })).toMatchObject({ MAIL_TRANSPORT: 'smtp', PUBLIC_URL: 'https://w.example' });
    expect(parseEnv({ ...production, MAIL_TRANSPORT: 'file', PUBLIC_URL: 'https://w.example' }).MAIL_TRANSPORT).toBe('file');
    expect(() => parseEnv({ ...production, MAIL_TRANSPORT: 'smtp', PUBLIC_URL: 'https://w.example' })).toThrow(/SMTP_URL: is required with MAIL_TRANSPORT=smtp/);
    // Development: files in MAIL_DIR, links to this server.
    expect(parseEnv({})).toMatchObject({ MAIL_TRANSPORT: 'file', MAIL_DIR: '.data/mail', PUBLIC_URL: 'http://127.0.0.1:4000', WORKERS: 'inline' });
    expect(() => parseEnv({ WORKERS: 'off' })).toThrow(/WORKERS: off needs REDIS_URL/);
  });

  it('takes one Redis server (REDIS_URL) or one cluster (REDIS_CLUSTER_NODES), not both', () => {
    expect(parseEnv({ REDIS_CLUSTER_NODES: 'redis-1:7000, 10.0.0.2:7001' }).redis).toEqual({ clusterNodes: [{ host: 'redis-1', port: 7000 }, { host: '10.0.0.2', port: 7001 }] });
    expect(parseEnv({ REDIS_URL: 'redis://r:6379' }).redis).toBe('redis://r:6379');
    expect(parseEnv({}).redis).toBeUndefined();
    expect(() => parseEnv({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'r:7000' })).toThrow(/REDIS_CLUSTER_NODES: cannot be combined with REDIS_URL/);
    expect(() => parseEnv({ REDIS_CLUSTER_NODES: 'redis://r:7000' })).toThrow(/REDIS_CLUSTER_NODES: host:port pairs/);
    expect(parseEnv({ REDIS_CLUSTER_NODES: 'r:7000', WORKERS: 'off' }).WORKERS).toBe('off');
  });

  it('requires a real TOKEN_SECRET with any real database, whatever NODE_ENV says', () => {
    for (const NODE_ENV of [undefined, 'development', 'test', 'production']) {
      expect(() => parseEnv({ NODE_ENV, DATABASE_URL: 'postgres://db/app' })).toThrow(/TOKEN_SECRET/);
      expect(() => parseEnv({ NODE_ENV, DATABASE_URL: 'postgres://db/app', DEVELOPMENT_RELAXATIONS: NODE_ENV === 'production' ? undefined : 'true' })).toThrow(/TOKEN_SECRET/);
    }
    expect(parseEnv({}).TOKEN_SECRET.length).toBeGreaterThanOrEqual(32);
  });

  const strict = { DATABASE_URL: 'postgres://db/app', TOKEN_SECRET: 'x'.repeat(32) };

  it('runs a DATABASE_URL without NODE_ENV strict: no relaxation comes from a missing variable', () => {
    for (const env of [parseEnv(strict), parseEnv({ ...strict, NODE_ENV: 'development' }), parseEnv({ ...strict, NODE_ENV: 'test' }), parseEnv({ ...strict, ...PRODUCTION_MAIL_ENV, NODE_ENV: 'production' })]) {
      expect(env.relaxed).toBe(false);
      expect(env.GRAPHIQL).toBe(false);
      expect(env.LIMITS.anonymous.requestsPerMinute).toBe(DEFAULT_LIMITS.anonymous.requestsPerMinute);
      expect(env.LIMITS.editor.requestsPerMinute).toBe(DEFAULT_LIMITS.editor.requestsPerMinute);
    }
  });

  it('relaxes for the embedded database, or a real one with the explicit opt-in only', () => {
    for (const env of [parseEnv({}), parseEnv({ ...strict, DEVELOPMENT_RELAXATIONS: 'true' })]) {
      expect(env.relaxed).toBe(true);
      expect(env.GRAPHIQL).toBe(true);
      expect(env.LIMITS.anonymous.requestsPerMinute).toBe(DEVELOPMENT_REQUESTS_PER_MINUTE);
    }
    // An explicit rate still wins over the lift.
    expect(parseEnv({ LIMITS: '{"anonymous":{"requestsPerMinute":7}}' }).LIMITS.anonymous.requestsPerMinute).toBe(7);
    expect(parseEnv({ ...strict, DEVELOPMENT_RELAXATIONS: 'false' }).relaxed).toBe(false);
  });

  it('refuses development relaxations and demo data in production', () => {
    expect(() => parseEnv({ ...strict, NODE_ENV: 'production', DEVELOPMENT_RELAXATIONS: 'true' })).toThrow(/DEVELOPMENT_RELAXATIONS/);
    expect(() => parseEnv({ ...strict, NODE_ENV: 'production', SEED_DEMO: 'true' })).toThrow(/SEED_DEMO/);
  });

  it('lets CLI tools, which sign no tokens, run on a real database without TOKEN_SECRET', () => {
    const a = parseEnv({ DATABASE_URL: 'postgres://db/app' }, { cli: true });
    const b = parseEnv({ DATABASE_URL: 'postgres://db/app' }, { cli: true });
    expect(a.relaxed).toBe(false);
    expect(a.TOKEN_SECRET).not.toBe(b.TOKEN_SECRET);
    expect(() => parseEnv({ DATABASE_URL: 'mysql://db' }, { cli: true })).toThrow(EnvError);
  });
});
