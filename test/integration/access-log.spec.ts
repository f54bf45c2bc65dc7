import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';
import { dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

const WORKSHOPS = 'query ListWorkshops($first: Int) { workshops(first: $first) { totalCount } }';
const ENROLL = 'mutation Enroll($input: EnrollInput!) { enroll(input: $input) { enrollment { status } } }';

type Line = Record<string, any>;

/** A pino destination that keeps every line, parsed. */
function capture() {
  const lines: Line[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(JSON.parse(line)) } };
}

async function post(app: TestApp, body: unknown, headers: Record<string, string> = {}) {
  return app.yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('access log', () => {
  let app: TestApp;
  const log = capture();
  const accessLines = () => log.lines.filter((line) => line.msg === 'graphql request');

  beforeAll(async () => {
    app = await startTestApp({
      logger: createLogger('info', log.stream),
      persisted: { acme: [WORKSHOPS] },
      env: { SLOW_OPERATION_MS: '60000' },
    });
  });
  afterAll(() => app?.close());

  it('logs one info line per request with its id, operation, status, duration, cache outcome and principal', async () => {
    const first = await post(app, { query: WORKSHOPS, variables: { first: 3 } }, { 'x-request-id': 'client-req-42' });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-request-id')).toBe('client-req-42');
    await post(app, { query: WORKSHOPS, variables: { first: 3 } }, { authorization: `Bearer ${app.keys.partner}` }).then((r) => r.text());
    await post(app, { query: WORKSHOPS, variables: { first: 3 } }).then((r) => r.text());

    const [miss, partner, hit] = accessLines().slice(-3);
    expect(miss).toMatchObject({
      level: 30,
      reqId: 'client-req-42',
      method: 'POST',
      operation: 'ad-hoc',
      operationName: 'ListWorkshops',
      operationType: 'query',
      status: 200,
      cache: 'miss',
      principal: 'anonymous',
    });
    expect(typeof miss!.ms).toBe('number');
    // A partner may not send documents: the rejection is logged with its code, as the partner.
    expect(partner).toMatchObject({ principal: 'PARTNER', errors: ['PERSISTED_QUERY_ONLY'] });
    expect(hit).toMatchObject({ operationName: 'ListWorkshops', operationType: 'query', cache: 'hit' });
  });

  it('labels persisted operations <client>/<name>', async () => {
    const response = await app.gql(WORKSHOPS, { first: 1 }, { key: app.keys.partner, persisted: true });
    dataOf(response);
    expect(accessLines().at(-1)).toMatchObject({ operation: 'acme/ListWorkshops', principal: 'PARTNER' });
  });

  it('replaces a request id that does not look like one, and returns the one it made', async () => {
    const response = await post(app, { query: '{ __typename }' }, { 'x-request-id': 'two words "quoted"' });
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(accessLines().at(-1)).toMatchObject({ reqId: id });
    // Without one, one is made too.
    expect((await post(app, { query: '{ __typename }' })).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never logs variable values or personal data', async () => {
    const workshop = await createWorkshop(app);
    const secretName = 'Grace Secret-Name';
    const response = await post(app, {
      query: ENROLL,
      variables: { input: { workshopId: workshop.id, email: 'grace.hopper@example.com', name: secretName, locale: 'EN' } },
    });
    expect(response.status).toBe(200);
    expect(accessLines().at(-1)).toMatchObject({ operationName: 'Enroll', operationType: 'mutation', cache: null, status: 200 });
    const everything = JSON.stringify(log.lines);
    for (const value of ['grace.hopper@example.com', secretName, workshop.id]) expect(everything).not.toContain(value);
  });

  it('does not warn about requests under SLOW_OPERATION_MS', () => {
    expect(log.lines.filter((line) => line.level === 40)).toEqual([]);
  });
});

describe('slow operations', () => {
  let app: TestApp;
  const log = capture();

  beforeAll(async () => {
    app = await startTestApp({ logger: createLogger('info', log.stream), env: { SLOW_OPERATION_MS: '0' } });
  });
  afterAll(() => app?.close());

  it('are logged as a warning naming the operation', async () => {
    await post(app, { query: WORKSHOPS, variables: { first: 2 } }, { 'x-request-id': 'slow-1' });
    const warning = log.lines.find((line) => line.level === 40 && line.reqId === 'slow-1');
    expect(warning).toMatchObject({ operationName: 'ListWorkshops', operation: 'ad-hoc', slowMs: 0 });
    expect(warning!.msg).toContain('ListWorkshops');
  });
});
