import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../testkit/postgres.js';
import { startServerProcess, type ServerProcess } from '../testkit/server-process.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number; message?: string };
}

/** A real OTLP/HTTP receiver (JSON encoding) collecting every span the server exports. */
function startCollector(): Promise<{ server: Server; url: string; spans: OtlpSpan[]; resources: unknown[] }> {
  const spans: OtlpSpan[] = [];
  const resources: unknown[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const payload = JSON.parse(body) as { resourceSpans: { resource: unknown; scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const resourceSpan of payload.resourceSpans) {
          resources.push(resourceSpan.resource);
          for (const scope of resourceSpan.scopeSpans) spans.push(...scope.spans);
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, resources })));
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value && Object.values(value)[0];
};

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('OpenTelemetry tracing of the server process', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let server: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    collector = await startCollector();
    server = await startServerProcess({
      DATABASE_URL: database.url,
      TOKEN_SECRET: 'tracing-test-token-secret-0123456789ab',
      DEVELOPMENT_RELAXATIONS: 'true',
      RESPONSE_CACHE: 'false',
      STATS_REFRESH_DEBOUNCE_MS: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'workshops-api-under-test',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    collector?.server.close();
    await database?.drop();
  });

  it('continues the caller’s trace with request, operation, parse/validate/execute and database spans named by the conventions', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ query: 'query TracedTopics($secret: String!) { topics { slug } workshops(filter: { search: $secret }) { totalCount } }', variables: { secret: 'do-not-record-me' } }),
    });
    expect(response.status).toBe(200);

    const spans = await until('the execute span and a database span', () => {
      const ofTrace = collector.spans.filter((span) => span.traceId === traceId);
      return ofTrace.some((span) => span.name === 'graphql.execute') && ofTrace.some((span) => span.name.startsWith('prisma:')) ? ofTrace : undefined;
    });
    const byName = (name: string) => spans.find((span) => span.name === name);
    const requestSpan = byName('POST /graphql')!;
    expect(requestSpan).toBeDefined();
    expect(requestSpan.parentSpanId).toBe('00f067aa0ba902b7');
    expect(requestSpan.kind).toBe(2); // SERVER
    expect(attribute(requestSpan, 'http.request.method')).toBe('POST');
    expect(Number(attribute(requestSpan, 'http.response.status_code'))).toBe(200);

    const operation = byName('query TracedTopics')!;
    expect(operation.parentSpanId).toBe(requestSpan.spanId);
    expect(attribute(operation, 'graphql.operation.name')).toBe('TracedTopics');
    expect(attribute(operation, 'graphql.operation.type')).toBe('query');
    for (const phase of ['graphql.parse', 'graphql.validate', 'graphql.execute']) expect(byName(phase)?.parentSpanId).toBe(operation.spanId);

    // Prisma's spans hang under execute (directly or through its own operation span).
    const execute = byName('graphql.execute')!;
    const ancestors = (span: OtlpSpan): string[] => {
      const parent = spans.find((candidate) => candidate.spanId === span.parentSpanId);
      return parent ? [parent.spanId, ...ancestors(parent)] : [];
    };
    const prismaSpans = spans.filter((span) => span.name.startsWith('prisma:'));
    expect(prismaSpans.length).toBeGreaterThan(0);
    for (const span of prismaSpans) expect(ancestors(span)).toContain(execute.spanId);

    expect(JSON.stringify(collector.resources)).toContain('workshops-api-under-test');
    expect(JSON.stringify(spans)).not.toContain('do-not-record-me');
  });

  it('marks the operation span as failed with the error codes of a failed or invalid operation', async () => {
    const invalid = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query Unused($x: String) { topics { slug } }' }),
    });
    expect(invalid.status).toBe(200);
    const invalidOperation = await until('the invalid operation span', () => collector.spans.find((span) => span.name === 'query Unused'));
    expect(invalidOperation.status).toMatchObject({ code: 2, message: 'GRAPHQL_VALIDATION_FAILED' });

    const response = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query MissingWorkshop { node(id: "not-an-id") { id } }' }),
    });
    expect(response.status).toBe(200);
    const operation = await until('the failed operation span', () => collector.spans.find((span) => span.name === 'query MissingWorkshop'));
    expect(operation.status?.code).toBe(2); // ERROR
    expect(operation.status?.message).toMatch(/^[A-Z_]+/);
  });
});
