import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codesOf, dataOf, startTestApp, uniqueSlug, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

const CREATE = `mutation ($input: CreateWorkshopInput!) { createWorkshop(input: $input) { id slug status title tags } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateWorkshopInput!) { updateWorkshop(id: $id, input: $input) { id capacity startsAt endsAt } }`;

function validInput(overrides: Record<string, unknown> = {}) {
  return {
    slug: uniqueSlug(),
    title: { en: 'Testing GraphQL', pl: 'Testowanie GraphQL' },
    description: { en: 'How to test an API.' },
    startsAt: '2030-05-01T09:00:00Z',
    endsAt: '2030-05-01T15:00:00Z',
    timezone: 'Europe/Warsaw',
    capacity: 12,
    location: 'Kraków',
    tags: ['graphql', 'testing'],
    ...overrides,
  };
}

describe('workshop mutations', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ persisted: { acme: [CREATE] } });
  });
  afterAll(() => app?.close());

  const count = () => app.database.prisma.workshop.count();

  it('lets editors create a draft workshop', async () => {
    const input = validInput();
    const { createWorkshop } = dataOf(await app.gql(CREATE, { input }, { key: app.keys.editor }));
    expect(createWorkshop).toMatchObject({ slug: input.slug, status: 'DRAFT', title: 'Testing GraphQL', tags: ['graphql', 'testing'] });
  });

  it.each([
    ['anonymous', undefined],
    ['partner', 'partner'],
  ] as const)('refuses %s callers with FORBIDDEN and writes nothing', async (_who, role) => {
    const before = await count();
    const key = role ? app.keys[role] : undefined;
    expect(codesOf(await app.gql(CREATE, { input: validInput() }, { key, persisted: role === 'partner' }))).toEqual(['FORBIDDEN']);
    expect(await count()).toBe(before);
  });

  it.each([
    ['endsAt before startsAt', { endsAt: '2030-05-01T08:00:00Z' }, 'input.endsAt'],
    ['a start in year 1', { startsAt: '0001-05-01T08:00:00Z' }, 'input.startsAt'],
    ['an end in year 9999', { endsAt: '9999-05-01T08:00:00Z' }, 'input.endsAt'],
    ['negative capacity', { capacity: -5 }, 'input.capacity'],
    ['zero capacity', { capacity: 0 }, 'input.capacity'],
    ['over-long title', { title: { en: 'x'.repeat(201) } }, 'input.title.en'],
    ['empty title', { title: { en: '   ' } }, 'input.title.en'],
    ['bad slug', { slug: 'Not A Slug!' }, 'input.slug'],
    ['unknown time zone', { timezone: 'Mars/Olympus' }, 'input.timezone'],
    ['unknown topic', { tags: ['graphql', 'astrology'] }, 'input.tags.1'],
    ['no location nor URL', { location: null }, 'input.location'],
    ['non-http URL', { onlineUrl: 'javascript:alert(1)' }, 'input.onlineUrl'],
  ])('rejects %s with BAD_USER_INPUT naming the field, writing nothing', async (_case, overrides, path) => {
    const before = await count();
    const response = await app.gql(CREATE, { input: validInput(overrides) }, { key: app.keys.editor });
    expect(codesOf(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors![0]!.extensions!.fields.map((f: { path: string }) => f.path)).toContain(path);
    expect(await count()).toBe(before);
  });

  it('rejects a malformed DateTime before any resolver runs', async () => {
    const response = await app.gql(CREATE, { input: validInput({ startsAt: 'next tuesday' }) }, { key: app.keys.editor });
    expect(codesOf(response)).toEqual(['BAD_USER_INPUT']);
  });

  it('answers a duplicate slug with CONFLICT', async () => {
    const input = validInput();
    dataOf(await app.gql(CREATE, { input }, { key: app.keys.editor }));
    expect(codesOf(await app.gql(CREATE, { input: validInput({ slug: input.slug }) }, { key: app.keys.editor }))).toEqual(['CONFLICT']);
  });

  it('updates fields, checking cross-field rules against the stored record', async () => {
    const { id } = await createWorkshop(app);
    const updated = dataOf(await app.gql(UPDATE, { id, input: { capacity: 30 } }, { key: app.keys.editor })).updateWorkshop;
    expect(updated.capacity).toBe(30);
    // Fields not sent keep their values (no defaults sneak into updates).
    expect(dataOf(await app.gql(`query ($id: ID!) { workshop(id: $id) { tags } }`, { id }, { key: app.keys.editor })).workshop.tags).toEqual(['graphql']);
    const bad = await app.gql(UPDATE, { id, input: { endsAt: '2000-01-01T00:00:00Z' } }, { key: app.keys.editor });
    expect(codesOf(bad)).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(UPDATE, { id, input: { title: null } }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
  });

  it('answers a well-formed id of no workshop with NOT_FOUND', async () => {
    const missing = Buffer.from('Workshop:00000000-0000-4000-8000-000000000000').toString('base64');
    expect(codesOf(await app.gql(UPDATE, { id: missing, input: { capacity: 3 } }, { key: app.keys.editor }))).toEqual(['NOT_FOUND']);
    expect(codesOf(await app.gql(UPDATE, { id: 'garbage', input: { capacity: 3 } }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
    // A well-formed id of a type that is not a node (or not a workshop) is malformed input, as the conventions say.
    const foreign = Buffer.from('Nope:00000000-0000-4000-8000-000000000000').toString('base64');
    expect(codesOf(await app.gql(UPDATE, { id: foreign, input: { capacity: 3 } }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id: foreign }))).toEqual(['BAD_USER_INPUT']);
    const subscriber = Buffer.from('Subscriber:00000000-0000-4000-8000-000000000000').toString('base64');
    expect(codesOf(await app.gql(UPDATE, { id: subscriber, input: { capacity: 3 } }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
  });

  it('publishes, archives and soft-deletes', async () => {
    const { id, slug } = await createWorkshop(app, { publish: false });
    const status = async (mutation: string) =>
      dataOf(await app.gql(`mutation ($id: ID!) { ${mutation}(id: $id) { status } }`, { id }, { key: app.keys.editor }))[mutation].status;
    expect(await status('publishWorkshop')).toBe('PUBLISHED');
    expect(dataOf(await app.gql(`{ workshopBySlug(slug: "${slug}") { slug } }`)).workshopBySlug).toEqual({ slug });
    expect(await status('archiveWorkshop')).toBe('ARCHIVED');
    expect(dataOf(await app.gql(`{ workshopBySlug(slug: "${slug}") { slug } }`)).workshopBySlug).toBeNull();
    await status('deleteWorkshop');
    expect(dataOf(await app.gql(`{ workshopBySlug(slug: "${slug}") { slug } }`, {}, { key: app.keys.editor })).workshopBySlug).toBeNull();
    expect(await app.database.prisma.workshop.count({ where: { slug } })).toBe(1); // soft: the row stays
    expect(codesOf(await app.gql(`mutation ($id: ID!) { publishWorkshop(id: $id) { id } }`, { id }, { key: app.keys.editor }))).toEqual(['NOT_FOUND']);
  });
});
