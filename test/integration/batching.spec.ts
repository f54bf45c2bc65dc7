import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, startTestApp, uniqueSlug, type TestApp } from '../testkit/app.js';

const PAGE_QUERY = `query ($first: Int!, $tag: String!) {
  workshops(first: $first, filter: { tag: $tag }) {
    totalCount
    edges { node { id title enrollmentCount waitlistCount seatsLeft
      enrollments(first: 2) { totalCount edges { node { id status subscriber { email } workshop { slug } } } } } }
  }
}`;

describe('batching', () => {
  let app: TestApp;
  const tag = 'performance';

  beforeAll(async () => {
    app = await startTestApp();
    const db = app.database.prisma;
    // 50 workshops with 6 enrollments each, written directly: this spec is about reads.
    const start = Date.now() + 7 * 24 * 3600 * 1000;
    const workshops = Array.from({ length: 50 }, (_, i) => ({
      slug: uniqueSlug('batch'),
      titleEn: `Batch ${i}`,
      descriptionEn: 'Fixture',
      status: 'PUBLISHED' as const,
      startsAt: new Date(start + i * 60_000),
      endsAt: new Date(start + i * 60_000 + 3600_000),
      timezone: 'UTC',
      capacity: 4,
      location: 'Online',
      tags: [tag],
    }));
    const created = await db.workshop.createManyAndReturn({ data: workshops, select: { id: true } });
    const people = await db.subscriber.createManyAndReturn({
      data: Array.from({ length: 6 }, (_, i) => ({ email: `batch-${i}-${uniqueSlug()}@example.com` })),
      select: { id: true },
    });
    await db.enrollment.createMany({
      data: created.flatMap((w) => people.map((p, i) => ({ workshopId: w.id, subscriberId: p.id, status: i < 4 ? ('ENROLLED' as const) : ('WAITLISTED' as const) }))),
    });
  });
  afterAll(() => app?.close());

  it('a page of 50 workshops with counts and first enrollments costs the same statements as a page of 5', async () => {
    const run = async (first: number) => {
      let result: any;
      const statements = await app.statementsDuring(async () => {
        result = dataOf(await app.gql(PAGE_QUERY, { first, tag }, { key: app.keys.editor }));
      });
      return { statements, result };
    };
    await run(1); // warm the API key cache, so both runs below measure data statements only
    const small = await run(5);
    const large = await run(50);

    expect(small.result.workshops.edges).toHaveLength(5);
    expect(large.result.workshops.edges).toHaveLength(50);
    const node = large.result.workshops.edges[49].node;
    expect(node).toMatchObject({ enrollmentCount: 4, waitlistCount: 2, seatsLeft: 0 });
    expect(node.enrollments.totalCount).toBe(6);
    expect(node.enrollments.edges).toHaveLength(2);
    expect(node.enrollments.edges[0].node.subscriber.email).toMatch(/@example\.com$/);

    // page ids, workshop rows, total count, enrollment counts, enrollment pages, subscribers
    expect(large.statements.length).toBe(small.statements.length);
    expect(large.statements.length).toBe(6);
  });

  it('bounds nested enrollment pages in SQL rather than loading every enrollment', async () => {
    app.cache.clearLocal(); // the same page was cached by the test above
    const statements = await app.statementsDuring(async () => {
      dataOf(await app.gql(PAGE_QUERY, { first: 5, tag }, { key: app.keys.editor }));
    });
    const pageQuery = statements.find((sql) => sql.includes('row_number() OVER'));
    expect(pageQuery).toBeDefined();
    expect(pageQuery).toMatch(/"pagePosition" <= \$\d+/);
  });
});
