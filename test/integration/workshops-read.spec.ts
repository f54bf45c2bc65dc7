import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

const LIST = `query ($first: Int, $after: String, $last: Int, $before: String, $filter: WorkshopFilter, $orderBy: WorkshopOrder) {
  workshops(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount
    edges { cursor node { slug status } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

describe('reading workshops', () => {
  let app: TestApp;
  let published: { id: string; slug: string }[];
  let draft: { id: string; slug: string };

  beforeAll(async () => {
    app = await startTestApp({ persisted: { acme: [LIST] } });
    published = [];
    for (let i = 0; i < 5; i++) published.push(await createWorkshop(app, { startsInDays: 10 + i, tags: ['testing'] }));
    draft = await createWorkshop(app, { publish: false, tags: ['testing'] });
    await createWorkshop(app, {
      titleEn: 'Password hashing in practice',
      titlePl: 'Zażółć gęślą jaźń: hasła w praktyce',
      descriptionEn: 'Argon2 and friends.',
      tags: ['security'],
    });
  });
  afterAll(() => app?.close());


  it('pages forward and backward with keyset cursors', async () => {
    const filter = { tag: 'testing' };
    const first = dataOf(await app.gql(LIST, { first: 2, filter })).workshops;
    expect(first.totalCount).toBe(5);
    expect(first.edges.map((e: any) => e.node.slug)).toEqual(published.slice(0, 2).map((w) => w.slug));
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });

    const second = dataOf(await app.gql(LIST, { first: 2, after: first.pageInfo.endCursor, filter })).workshops;
    expect(second.edges.map((e: any) => e.node.slug)).toEqual(published.slice(2, 4).map((w) => w.slug));

    const back = dataOf(await app.gql(LIST, { last: 2, before: second.pageInfo.startCursor, filter })).workshops;
    expect(back.edges.map((e: any) => e.node.slug)).toEqual(published.slice(0, 2).map((w) => w.slug));

    const desc = dataOf(await app.gql(LIST, { first: 1, filter, orderBy: 'STARTS_AT_DESC' })).workshops;
    expect(desc.edges[0].node.slug).toBe(published[4]!.slug);
  });

  it('hides drafts from anonymous callers and partners, shows them to editors', async () => {
    const filter = { tag: 'testing' };
    const anonymous = dataOf(await app.gql(LIST, { first: 50, filter })).workshops;
    expect(anonymous.edges.map((e: any) => e.node.slug)).not.toContain(draft.slug);
    const partner = dataOf(await app.gql(LIST, { first: 50, filter: { ...filter, status: 'DRAFT' } }, { key: app.keys.partner, persisted: true })).workshops;
    expect(partner.totalCount).toBe(0);
    const editor = dataOf(await app.gql(LIST, { first: 50, filter }, { key: app.keys.editor })).workshops;
    expect(editor.edges.map((e: any) => e.node.slug)).toContain(draft.slug);

    const byId = `query ($id: ID!) { workshop(id: $id) { slug } node(id: $id) { id } }`;
    expect(dataOf(await app.gql(byId, { id: draft.id }))).toEqual({ workshop: null, node: null });
    expect(dataOf(await app.gql(byId, { id: draft.id }, { key: app.keys.editor })).workshop.slug).toBe(draft.slug);
    const bySlug = `query ($slug: String!) { workshopBySlug(slug: $slug) { id } }`;
    expect(dataOf(await app.gql(bySlug, { slug: draft.slug })).workshopBySlug).toBeNull();
    expect(dataOf(await app.gql(bySlug, { slug: 'no-such-workshop' })).workshopBySlug).toBeNull();
  });

  it('searches English and Polish text, accent-insensitively, ranked', async () => {
    const search = async (text: string) =>
      dataOf(await app.gql(LIST, { first: 10, filter: { search: text } })).workshops.edges.map((e: any) => e.node.slug);
    expect(await search('hashing')).toHaveLength(1);
    expect(await search('hashes')).toHaveLength(1); // English stemming
    expect(await search('gesla hasla')).toHaveLength(1); // Polish without diacritics
    expect(await search('gęślą')).toHaveLength(1);
    expect(await search('nonexistentword')).toHaveLength(0);
  });

  it('localizes from the locale argument, then Accept-Language, falling back to English', async () => {
    const workshop = published[0]!;
    const query = `query ($id: ID!) { workshop(id: $id) { title en: title(locale: EN) } }`;
    const pl = dataOf(await app.gql(query, { id: workshop.id }, { headers: { 'accept-language': 'pl-PL,pl;q=0.9,en;q=0.8' } }));
    expect(pl.workshop.title).toBe(`Warsztat ${workshop.slug}`);
    expect(pl.workshop.en).toBe(`Workshop ${workshop.slug}`);
    const noPolish = await createWorkshop(app, { titlePl: null });
    const fallback = dataOf(await app.gql(query, { id: noPolish.id }, { headers: { 'accept-language': 'pl' } }));
    expect(fallback.workshop.title).toBe(`Workshop ${noPolish.slug}`);
  });

  it('rejects malformed ids, cursors and page sizes with BAD_USER_INPUT', async () => {
    expect(codesOf(await app.gql(`{ workshop(id: "nope") { id } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(`{ node(id: "V29ya3Nob3A6MTIz") { id } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(`{ workshops(after: "garbage") { totalCount } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(`{ workshops(first: 101) { totalCount } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(`{ workshops(first: -1) { totalCount } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(`{ workshops(orderBy: RELEVANCE) { totalCount } }`))).toEqual(['BAD_USER_INPUT']);
    // An id of another type where a Workshop id is expected
    const enrollmentId = Buffer.from('Enrollment:00000000-0000-4000-8000-000000000000').toString('base64');
    expect(codesOf(await app.gql(`query ($id: ID!) { workshop(id: $id) { id } }`, { id: enrollmentId }))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(`{ workshops { nope } }`))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('answers invalid credentials with HTTP 401 UNAUTHENTICATED', async () => {
    for (const authorization of ['Bearer wk_not_a_real_key', 'Basic abc']) {
      const response = await app.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ query: '{ topics { slug } }' }),
      });
      expect(response.status).toBe(401);
      expect(codesOf(await response.json())).toEqual(['UNAUTHENTICATED']);
    }
  });

  it('lists the managed topics in the requested language', async () => {
    const { topics } = dataOf(await app.gql(`{ topics { slug name(locale: PL) } }`));
    expect(topics).toContainEqual({ slug: 'security', name: 'Bezpieczeństwo' });
  });

  it('refuses forged or foreign cursors with BAD_USER_INPUT on every connection, never a SQL error', async () => {
    const forged = (key: unknown) => Buffer.from(JSON.stringify([key, '00000000-0000-4000-8000-000000000000'])).toString('base64url');
    const { edges } = dataOf(await app.gql(LIST, { first: 1, orderBy: 'TITLE_ASC' })).workshops;
    const titleCursor = edges[0].cursor; // a text key, foreign to time-ordered connections
    const queries: [string, Record<string, unknown>][] = [
      [LIST, { orderBy: 'STARTS_AT_ASC' }],
      [LIST, { orderBy: 'CREATED_AT_DESC' }],
      [LIST, { orderBy: 'RELEVANCE', filter: { search: 'password' } }],
      [LIST, { orderBy: 'TITLE_ASC' }],
      [`query ($id: ID!, $after: String) { workshop(id: $id) { enrollments(after: $after) { totalCount } } }`, { id: published[0]!.id }],
      [`query ($after: String) { questionnaires(after: $after) { totalCount } }`, {}],
      [`query ($after: String) { subscribers(after: $after) { totalCount } }`, {}],
    ];
    for (const [query, variables] of queries) {
      const keys =
        variables.orderBy === 'TITLE_ASC' ? [5, null, 'x\u0000y'] : variables.orderBy === 'RELEVANCE' ? ['abc', null, 1e300] : ['abc', null, 5, '+275760-09-13T00:00:00.000Z'];
      const badId = Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', '-'.repeat(36)])).toString('base64url');
      for (const after of [...keys.map(forged), badId, ...(variables.orderBy === 'TITLE_ASC' ? [] : [titleCursor])]) {
        const at = { query: query.slice(0, 40), variables, after };
        expect({ ...at, codes: codesOf(await app.gql(query, { ...variables, after }, { key: app.keys.editor })) }).toEqual({ ...at, codes: ['BAD_USER_INPUT'] });
      }
    }
  });

  it('refuses NUL characters in any input string as BAD_USER_INPUT (Postgres text cannot hold them)', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['query ($s: String) { workshops(filter: { search: $s }) { totalCount } }', { s: 'a\u0000b' }],
      ['query ($s: String!) { workshopBySlug(slug: $s) { id } }', { s: 'nul\u0000' }],
      ['query ($f: WorkshopFilter) { workshops(filter: $f) { totalCount } }', { f: { tag: '\u0000' } }],
      ['{ workshopBySlug(slug: "a\\u0000b") { id } }', {}],
    ];
    for (const [query, variables] of cases) {
      const response = await app.gql(query, variables);
      expect({ query, codes: codesOf(response) }).toEqual({ query, codes: ['BAD_USER_INPUT'] });
    }
    // A backslash followed by "u0000" in a variable is ordinary text.
    expect(codesOf(await app.gql('query ($s: String!) { workshopBySlug(slug: $s) { id } }', { s: 'back\\u0000slash' }))).toEqual([]);
  });
});
