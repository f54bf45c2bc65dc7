import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codesOf, startTestApp, type TestApp } from '../testkit/app.js';

const INTROSPECTION = '{ __schema { queryType { name } } }';

describe('production mode', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { NODE_ENV: 'production', TOKEN_SECRET: 'p'.repeat(40) }, persisted: { web: [INTROSPECTION, '{ topics { slug } }'] } });
  });
  afterAll(() => app?.close());

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

  it('refuses cross-site simple requests (CSRF) unless they carry the header', async () => {
    const form = await app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=%7B__typename%7D',
    });
    expect(form.status).toBe(403);
  });

  it('hides field suggestions and masks unexpected errors', async () => {
    const response = await app.gql('{ workshop { titel } }', {}, { key: app.keys.editor });
    expect(JSON.stringify(response.errors)).not.toMatch(/Did you mean/);
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
});
