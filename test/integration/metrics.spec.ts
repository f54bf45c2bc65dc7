import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';
import { boundedLabel } from '../../src/infra/metrics.js';
import { connectRedis } from '../../src/infra/redis.js';
import { codesOf, dataOf, documentId, startSecondInstance, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';
import { PRODUCTION_MAIL_ENV } from '../testkit/production-env.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const LIST = 'query ListWorkshops { workshops(first: 1) { totalCount } }';
const TRACK = 'mutation ($events: [EventInput!]!) { trackEvents(events: $events) { accepted duplicates } }';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus' text format into samples. */
export function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [, name = '', labelText = '', value = ''] = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line) ?? [];
      const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      return { name, labels, value: Number(value) };
    });
}

async function scrape(app: TestApp, headers: Record<string, string> = {}): Promise<Sample[]> {
  const response = await app.yoga.fetch('http://localhost/metrics', { headers });
  expect(response.status).toBe(200);
  return parseMetrics(await response.text());
}

/** Sum of a metric's samples whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

describe('metrics', () => {
  let app: TestApp;
  let redis: Redis;

  beforeAll(async () => {
    redis = connectRedis(REDIS_URL, createLogger('silent'))!;
    app = await startTestApp({
      redis,
      persisted: { acme: [LIST] },
      // Tight anonymous limits, so a small document goes over each.
      env: { LIMITS: JSON.stringify({ anonymous: { depth: 3, aliases: 2, cost: 20 } }) },
    });
  });
  afterAll(async () => {
    await app?.close();
    redis?.disconnect();
  });

  it('times requests by a bounded operation label and status', async () => {
    // Twenty ad-hoc operations with twenty names are one label value; a persisted one has its own.
    for (let i = 0; i < 20; i++) await app.gql(`query Named${i}_${randomBytes(3).toString('hex')} { __typename }`);
    dataOf(await app.gql(LIST, {}, { key: app.keys.partner, persisted: true }));
    const samples = await scrape(app);
    const operations = new Set(samples.filter((s) => s.name === 'graphql_request_duration_seconds_count').map((s) => s.labels.operation));
    expect([...operations].sort()).toEqual(['acme/ListWorkshops', 'ad-hoc']);
    expect(total(samples, 'graphql_request_duration_seconds_count', { operation: 'ad-hoc', status: '200' })).toBeGreaterThanOrEqual(20);
    // The latency targets are bucket bounds, and the buckets reach 10 s.
    const bounds = samples.filter((s) => s.name === 'graphql_request_duration_seconds_bucket').map((s) => s.labels.le);
    expect(bounds).toEqual(expect.arrayContaining(['0.4', '0.6', '10']));
  });

  it('counts errors by code and rejections by reason, derived from the codes', async () => {
    const before = await scrape(app);
    expect(codesOf(await app.gql('{ workshops(first: 1) { edges { node { id } } } }'))).toEqual(['QUERY_TOO_COMPLEX']); // depth 4
    expect(codesOf(await app.gql('{ a: topics { slug } b: topics { slug } c: topics { slug } }'))).toEqual(['QUERY_TOO_COMPLEX']); // 3 aliases
    expect(codesOf(await app.gql('{ workshops(first: 100) { totalCount edges { cursor } } }'))).toEqual(['QUERY_TOO_COMPLEX']); // cost
    expect(codesOf(await app.gql('{ __typename }', {}, { key: app.keys.partner }))).toEqual(['PERSISTED_QUERY_ONLY']);
    expect(codesOf(await app.gql('query Unknown { __typename }', {}, { key: app.keys.partner, persisted: true }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    // Rate limits on another instance (the same database), where editors get 3 requests a minute.
    const limited = await startSecondInstance(app, {
      redis,
      cacheNamespace: `test-${randomBytes(6).toString('hex')}`,
      env: { LIMITS: JSON.stringify({ editor: { requestsPerMinute: 3 } }) },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await limited.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${app.keys.editor}` },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      statuses.push(response.status);
    }
    expect(statuses).toContain(429);

    const after = await scrape(app);
    const grew = (name: string, labels: Record<string, string>) => total(after, name, labels) - total(before, name, labels);
    expect(grew('graphql_rejections_total', { reason: 'depth' })).toBe(1);
    expect(grew('graphql_rejections_total', { reason: 'aliases' })).toBe(1);
    expect(grew('graphql_rejections_total', { reason: 'complexity' })).toBe(1);
    expect(grew('graphql_rejections_total', { reason: 'persisted_only' })).toBe(1);
    expect(grew('graphql_rejections_total', { reason: 'persisted_not_found' })).toBe(1);
    expect(grew('graphql_errors_total', { code: 'QUERY_TOO_COMPLEX' })).toBe(3);
    const limitedSamples = await scrape(limited);
    await limited.close();
    expect(total(limitedSamples, 'graphql_rejections_total', { reason: 'rate_limit' })).toBe(1);
    expect(total(limitedSamples, 'graphql_errors_total', { code: 'RATE_LIMITED' })).toBe(1);
    expect(total(limitedSamples, 'graphql_request_duration_seconds_count', { operation: 'ad-hoc', status: '429' })).toBe(1);
  });

  it('counts response-cache hits and misses by tier', async () => {
    const before = await scrape(app);
    const query = `query Cached { workshops(first: 1, filter: { search: "${randomBytes(4).toString('hex')}" }) { totalCount } }`;
    dataOf(await app.gql(query)); // miss in both tiers, stored
    dataOf(await app.gql(query)); // local hit
    app.cache.clearLocal();
    dataOf(await app.gql(query)); // local miss, Redis hit
    const after = await scrape(app);
    const grew = (labels: Record<string, string>) => total(after, 'response_cache_lookups_total', labels) - total(before, 'response_cache_lookups_total', labels);
    expect(grew({ tier: 'local', result: 'hit' })).toBe(1);
    expect(grew({ tier: 'local', result: 'miss' })).toBe(2);
    expect(grew({ tier: 'redis', result: 'hit' })).toBe(1);
    expect(grew({ tier: 'redis', result: 'miss' })).toBe(1);
    expect(total(after, 'response_cache_redis_breaker_open')).toBe(0);
  });

  it('times Redis commands and database statements, and reports the pool', async () => {
    const samples = await scrape(app);
    expect(total(samples, 'redis_command_duration_seconds_count', { command: 'get', outcome: 'ok' })).toBeGreaterThan(0);
    expect(total(samples, 'db_query_duration_seconds_count', { kind: 'select' })).toBeGreaterThan(0);
    // The embedded database is one connection, not a pool: it reports no pool gauges.
    const pooled = process.env.TEST_DB !== 'embedded';
    expect(samples.some((s) => s.name === 'db_pool_connections' && s.labels.state === 'in_use')).toBe(pooled);
    expect(samples.some((s) => s.name === 'db_pool_connections' && s.labels.state === 'waiting')).toBe(pooled);
  });

  it('reports statistics refreshes and their age, and event ingestion', async () => {
    const { id } = await createWorkshop(app);
    const events = [1, 2].map(() => ({ id: randomUUID(), type: 'WORKSHOP_VIEW', workshopId: id, occurredAt: new Date().toISOString() }));
    dataOf(await app.gql(TRACK, { events }, { key: app.keys.admin }));
    dataOf(await app.gql(TRACK, { events }, { key: app.keys.admin }));
    dataOf(await app.gql('mutation { refreshStatistics }', {}, { key: app.keys.admin }));
    const samples = await scrape(app);
    expect(total(samples, 'analytics_events_ingested_total', { result: 'accepted' })).toBe(2);
    expect(total(samples, 'analytics_events_ingested_total', { result: 'duplicate' })).toBe(2);
    expect(total(samples, 'statistics_refresh_duration_seconds_count')).toBe(1);
    expect(total(samples, 'statistics_refresh_failures_total')).toBe(0);
    const age = total(samples, 'statistics_age_seconds');
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(300);
  });

  it('includes process metrics and event-loop lag', async () => {
    const names = new Set((await scrape(app)).map((s) => s.name));
    for (const name of ['process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds']) expect(names).toContain(name);
  });
});

// Production refuses the embedded database: this block runs in the postgres project only.
describe.skipIf(process.env.TEST_DB === 'embedded')('/metrics in production', () => {
  let app: TestApp;
  const token = randomBytes(24).toString('hex');

  beforeAll(async () => {
    app = await startTestApp({ env: { NODE_ENV: 'production', ...PRODUCTION_MAIL_ENV, TOKEN_SECRET: 'p'.repeat(32), METRICS_TOKEN: token } });
  });
  afterAll(() => app?.close());

  const status = async (authorization?: string) =>
    (await app.yoga.fetch('http://localhost/metrics', { headers: authorization ? { authorization } : {} })).status;

  it('opens for the metrics token and ADMIN keys only', async () => {
    expect(await status()).toBe(403);
    expect(await status(`Bearer ${token.slice(1)}x`)).toBe(403);
    expect(await status(`Bearer ${app.keys.editor}`)).toBe(403);
    expect(await status(`Bearer ${token}`)).toBe(200);
    expect(await status(`Bearer ${app.keys.admin}`)).toBe(200);
  });

  it('does not let the metrics token run GraphQL', async () => {
    const response = await app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ documentId: documentId('{ __typename }') }),
    });
    expect(codesOf(await response.json())).toEqual(['UNAUTHENTICATED']);
  });
});

describe('label values from outside', () => {
  it('are capped: past 50 distinct values they become "other"', () => {
    const label = boundedLabel();
    const values = Array.from({ length: 80 }, (_, i) => label(`value-${i}`));
    expect(new Set(values).size).toBe(51);
    expect(values.at(-1)).toBe('other');
    expect(label('value-3')).toBe('value-3');
  });
});
