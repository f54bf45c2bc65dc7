import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config/limits.js';
import { codesOf, dataOf, startTestApp, type GraphQLResponse, type TestApp } from '../testkit/app.js';

/** Hostile documents are refused with QUERY_TOO_COMPLEX before any resolver runs: no SQL at all. */
describe('query shape and cost limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
    // Warm the editor key's cache so the counts below see only what the query itself would cause.
    dataOf(await app.gql('{ __typename }', {}, { key: app.keys.editor }));
  });
  afterAll(() => app?.close());

  async function refused(query: string, key?: string, variables?: Record<string, unknown>) {
    let response: GraphQLResponse | undefined;
    const statements = await app.statementsDuring(async () => {
      response = await app.gql(query, variables, { key });
    });
    expect(codesOf(response!)).toContain('QUERY_TOO_COMPLEX');
    expect(response!.data ?? null).toBeNull();
    expect(statements).toEqual([]);
    return response!;
  }

  /** Each level adds 4 to the depth: workshops(1) edges(2) node(3), then enrollments/edges/node/workshop. */
  const nested = (levels: number) => {
    let selection = 'slug';
    for (let i = 0; i < levels; i++) selection = `enrollments(first: 1) { edges { node { workshop { ${selection} } } } }`;
    return `{ workshops(first: 1) { edges { node { ${selection} } } } }`;
  };

  it('refuses deep nesting', async () => {
    await refused(`{ workshops { edges { node { enrollments { edges { node { workshop { enrollments { edges { node { slug: id } } } } } } } } } } }`);
    await refused(nested(3), app.keys.editor); // depth 16 > 14
  });

  it('refuses 100 aliases', async () => {
    const aliases = Array.from({ length: 100 }, (_, i) => `a${i}: topics { slug }`).join(' ');
    const response = await refused(`{ ${aliases} }`);
    expect(response.errors![0]!.message).toMatch(/alias/i);
  });

  it('refuses many directives', async () => {
    const directives = Array.from({ length: 60 }, () => '@include(if: true)').join(' ');
    await refused(`{ __typename ${directives} }`, app.keys.editor);
  });

  it('refuses huge token counts and over-long documents', async () => {
    const fields = Array.from({ length: 2_000 }, () => '__typename').join(' ');
    await refused(`{ ${fields} }`);
    await refused(`{ __typename } # ${'x'.repeat(DEFAULT_LIMITS.anonymous.characters)}`);
  });

  it('refuses a connection of 100 × 100 × 100, even for editors, with variables costed', async () => {
    const query = `query ($n: Int!) { workshops(first: $n) { edges { node { enrollments(first: $n) { edges { node {
      workshop { enrollments(first: $n) { totalCount } } } } } } } } }`;
    const response = await refused(query, app.keys.editor, { n: 100 });
    expect(response.errors![0]!.message).toMatch(/cost \d+ exceeds the limit of 50000/);
    // The same shape with small pages is fine: the cost follows first/last.
    expect(codesOf(await app.gql(query, { n: 2 }, { key: app.keys.editor }))).toEqual([]);
  });

  it('cannot be offset by a negative size: an over-limit document stays refused', async () => {
    const heavy = `a: workshops(first: 100) { edges { node { enrollments(first: 100) { edges { node { workshop { enrollments(first: 100) { totalCount } } } } } } } }`;
    const range = `{ from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z" }`;
    const negative = `analytics { topWorkshops(metric: VIEWS, range: ${range}, limit: -100000000) { workshop { enrollments(first: 100) { totalCount } } } }`;
    await refused(`{ ${heavy} ${negative} }`, app.keys.editor);
    await refused(`{ ${heavy} b: workshops(first: -100000000) { edges { node { enrollments(first: 100) { totalCount } } } } }`, app.keys.editor);
    const outOfRange = await app.gql(`{ analytics { topWorkshops(metric: VIEWS, range: ${range}, limit: 51) { value } } }`, {}, { key: app.keys.editor });
    expect(codesOf(outOfRange)).toEqual(['BAD_USER_INPUT']);
  });

  it('counts fragment spreads like inline selections', async () => {
    const fragment = `fragment E on Workshop { enrollments(first: 100) { edges { node { workshop { enrollments(first: 100) { totalCount } } } } } }`;
    await refused(`{ workshops(first: 100) { edges { node { ...E } } } } ${fragment}`, app.keys.editor);
  });

  it('gives anonymous callers tighter limits than editors', async () => {
    const query = `{ workshops(first: 100) { edges { node { slug title description tags } } } }`;
    expect(DEFAULT_LIMITS.anonymous.cost).toBeLessThan(DEFAULT_LIMITS.editor.cost);
    const anonymousNested = nested(2); // depth 12: over anonymous 8, under editor 14
    expect(codesOf(await app.gql(anonymousNested, {}, { key: app.keys.editor }))).toEqual([]);
    await refused(anonymousNested);
    expect(codesOf(await app.gql(query))).toEqual([]);
  });

  it('refuses a subscription over the cost limit before it subscribes', async () => {
    const query = `subscription { workshopsChanged { enrollments(first: 100) { edges { node { workshop { enrollments(first: 100) { edges { node { workshop { enrollments(first: 100) { totalCount } } } } } } } } } } }`;
    let body = '';
    const statements = await app.statementsDuring(async () => {
      const response = await app.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${app.keys.editor}` },
        body: JSON.stringify({ query }),
      });
      // Read until the error arrives (bounded), then hang up.
      const reader = response.body!.getReader();
      const deadline = Date.now() + 5000;
      while (!body.includes('QUERY_TOO_COMPLEX') && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        body += new TextDecoder().decode(value);
      }
      await reader.cancel();
    });
    expect(body).toContain('QUERY_TOO_COMPLEX');
    expect(body).toMatch(/cost \d+ exceeds the limit of 50000/);
    expect(statements).toEqual([]);
  });
});
