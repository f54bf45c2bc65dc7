import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

const LIST = `query ($filter: WorkshopFilter) { workshops(first: 50, filter: $filter) { totalCount edges { node { slug } } } }`;

/** The web app's own persisted operation, as the manifest the server loads holds it. */
const WEB_UPCOMING = Object.values(JSON.parse(readFileSync('persisted/web.json', 'utf8')) as Record<string, string>).find((doc) =>
  doc.includes('query UpcomingWorkshops'),
)!;

describe('filter.upcoming', () => {
  let app: TestApp;
  let past: { slug: string };
  let started: { slug: string };
  let soon: { slug: string };
  let later: { slug: string };

  beforeAll(async () => {
    app = await startTestApp();
    later = await createWorkshop(app, { startsInDays: 9 });
    past = await createWorkshop(app, { startsInDays: -20 });
    soon = await createWorkshop(app, { startsInDays: 1 });
    // Started an hour ago and still running: no longer "upcoming".
    started = await createWorkshop(app, { startsInDays: -1 / 24 });
  });
  afterAll(() => app?.close());

  const slugs = (data: any) => data.workshops.edges.map((e: any) => e.node.slug);

  it('lists only workshops starting now or later, and the rest with upcoming: false', async () => {
    const upcoming = dataOf(await app.gql(LIST, { filter: { upcoming: true } }));
    expect(slugs(upcoming)).toEqual([soon.slug, later.slug]);
    expect(upcoming.workshops.totalCount).toBe(2);
    const begun = dataOf(await app.gql(LIST, { filter: { upcoming: false } }));
    expect(slugs(begun)).toEqual([past.slug, started.slug]);
    expect(slugs(dataOf(await app.gql(LIST, {})))).toHaveLength(4);
  });

  it("is what the web app's UpcomingWorkshops operation asks for", async () => {
    const page = dataOf(await app.gql(WEB_UPCOMING, { first: 12 }));
    expect(slugs(page)).toEqual([soon.slug, later.slug]);
  });
});
