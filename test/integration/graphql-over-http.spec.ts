import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testkit/app.js';

/** The GraphQL-over-HTTP spec audits of the graphql-http package, against the development config. */
describe('GraphQL over HTTP', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app?.close());

  for (const audit of serverAudits({ url: 'http://localhost/graphql', fetchFn: (input: string | URL | Request, init?: RequestInit) => app.yoga.fetch(input as URL, init ?? {}) })) {
    it(audit.name, async () => {
      const result = await audit.fn();
      expect(result.status === 'error' ? `${result.id}: ${result.reason}` : 'ok').toBe('ok');
    });
  }

  it('refuses protocol-level mistakes with a status and a coded error body', async () => {
    const send = (init: RequestInit, query = '') => app.yoga.fetch(`http://localhost/graphql${query}`, { ...init, headers: { accept: 'application/json', ...init.headers } });
    const cases: [string, Response, number][] = [
      ['text/plain body', await send({ method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ __typename }"}' }), 415],
      ['malformed JSON', await send({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' }), 400],
      ['mutation over GET', await send({ method: 'GET' }, '?query=mutation%7B__typename%7D'), 405],
      ['PUT', await send({ method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }), 405],
    ];
    for (const [name, response, status] of cases) {
      expect({ name, status: response.status }).toEqual({ name, status });
      const body = await response.json();
      expect({ name, code: body.errors?.[0]?.extensions?.code }).toEqual({ name, code: 'BAD_REQUEST' });
    }
  });
});
