import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../prisma/seed.js';
import { migrate } from '../../src/infra/migrate.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop, enroll } from '../testkit/factories.js';

/** The embedded default (PGlite, Postgres 18) runs the same migrations and code paths. */
describe('embedded database', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ embedded: true });
    await seedDemo(app.database.prisma);
  });
  afterAll(() => app?.close());

  it('is migrated, and migrating again applies nothing', async () => {
    expect(app.database.kind).toBe('embedded');
    expect((await migrate(app.database)).applied).toEqual([]);
  });

  it('serves the seeded demo with search and batching', async () => {
    const { workshops } = dataOf(
      await app.gql(`{ workshops(first: 50, filter: { search: "zazolc" }) { totalCount edges { node { slug enrollmentCount seatsLeft } } } }`),
    );
    expect(workshops.totalCount).toBeGreaterThan(0);
  });

  it('enrolls, waitlists and rejects bad input as on Postgres', async () => {
    const { id } = await createWorkshop(app, { capacity: 1 });
    expect(dataOf(await enroll(app, id, 'one@example.com')).enroll.enrollment.status).toBe('ENROLLED');
    expect(dataOf(await enroll(app, id, 'two@example.com')).enroll.enrollment.status).toBe('WAITLISTED');
    expect(codesOf(await enroll(app, id, 'bad email'))).toEqual(['BAD_USER_INPUT']);
  });
});
