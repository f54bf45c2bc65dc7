import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoaders } from '../../src/context.js';
import { codesOf, dataOf, startTestApp, uniqueSlug, type TestApp } from '../testkit/app.js';

const PAGE_QUERY = `query ($first: Int!, $enrollments: Int!, $tag: String!) {
  workshops(first: $first, filter: { tag: $tag }) {
    totalCount
    edges { node { id title enrollmentCount waitlistCount seatsLeft
      enrollments(first: $enrollments) { totalCount edges { node { id status subscriber { email } workshop { slug } } } } } }
  }
}`;

/** The benchmark's page (bench/peer): no seat counts, so counts come with the enrollment pages. */
const BENCH_PAGE = `query ($first: Int!, $enrollments: Int!, $tag: String!, $after: String) {
  workshops(first: $first, after: $after, filter: { tag: $tag, status: PUBLISHED }) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id slug title status startsAt capacity
      enrollments(first: $enrollments) { totalCount edges { node { id status createdAt subscriber { email } } } } } }
  }
}`;

const WORKSHOPS = 100;
const PEOPLE = 50;

describe('batching', () => {
  let app: TestApp;
  const tag = 'performance';

  beforeAll(async () => {
    // 100 × 50 rows cost more than an editor's default query cost limit.
    app = await startTestApp({ env: { LIMITS: JSON.stringify({ editor: { cost: 200_000 } }) } });
    const db = app.database.prisma;
    // 100 workshops with 50 enrollments each (the largest pages), written directly: this spec is about reads.
    const start = Date.now() + 7 * 24 * 3600 * 1000;
    const workshops = Array.from({ length: WORKSHOPS }, (_, i) => ({
      slug: uniqueSlug('batch'),
      titleEn: `Batch ${i}`,
      descriptionEn: 'Fixture',
      status: 'PUBLISHED' as const,
      startsAt: new Date(start + i * 60_000),
      endsAt: new Date(start + i * 60_000 + 3600_000),
      timezone: 'UTC',
      capacity: 40,
      location: 'Online',
      tags: [tag],
    }));
    const created = await db.workshop.createManyAndReturn({ data: workshops, select: { id: true } });
    const people = await db.subscriber.createManyAndReturn({
      data: Array.from({ length: PEOPLE }, (_, i) => ({ email: `batch-${i}-${uniqueSlug()}@example.com` })),
      select: { id: true },
    });
    await db.enrollment.createMany({
      data: created.flatMap((w) =>
        people.map((p, i) => ({ workshopId: w.id, subscriberId: p.id, status: i < 40 ? ('ENROLLED' as const) : ('WAITLISTED' as const), createdAt: new Date(start - (PEOPLE - i) * 1000) })),
      ),
    });
    // A hidden workshop with the same tag: the page must not count or show it.
    await db.workshop.create({ data: { ...workshops[0]!, slug: uniqueSlug('batch-draft'), status: 'DRAFT', startsAt: new Date(start - 60_000) } });
  });
  afterAll(() => app?.close());

  /** As an editor unless `anonymous`. */
  const run = async (query: string, variables: Record<string, unknown>, anonymous = false) => {
    app.cache.clearLocal();
    let response: any;
    const statements = await app.statementsDuring(async () => {
      response = await app.gql(query, { tag, ...variables }, anonymous ? {} : { key: app.keys.editor });
    });
    return { statements, response, result: anonymous ? response.data : dataOf(response) };
  };

  it('a page of 100 workshops with 50 enrollments each costs the same statements as 20 with 5', async () => {
    await run(PAGE_QUERY, { first: 1, enrollments: 1 }); // warm the API key cache, so the runs below measure data statements only
    const small = await run(PAGE_QUERY, { first: 20, enrollments: 5 });
    const large = await run(PAGE_QUERY, { first: 100, enrollments: 50 });

    expect(small.result.workshops.edges).toHaveLength(20);
    expect(large.result.workshops.edges).toHaveLength(100);
    expect(large.result.workshops.totalCount).toBe(WORKSHOPS + 1); // editors see the draft too
    const node = large.result.workshops.edges[99].node;
    expect(node).toMatchObject({ enrollmentCount: 40, waitlistCount: 10, seatsLeft: 0 });
    expect(node.enrollments.totalCount).toBe(PEOPLE);
    expect(node.enrollments.edges).toHaveLength(50);
    expect(node.enrollments.edges[0].node.subscriber.email).toMatch(/^batch-0-.*@example\.com$/);
    expect(node.enrollments.edges[0].node.workshop.slug).toBeTruthy();

    // the page with its count; the enrollment pages with their people and counts; the seat counts (asked for alongside)
    expect(small.statements).toHaveLength(3);
    expect(large.statements).toHaveLength(3);
  });

  it('the benchmark page costs 2 statements at either size, and its count ignores the cursor', async () => {
    const small = await run(BENCH_PAGE, { first: 20, enrollments: 5 });
    const large = await run(BENCH_PAGE, { first: 100, enrollments: 50 });
    expect(small.statements).toHaveLength(2);
    expect(large.statements).toHaveLength(2);
    expect(small.result.workshops).toMatchObject({ totalCount: WORKSHOPS, pageInfo: { hasNextPage: true } });
    expect(small.result.workshops.edges[0].node.enrollments.totalCount).toBe(PEOPLE);

    const next = await run(BENCH_PAGE, { first: 20, enrollments: 5, after: small.result.workshops.pageInfo.endCursor });
    expect(next.result.workshops.totalCount).toBe(WORKSHOPS);
    expect(next.result.workshops.edges[0].node.title).toBe('Batch 20');
    expect(next.statements).toHaveLength(2);

    // Past the end the page is empty and the count still right (then counted on its own).
    const last = large.result.workshops.pageInfo.endCursor;
    const beyond = await run(BENCH_PAGE, { first: 20, enrollments: 5, after: last });
    expect(beyond.result.workshops).toMatchObject({ totalCount: WORKSHOPS, edges: [] });
  });

  it('an anonymous caller sees no enrollments or email on the same page, nor hidden workshops, and pays no enrollment statement', async () => {
    const { statements, result, response } = await run(BENCH_PAGE, { first: 20, enrollments: 5 }, true);
    expect(codesOf(response)).toEqual(Array(20).fill('FORBIDDEN'));
    expect(result.workshops.totalCount).toBe(WORKSHOPS);
    expect(result.workshops.edges).toHaveLength(20);
    expect(result.workshops.edges.every((edge: any) => edge.node.enrollments === null)).toBe(true);
    expect(statements).toHaveLength(1);
  });

  it('bounds nested enrollment pages in SQL rather than loading every enrollment', async () => {
    const { statements } = await run(PAGE_QUERY, { first: 5, enrollments: 2 });
    const pageQuery = statements.find((sql) => sql.includes('LEFT JOIN LATERAL'));
    expect(pageQuery).toBeDefined();
    expect(pageQuery).toMatch(/LIMIT \$\d+/);
  });

  it('raw rows have exactly the shape and values of the Prisma models', async () => {
    const db = app.database.prisma;
    const principal = { kind: 'apiKey', keyId: 'x', name: 'x', role: 'EDITOR', client: null } as never;
    const { rows } = await app.services.workshops.page(principal, { filter: { tag, status: 'PUBLISHED' }, orderBy: 'STARTS_AT_ASC', locale: 'EN', limit: 1, inverted: false, withTotal: true });
    const workshop = await db.workshop.findUniqueOrThrow({ where: { id: rows[0]!.workshop.id } });
    expect(rows[0]!.workshop).toStrictEqual(workshop);

    const loaded = await createLoaders(db).workshops.enrollmentPage({ limit: 1, inverted: false }).load(workshop.id);
    // Each enrollment comes with its person, as Prisma's include gives them.
    const enrollment = await db.enrollment.findUniqueOrThrow({ where: { id: loaded.enrollments[0]!.id }, include: { subscriber: true } });
    expect(loaded.enrollments[0]).toStrictEqual(enrollment);
    expect(loaded.counts).toStrictEqual(await createLoaders(db).workshops.enrollmentCounts.load(workshop.id));
  });
});
