import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/infra/demo-seed.js';
import { migrate } from '../../src/infra/migrate.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop, enroll, enrollConfirmed } from '../testkit/factories.js';

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

  it('pages nested enrollments and responses, and ingests events once, as on Postgres', async () => {
    const { workshops } = dataOf(
      await app.gql(`{ workshops(first: 5) { edges { node { enrollments(last: 2) { edges { node { status } } } } } } }`, {}, { key: app.keys.editor }),
    );
    expect(workshops.edges.some((e: any) => e.node.enrollments.edges.length === 2)).toBe(true);
    const { questionnaires } = dataOf(
      await app.gql(`{ questionnaires(first: 5) { edges { node { responses(first: 2) { totalCount edges { node { answers { question { type } } } } } } } } }`, {}, { key: app.keys.editor }),
    );
    const answered = questionnaires.edges.map((e: any) => e.node.responses).filter((r: any) => r.totalCount > 0);
    expect(answered.length).toBeGreaterThan(0);
    expect(answered[0].edges[0].node.answers.length).toBeGreaterThan(0);

    const { id } = await createWorkshop(app);
    const event = { id: randomUUID(), type: 'WORKSHOP_VIEW', workshopId: id, occurredAt: new Date().toISOString() };
    const track = `mutation ($events: [EventInput!]!) { trackEvents(events: $events) { accepted duplicates } }`;
    expect(dataOf(await app.gql(track, { events: [event, event] })).trackEvents).toEqual({ accepted: 1, duplicates: 1 });
    expect(dataOf(await app.gql(track, { events: [{ ...event, occurredAt: new Date(Date.now() - 60_000).toISOString() }] })).trackEvents).toEqual({ accepted: 0, duplicates: 1 });
  });

  it('enrolls, waitlists and rejects bad input as on Postgres', async () => {
    const { id } = await createWorkshop(app, { capacity: 1 });
    expect((await enrollConfirmed(app, id, 'one@example.com')).enrollment.status).toBe('ENROLLED');
    expect((await enrollConfirmed(app, id, 'two@example.com')).enrollment.status).toBe('WAITLISTED');
    expect(codesOf(await enroll(app, id, 'bad email'))).toEqual(['BAD_USER_INPUT']);
  });
});
