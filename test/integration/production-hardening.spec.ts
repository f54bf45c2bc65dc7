import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config/limits.js';
import { parseEnv } from '../../src/env.js';
import { watchForPeersWithoutRedis } from '../../src/infra/bootstrap.js';
import { openDatabase } from '../../src/infra/db.js';
import { guardHttp } from '../../src/infra/http-guard.js';
import { createLogger } from '../../src/infra/logger.js';
import { codesOf, documentId, startTestApp, type TestApp } from '../testkit/app.js';
import { createTestDatabase } from '../testkit/postgres.js';
import { PRODUCTION_MAIL_ENV } from '../testkit/production-env.js';

const INTROSPECTION = '{ __schema { queryType { name } } }';

/** Every strict deployment behaves alike: NODE_ENV=production, and a bare DATABASE_URL with no NODE_ENV at all. */
const STRICT_DEPLOYMENTS = {
  'NODE_ENV=production': { NODE_ENV: 'production', ...PRODUCTION_MAIL_ENV, TOKEN_SECRET: 'p'.repeat(40) },
  'DATABASE_URL without NODE_ENV': { NODE_ENV: '', DEVELOPMENT_RELAXATIONS: '', TOKEN_SECRET: 'p'.repeat(40) },
};

describe.each(Object.entries(STRICT_DEPLOYMENTS))('strict deployment: %s', (_, deploymentEnv) => {
  let app: TestApp;
  const log: { level: number; msg: string; err?: { stack?: string } }[] = [];
  beforeAll(async () => {
    const logger = createLogger('info', { write: (line: string) => void log.push(JSON.parse(line)) });
    app = await startTestApp({ env: deploymentEnv, logger, persisted: { web: [INTROSPECTION, '{ topics { slug } }'] } });
  });
  afterAll(() => app?.close());

  it('runs anonymous callers on persisted operations only', async () => {
    expect(codesOf(await app.gql('{ topics { slug } }'))).toEqual(['PERSISTED_QUERY_ONLY']);
    expect(codesOf(await app.gql('{ topics { slug } }', {}, { persisted: true }))).toEqual([]);
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body,
    });

  it('allows introspection for editor keys only', async () => {
    expect(codesOf(await app.gql(INTROSPECTION, {}, { key: app.keys.editor }))).toEqual([]);
    const anonymous = codesOf(await app.gql(INTROSPECTION, {}, { persisted: true }));
    expect(anonymous.length).toBeGreaterThan(0);
    expect(new Set(anonymous)).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
  });

  it('serves no GraphiQL', async () => {
    const response = await app.yoga.fetch('http://localhost/graphql', { headers: { accept: 'text/html' } });
    expect(await response.text()).not.toContain('<html');
  });

  it('answers bodies over 100 KiB with 413', async () => {
    const response = await post(JSON.stringify({ query: `{ __typename } #${'x'.repeat(110 * 1024)}` }), { authorization: `Bearer ${app.keys.editor}` });
    expect(response.status).toBe(413);
  });

  it('bounds bodies over HTTP with and without a Content-Length (chunked), as 413 with a code', async () => {
    const server = createServer(guardHttp(app.yoga));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const send = (body: string, chunked: boolean) =>
        new Promise<{ status: number; body: any }>((resolve, reject) => {
          const headers = { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${app.keys.editor}` };
          const req = request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: chunked ? headers : { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
            let text = '';
            res.on('data', (chunk) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
          });
          req.on('error', reject);
          // Chunked: several writes without a Content-Length (Node then sends Transfer-Encoding: chunked).
          for (let at = 0; at < body.length; at += 16 * 1024) req.write(body.slice(at, at + 16 * 1024));
          req.end();
        });
      const big = JSON.stringify({ query: `{ __typename } #${'x'.repeat(110 * 1024)}` });
      const small = JSON.stringify({ query: `{ __typename } #${'x'.repeat(40 * 1024)}` });
      for (const chunked of [false, true]) {
        const refused = await send(big, chunked);
        expect(refused.status).toBe(413);
        expect(refused.body.errors.map((e: any) => e.extensions.code)).toEqual(['REQUEST_ENTITY_TOO_LARGE']);
        const served = await send(small, chunked);
        expect([served.status, served.body.data]).toEqual([200, { __typename: 'Query' }]);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('answers a body that is not JSON with 400 BAD_REQUEST for every Accept, without the parser\'s message', async () => {
    for (const accept of ['application/json', '*/*', 'application/graphql-response+json', 'application/json, application/graphql-response+json']) {
      const response = await post('{"query": "{ __typename }"', { accept });
      const body = await response.json();
      expect({ accept, status: response.status, codes: body.errors.map((e: any) => e.extensions.code) }).toEqual({ accept, status: 400, codes: ['BAD_REQUEST'] });
      expect(JSON.stringify(body)).not.toMatch(/originalError|position|Unexpected|Expected/);
    }
  });

  it('refuses cross-site simple requests (CSRF) unless they carry the header', async () => {
    const form = await app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=%7B__typename%7D',
    });
    expect(form.status).toBe(403);
  });

  it('hides field suggestions', async () => {
    const response = await app.gql('{ workshop { titel } }', {}, { key: app.keys.editor });
    expect(JSON.stringify(response.errors)).not.toMatch(/Did you mean/);
  });

  it('masks unexpected errors: a fixed message and code, no stack or SQL for the client, the error level in the log', async () => {
    // An unexpected failure: the table behind `topics` is gone (this spec's own database).
    await app.database.prisma.$executeRawUnsafe('ALTER TABLE topics RENAME TO topics_gone');
    try {
      const start = log.length;
      // A fresh alias, so no cached answer stands in for the failure.
      const response = await app.gql(`{ t${Date.now()}: topics { slug } }`, {}, { key: app.keys.editor });
      expect(response.errors).toEqual([{ message: 'Unexpected error.', path: expect.any(Array), locations: expect.any(Array), extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
      expect(JSON.stringify(response)).not.toMatch(/topics_gone|relation|stack|\bat /);
      const errors = log.slice(start).filter((line) => line.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.err?.stack).toMatch(/topics/);
    } finally {
      await app.database.prisma.$executeRawUnsafe('ALTER TABLE topics_gone RENAME TO topics');
    }
  });

  it('does not accept multipart requests', async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: '{ __typename }' }));
    form.set('map', '{}');
    const response = await app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      body: form,
      headers: { accept: 'application/json', authorization: `Bearer ${app.keys.editor}`, 'x-graphql-csrf': '1' },
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });

  it('exports Prometheus metrics to admins only, labelled by persisted operation', async () => {
    await app.gql('{ topics { slug } }', {}, { persisted: true });
    expect((await app.yoga.fetch('http://localhost/metrics')).status).toBe(403);
    expect((await app.yoga.fetch('http://localhost/metrics', { headers: { authorization: `Bearer ${app.keys.editor}` } })).status).toBe(403);
    const metrics = await app.yoga.fetch('http://localhost/metrics', { headers: { authorization: `Bearer ${app.keys.admin}` } });
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/graphql_request_duration_seconds_count\{operation="web\/anonymous",status="200"\} \d+/);
    expect(text).toMatch(/response_cache_lookups_total\{tier="local",result="(hit|miss)"\} \d+/);
  });

  it('compresses large responses for clients that accept it, honouring q-values', async () => {
    const query = JSON.stringify({ query: INTROSPECTION.replace('queryType { name }', 'types { name description }') });
    const auth = { authorization: `Bearer ${app.keys.editor}` };
    const br = await post(query, { ...auth, 'accept-encoding': 'gzip;q=0.5, br' });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(JSON.parse(brotliDecompressSync(Buffer.from(await br.arrayBuffer())).toString()).data.__schema.types.length).toBeGreaterThan(10);
    const gzip = await post(query, { ...auth, 'accept-encoding': 'gzip, br;q=0' });
    expect(gzip.headers.get('content-encoding')).toBe('gzip');
    expect(JSON.parse(gunzipSync(Buffer.from(await gzip.arrayBuffer())).toString()).data).toBeDefined();
    const identity = await post(query, { ...auth, 'accept-encoding': 'identity' });
    expect(identity.headers.get('content-encoding')).toBeNull();
    const small = await post(JSON.stringify({ query: '{ __typename }' }), { ...auth, 'accept-encoding': 'gzip' });
    expect(small.headers.get('content-encoding')).toBeNull();
  });

  it('throttles at the default request rates (not lifted as in development)', async () => {
    // Earlier tests spent some of the anonymous budget: a 429 must come within one minute's allowance.
    let status = 0;
    for (let i = 0; i <= DEFAULT_LIMITS.anonymous.requestsPerMinute && status !== 429; i++) {
      status = (await post(JSON.stringify({ documentId: documentId('{ topics { slug } }') }))).status;
    }
    expect(status).toBe(429);
  });
});

describe('a strict deployment without Redis', () => {
  let pg: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    pg = await createTestDatabase();
  });
  afterAll(() => pg?.drop());

  const warningsOf = async (env: Record<string, string>, withPeer: boolean) => {
    const lines: { level: number; msg: string }[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
    const open = () => openDatabase({ url: pg.url, dataDir: '', poolMax: 2, statementTimeoutMs: 5000 });
    const [peer, self] = await Promise.all([open(), open()]);
    // A serving instance holds connections; an idle pool closes them after 10 s.
    const held = withPeer ? await peer.session() : null;
    try {
      const stop = await watchForPeersWithoutRedis(parseEnv({ DATABASE_URL: pg.url, TOKEN_SECRET: 'p'.repeat(40), ...PRODUCTION_MAIL_ENV, ...env }), self, logger);
      stop();
      return lines.filter((l) => l.level === 40).map((l) => l.msg);
    } finally {
      held?.release();
      await Promise.all([peer.close(), self.close()]);
    }
  };

  it('warns loudly at start when other instances of the app use the same database', async () => {
    const warnings = await warningsOf({ NODE_ENV: 'production' }, true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/1 other instance.*REDIS_URL is not set/);
  });

  it('stays quiet alone, with Redis, or relaxed', async () => {
    expect(await warningsOf({ NODE_ENV: 'production' }, false)).toEqual([]);
    expect(await warningsOf({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:6379' }, true)).toEqual([]);
    expect(await warningsOf({ DEVELOPMENT_RELAXATIONS: 'true' }, true)).toEqual([]);
  });
});
