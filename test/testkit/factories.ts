import { dataOf, uniqueSlug, type TestApp } from './app.js';

const DAY = 24 * 3600 * 1000;

export interface WorkshopOverrides {
  slug?: string;
  capacity?: number;
  startsInDays?: number;
  publish?: boolean;
  titleEn?: string;
  titlePl?: string | null;
  descriptionEn?: string;
  tags?: string[];
}

/** Creates (and by default publishes) a workshop through the API as an editor; returns its global id. */
export async function createWorkshop(app: TestApp, overrides: WorkshopOverrides = {}): Promise<{ id: string; slug: string }> {
  const startsAt = new Date(Date.now() + (overrides.startsInDays ?? 10) * DAY);
  const slug = overrides.slug ?? uniqueSlug();
  const created = dataOf(
    await app.gql<{ createWorkshop: { id: string; slug: string } }>(
      `mutation ($input: CreateWorkshopInput!) { createWorkshop(input: $input) { id slug } }`,
      {
        input: {
          slug,
          title: { en: overrides.titleEn ?? `Workshop ${slug}`, pl: overrides.titlePl === undefined ? `Warsztat ${slug}` : overrides.titlePl },
          description: { en: overrides.descriptionEn ?? 'A hands-on session.', pl: 'Zajęcia praktyczne.' },
          startsAt: startsAt.toISOString(),
          endsAt: new Date(startsAt.getTime() + 3 * 3600 * 1000).toISOString(),
          timezone: 'Europe/Warsaw',
          capacity: overrides.capacity ?? 10,
          location: 'Warszawa',
          tags: overrides.tags ?? ['graphql'],
        },
      },
      { key: app.keys.editor },
    ),
  ).createWorkshop;
  if (overrides.publish !== false) {
    dataOf(await app.gql(`mutation ($id: ID!) { publishWorkshop(id: $id) { id } }`, { id: created.id }, { key: app.keys.editor }));
  }
  return created;
}

export async function enroll(app: TestApp, workshopId: string, email: string) {
  return app.gql<{ enroll: { enrollment: { id: string; status: string }; cancellationToken: string; checkInToken: string } }>(
    `mutation ($input: EnrollInput!) { enroll(input: $input) { enrollment { id status } cancellationToken checkInToken } }`,
    { input: { workshopId, email, name: 'Test Person', locale: 'EN' } },
  );
}
