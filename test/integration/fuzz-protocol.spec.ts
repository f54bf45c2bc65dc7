import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../testkit/postgres.js';
import { startServerProcess, type ServerProcess } from '../testkit/server-process.js';
import { PRODUCTION_MAIL_ENV } from '../testkit/production-env.js';

/** What a stack trace looks like in a body: "    at fn (file:line:col)". */
const STACK = /\n\s+at \S|at .+\.(ts|js|mjs|cjs):\d+/;

/** Deterministic, so a failure replays (mulberry32). */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** One raw HTTP/1.1 exchange on its own connection (fetch refuses to send malformed Host headers). */
function raw(port: number, request: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no answer to ${JSON.stringify(String(request).slice(0, 80))}`))), 10_000);
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const [head = '', body = ''] = data.split('\r\n\r\n', 2);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), contentType: /content-type: ([^\r]+)/i.exec(head)?.[1] ?? '', body });
    });
    socket.end(request);
  });
}

/**
 * The production server process, sent over 1,000 malformed requests: none may get a 5xx or a stack
 * trace or INTERNAL_SERVER_ERROR, every refusal that reaches the app is a coded GraphQL error, and the
 * server stays healthy.
 */
describe('malformed requests over real HTTP', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: ServerProcess;
  let port: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startServerProcess({
      NODE_ENV: 'production',
      ...PRODUCTION_MAIL_ENV,
      LOG_LEVEL: 'info',
      TOKEN_SECRET: 'fuzz-test-secret-fuzz-test-secret-012345',
      DATABASE_URL: database.url,
      STATS_REFRESH_DEBOUNCE_MS: '0',
      // Fuzzing from one address: the per-IP budgets would turn most answers into 429s.
      LIMITS: JSON.stringify({ anonymous: { requestsPerMinute: 1_000_000, costPerMinute: 1_000_000_000 } }),
    });
    port = Number(new URL(server.baseUrl).port);
  }, 180_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    await database?.drop();
  });

  const post = async (body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Answer> => {
    const response = await fetch(`${server.baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body as BodyInit });
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: await response.text() };
  };
  const get = async (query: string, init: RequestInit = {}): Promise<Answer> => {
    const response = await fetch(`${server.baseUrl}/graphql?${query}`, { headers: { 'x-graphql-csrf': '1' }, ...init });
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: await response.text() };
  };
  const codeOf = (answer: Answer) => (JSON.parse(answer.body) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code;

  it('answers a malformed Host header, malformed GET variables/extensions and compressed bodies with a coded 4xx', async () => {
    for (const host of ['[bad', 'a b', 'exa mple.com:80', 'x:99999999', '%%']) {
      const answer = await raw(port, `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: ${host}\r\nx-graphql-csrf: 1\r\nConnection: close\r\n\r\n`);
      expect(answer.status, `Host: ${host}`).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.body).not.toMatch(STACK);
      if (answer.body) expect(codeOf(answer)).toBe('BAD_REQUEST');
    }
    for (const parameters of ['query=%7B__typename%7D&variables=%7Bbad', 'query=%7B__typename%7D&variables=%5B1%5D', 'query=%7B__typename%7D&extensions=%7Bbad', 'extensions=nope']) {
      const answer = await get(parameters);
      expect(answer.status, parameters).toBe(400);
      expect(codeOf(answer)).toBe('BAD_REQUEST');
    }
    // A body that is not JSON: 400 without the parser's message, which quotes the body back.
    const truncated = await post('{"query": "mutation { subscribe(input: { email: \\"someone@example.com', { accept: 'application/graphql-response+json' });
    expect(truncated.status).toBe(400);
    expect(codeOf(truncated)).toBe('BAD_REQUEST');
    expect(truncated.body).not.toContain('someone@example.com');
    expect(truncated.body).not.toContain('originalError');
    for (const encoding of ['gzip', 'br', 'deflate', 'x-unknown']) {
      const answer = await post(gzipSync(JSON.stringify({ query: '{ __typename }' })), { 'content-encoding': encoding });
      expect(answer.status, encoding).toBe(415);
      expect(codeOf(answer)).toBe('BAD_REQUEST');
    }
  });

  it('survives 1,000+ malformed requests: no 5xx, no stack trace, a code on every refusal, healthy after', async () => {
    const next = random(12);
    const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
    const junk = (length: number) => Array.from({ length }, () => String.fromCharCode(Math.floor(next() * 0x7f) + 1)).join('');
    /** Junk that is still a legal header value. */
    const token = (length: number) => junk(length).replace(/[^\x21-\x7e]/g, 'x');
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const queries = ['{ __typename }', '{', '}', '{ workshops { edges { node { id } } } }', 'query ($x: Int!) { __typename }', '{ nope }', 'mutation { enroll }', '{ workshop(id: "x") { id } }', '\u0000', 'subscription { x }', '{ a: __typename b: __typename }'.repeat(50)];
    const values = () => pick<unknown>([null, 1, -1, 1e308, 'x', '', true, [], {}, [1, [2]], { a: { b: {} } }, junk(20), '\u0000', JSON.parse(nested(200))]);
    const cases: (() => Promise<Answer>)[] = [
      // JSON bodies of the wrong shape
      () => post(JSON.stringify({ query: values(), variables: values(), operationName: values(), extensions: values() })),
      () => post(JSON.stringify({ query: pick(queries), variables: values() })),
      () => post(JSON.stringify({ documentId: pick(['', 'sha256:', 'sha256:zz', junk(70), `sha256:${'0'.repeat(64)}`]), variables: values() })),
      () => post(JSON.stringify({ extensions: { persistedQuery: { version: values(), sha256Hash: values() } } })),
      () => post(JSON.stringify([{ query: '{ __typename }' }, values()])),
      () => post(JSON.stringify({ query: '{ __typename }', variables: JSON.parse(`{"v":${nested(Math.floor(next() * 3000))}}`) })),
      // Not JSON at all, or cut short
      () => post(junk(Math.floor(next() * 200))),
      () => post(JSON.stringify({ query: pick(queries) }).slice(0, Math.floor(next() * 20))),
      () => post(Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1]), { 'content-type': 'application/json; charset=utf-8' }),
      // Wrong content types, encodings, sizes
      () => post('{ __typename }', { 'content-type': pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', token(10), 'application/graphql']) }),
      () => post(JSON.stringify({ query: '{ __typename }' }), { 'content-encoding': pick(['gzip', 'br', 'deflate', 'zstd', token(5)]) }),
      () => post(JSON.stringify({ query: `{ __typename ${'a'.repeat(200_000)} }` })),
      // Headers
      () => post(JSON.stringify({ query: '{ __typename }' }), { authorization: pick(['Bearer', 'Bearer ', 'Basic x', `Bearer ${token(30)}`, 'Bearer a b']) }),
      () => post(JSON.stringify({ query: '{ __typename }' }), { accept: pick(['text/html', 'image/png', 'application/graphql-response+json;q=0', '*/*;q=oops', token(8)]) }),
      () => post(JSON.stringify({ query: '{ __typename }' }), { 'accept-language': junk(50).replace(/[^\x20-\x7e]/g, 'x') }),
      // GET parameters
      () => get(`query=${encodeURIComponent(pick(queries))}&variables=${encodeURIComponent(pick(['{', '[]', '1', 'null', '"x"', junk(10), '{"a":1}']))}`),
      () => get(`query=${encodeURIComponent(pick(queries))}&extensions=${encodeURIComponent(pick(['{', '[]', '{"persistedQuery":1}', junk(10)]))}`),
      () => get(`query=${encodeURIComponent(junk(30))}&operationName=${encodeURIComponent(junk(5))}`),
      () => get(`documentId=${encodeURIComponent(junk(20))}`),
      () => get(pick(['', 'query=', 'query', '%', 'query=%E0%A4%A', 'variables=%7B%7D'])),
      () => get('query=%7B__typename%7D', { method: pick(['PUT', 'DELETE', 'PATCH']) }),
      // Below Yoga: malformed Host, request targets, methods
      () => raw(port, `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: ${pick(['[', 'a b', '::1', 'x'.repeat(300), '@', 'a:b:c', '%zz'])}\r\nConnection: close\r\n\r\n`),
      () => raw(port, `${pick(['GET', 'POST', 'BREW', 'G3T'])} ${pick(['/graphql', '//graphql', '/graphql?%', '/%%', '*', '/ready', '/health', '/metrics', `/${token(10)}`])} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`),
      () => raw(port, `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${pick(['5', '-1', 'abc', '99999999'])}\r\nConnection: close\r\n\r\n{"q`),
    ];
    const answers: { kind: number; answer: Answer }[] = [];
    const deadline = Date.now() + 150_000;
    for (let i = 0; i < 1100 && Date.now() < deadline; i += 10) {
      const batch = Array.from({ length: 10 }, () => Math.floor(next() * cases.length));
      answers.push(...(await Promise.all(batch.map(async (kind) => ({ kind, answer: await cases[kind]!() })))));
    }
    expect(answers.length).toBeGreaterThanOrEqual(1000);
    const problems = answers.filter(({ answer }) => {
      if (answer.status >= 500 || STACK.test(answer.body) || answer.body.includes('INTERNAL_SERVER_ERROR')) return true;
      // A refusal that reached the app carries a coded GraphQL error (Node's own parser may answer a bare 400).
      if (answer.status >= 400 && answer.body && /json/.test(answer.contentType)) {
        try {
          return typeof codeOf(answer) !== 'string';
        } catch {
          return true;
        }
      }
      return false;
    });
    expect(problems.slice(0, 5).map(({ kind, answer }) => ({ kind, status: answer.status, body: answer.body.slice(0, 300) }))).toEqual([]);
    // Still healthy and serving.
    expect((await fetch(`${server.baseUrl}/ready`)).status).toBe(200);
    expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
  }, 200_000);
});
