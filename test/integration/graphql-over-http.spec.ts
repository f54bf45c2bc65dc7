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
});
