import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGlobalId } from '../../src/shared/ids.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

const SUBSCRIBERS = `query ($first: Int, $last: Int, $after: String, $before: String, $orderBy: SubscriberOrder, $search: String) {
  subscribers(first: $first, last: $last, after: $after, before: $before, orderBy: $orderBy, filter: { search: $search }) {
    totalCount edges { cursor node { email } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
const QUESTIONNAIRES = `query ($first: Int, $last: Int, $after: String, $before: String, $orderBy: QuestionnaireOrder, $workshopId: ID) {
  questionnaires(first: $first, last: $last, after: $after, before: $before, orderBy: $orderBy, filter: { workshopId: $workshopId }) {
    edges { cursor node { title } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;

interface Page {
  edges: { cursor: string; node: Record<string, string> }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

describe('ordering subscribers and questionnaires', () => {
  let app: TestApp;
  const tag = randomBytes(4).toString('hex');
  // Three people share one creation time, so only the id tie-break keeps pages from skipping or repeating them.
  const sameTime = new Date('2026-03-01T10:00:00.000Z');
  const people = [
    { email: `d-${tag}@example.com`, createdAt: sameTime },
    { email: `a-${tag}@example.com`, createdAt: new Date('2026-01-01T10:00:00.000Z') },
    { email: `c-${tag}@example.com`, createdAt: sameTime },
    { email: `e-${tag}@example.com`, createdAt: new Date('2026-05-01T10:00:00.000Z') },
    { email: `b-${tag}@example.com`, createdAt: sameTime },
  ].map((p) => ({ ...p, id: randomUUID(), name: `Ordering ${tag}` }));
  let workshopId: string;
  const opensTie = new Date('2026-06-01T08:00:00.000Z');
  const forms = [
    { title: 'Q1', opensAt: new Date('2026-07-01T08:00:00.000Z'), createdAt: new Date('2026-02-01T00:00:00.000Z') },
    { title: 'Q2', opensAt: null, createdAt: new Date('2026-02-02T00:00:00.000Z') },
    { title: 'Q3', opensAt: opensTie, createdAt: new Date('2026-02-03T00:00:00.000Z') },
    { title: 'Q4', opensAt: opensTie, createdAt: new Date('2026-02-03T00:00:00.000Z') },
    { title: 'Q5', opensAt: null, createdAt: new Date('2026-02-05T00:00:00.000Z') },
    { title: 'Q6', opensAt: new Date('2026-05-01T08:00:00.000Z'), createdAt: new Date('2026-02-06T00:00:00.000Z') },
  ].map((q) => ({ ...q, id: randomUUID() }));

  beforeAll(async () => {
    app = await startTestApp();
    await app.database.prisma.subscriber.createMany({ data: people });
    workshopId = (await createWorkshop(app)).id;
    await app.database.prisma.questionnaire.createMany({
      data: forms.map((q) => ({ id: q.id, workshopId: decodeGlobalId(workshopId).id, kind: 'STANDALONE', titleEn: q.title, opensAt: q.opensAt, createdAt: q.createdAt })),
    });
  });
  afterAll(() => app?.close());

  /** Walks the whole connection two rows at a time, forwards (first/after) or backwards (last/before). */
  async function walk(query: string, field: 'subscribers' | 'questionnaires', variables: Record<string, unknown>, backwards = false): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const paging: Record<string, unknown> = backwards ? { last: 2, before: cursor } : { first: 2, after: cursor };
      const result: Page = dataOf(await app.gql<Record<string, Page>>(query, { ...variables, ...paging }, { key: app.keys.editor }))[field]!;
      const values = result.edges.map((e) => (e.node.email ?? e.node.title)!);
      if (backwards) seen.unshift(...values);
      else seen.push(...values);
      const more = backwards ? result.pageInfo.hasPreviousPage : result.pageInfo.hasNextPage;
      if (!more) return seen;
      cursor = backwards ? result.pageInfo.startCursor : result.pageInfo.endCursor;
    }
    throw new Error('the connection never ended');
  }

  const byCreationThenId = [...people].sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (x.id < y.id ? 1 : -1)).map((p) => p.email);

  it('orders subscribers by email, A to Z, forwards and backwards alike', async () => {
    const alphabetical = people.map((p) => p.email).sort();
    expect(await walk(SUBSCRIBERS, 'subscribers', { orderBy: 'EMAIL_ASC', search: tag })).toEqual(alphabetical);
    expect(await walk(SUBSCRIBERS, 'subscribers', { orderBy: 'EMAIL_ASC', search: tag }, true)).toEqual(alphabetical);
  });

  it('orders subscribers newest first by default, ties broken by id so no page repeats or skips one', async () => {
    expect(await walk(SUBSCRIBERS, 'subscribers', { search: tag })).toEqual(byCreationThenId);
    expect(await walk(SUBSCRIBERS, 'subscribers', { orderBy: 'CREATED_AT_DESC', search: tag }, true)).toEqual(byCreationThenId);
  });

  it('keeps a page stable when newer rows arrive between pages', async () => {
    const first = dataOf(await app.gql<Record<string, Page>>(SUBSCRIBERS, { first: 2, search: tag }, { key: app.keys.editor })).subscribers!;
    await app.database.prisma.subscriber.create({ data: { email: `z-late-${tag}@example.com`, name: `Ordering ${tag}` } });
    const second = dataOf(await app.gql<Record<string, Page>>(SUBSCRIBERS, { first: 2, after: first.pageInfo.endCursor, search: tag }, { key: app.keys.editor })).subscribers!;
    expect([...first.edges, ...second.edges].map((e) => e.node.email)).toEqual(byCreationThenId.slice(0, 4));
    await app.database.prisma.subscriber.delete({ where: { email: `z-late-${tag}@example.com` } });
  });

  it('refuses a cursor of one order in another, and a forged cursor, as BAD_USER_INPUT', async () => {
    const byEmail = dataOf(await app.gql<Record<string, Page>>(SUBSCRIBERS, { first: 1, orderBy: 'EMAIL_ASC', search: tag }, { key: app.keys.editor })).subscribers!;
    const newest = dataOf(await app.gql<Record<string, Page>>(SUBSCRIBERS, { first: 1, search: tag }, { key: app.keys.editor })).subscribers!;
    expect(codesOf(await app.gql(SUBSCRIBERS, { first: 2, after: byEmail.pageInfo.endCursor, search: tag }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(SUBSCRIBERS, { first: 2, after: newest.pageInfo.endCursor, orderBy: 'EMAIL_ASC', search: tag }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
    const forged = Buffer.from(JSON.stringify([null, randomUUID(), 'email'])).toString('base64url');
    expect(codesOf(await app.gql(SUBSCRIBERS, { first: 2, after: forged, orderBy: 'EMAIL_ASC' }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
  });

  it('orders questionnaires by opening time, soonest first, those without one last; both directions', async () => {
    const tie = forms.filter((q) => q.opensAt === opensTie).sort((x, y) => (x.id < y.id ? -1 : 1)).map((q) => q.title);
    const unset = forms.filter((q) => q.opensAt === null).sort((x, y) => (x.id < y.id ? -1 : 1)).map((q) => q.title);
    const expected = ['Q6', ...tie, 'Q1', ...unset];
    expect(await walk(QUESTIONNAIRES, 'questionnaires', { orderBy: 'OPENS_AT_ASC', workshopId })).toEqual(expected);
    expect(await walk(QUESTIONNAIRES, 'questionnaires', { orderBy: 'OPENS_AT_ASC', workshopId }, true)).toEqual(expected);
  });

  it('orders questionnaires newest first by default', async () => {
    const expected = [...forms].sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (x.id < y.id ? 1 : -1)).map((q) => q.title);
    expect(await walk(QUESTIONNAIRES, 'questionnaires', { workshopId })).toEqual(expected);
    expect(await walk(QUESTIONNAIRES, 'questionnaires', { workshopId }, true)).toEqual(expected);
  });

  it('orders subscribers for editors only', async () => {
    const anonymous = await app.gql(SUBSCRIBERS, { first: 2, orderBy: 'EMAIL_ASC' });
    expect(codesOf(anonymous)).toEqual(['FORBIDDEN']);
    expect(anonymous.data?.subscribers).toBeNull();
  });
});
