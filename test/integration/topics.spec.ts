import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

const CREATE = `mutation ($input: CreateTopicInput!) { createTopic(input: $input) { slug name(locale: EN) pl: name(locale: PL) retired } }`;
const UPDATE = `mutation ($slug: String!, $input: UpdateTopicInput!) { updateTopic(slug: $slug, input: $input) { slug name(locale: PL) } }`;
const RETIRE = `mutation ($slug: String!) { retireTopic(slug: $slug) { slug retired retiredAt } }`;
const TOPICS = `query ($all: Boolean) { topics(includeRetired: $all) { slug name(locale: PL) retired } }`;
const WORKSHOP_TOPICS = `query ($slug: String!) { workshopBySlug(slug: $slug) { tags topics { slug name(locale: PL) retired } } }`;
const UPDATE_TAGS = `mutation ($id: ID!, $tags: [String!]) { updateWorkshop(id: $id, input: { tags: $tags }) { tags } }`;
const SUBSCRIBE = `mutation ($input: SubscribeInput!) { subscribe(input: $input) { accepted } }`;
const CONFIRM = `mutation ($token: String!) { confirmSubscription(token: $token) { manageToken } }`;
const PREFERENCES = `mutation ($token: String!, $topics: [String!]) { updatePreferences(token: $token, input: { topics: $topics }) { topics } }`;

const slug = (base = 'topic') => `${base}-${randomBytes(3).toString('hex')}`;

describe('managed topics', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { TOKEN_SECRET: 's'.repeat(40) }, persisted: { acme: [CREATE, UPDATE, RETIRE] } });
  });
  afterAll(() => app?.close());

  const newTopic = async (s = slug()) =>
    dataOf(await app.gql(CREATE, { input: { slug: s, name: { en: 'Accessibility audits', pl: 'Audyty dostępności' } } }, { key: app.keys.editor }))
      .createTopic;

  it('authorization: editors and admins manage topics; anonymous callers and partners are FORBIDDEN', async () => {
    const callers = [
      { who: 'anonymous', options: {}, allowed: false },
      { who: 'partner', options: { key: app.keys.partner, persisted: true }, allowed: false },
      { who: 'editor', options: { key: app.keys.editor }, allowed: true },
      { who: 'admin', options: { key: app.keys.admin }, allowed: true },
    ];
    for (const { who, options, allowed } of callers) {
      const s = slug(who);
      const results = [
        await app.gql(CREATE, { input: { slug: s, name: { en: 'X' } } }, options),
        await app.gql(UPDATE, { slug: allowed ? s : 'graphql', input: { name: { en: 'Y', pl: 'Igrek' } } }, options),
        await app.gql(RETIRE, { slug: allowed ? s : 'graphql' }, options),
      ];
      expect({ who, codes: results.map(codesOf) }).toEqual({ who, codes: allowed ? [[], [], []] : [['FORBIDDEN'], ['FORBIDDEN'], ['FORBIDDEN']] });
    }
    // Nothing the refused callers sent changed the seeded topic.
    const graphql = dataOf(await app.gql(TOPICS, {})).topics.find((t: any) => t.slug === 'graphql');
    expect(graphql).toEqual({ slug: 'graphql', name: 'GraphQL', retired: false });
  });

  it('creates a topic an editor can tag a workshop with at once, and validates the input', async () => {
    // Cached before the topic exists: the list must not be served stale afterwards.
    expect(codesOf(await app.gql(TOPICS, {}))).toEqual([]);
    const topic = await newTopic();
    expect(topic).toEqual({ slug: topic.slug, name: 'Accessibility audits', pl: 'Audyty dostępności', retired: false });
    expect(dataOf(await app.gql(TOPICS, {})).topics.map((t: any) => t.slug)).toContain(topic.slug);

    const workshop = await createWorkshop(app, { tags: [topic.slug, 'testing'] });
    expect(dataOf(await app.gql(WORKSHOP_TOPICS, { slug: workshop.slug })).workshopBySlug.topics).toEqual([
      { slug: topic.slug, name: 'Audyty dostępności', retired: false },
      { slug: 'testing', name: 'Testowanie', retired: false },
    ]);

    const again = await app.gql(CREATE, { input: { slug: topic.slug, name: { en: 'Again' } } }, { key: app.keys.editor });
    expect(codesOf(again)).toEqual(['CONFLICT']);
    const bad = await app.gql(CREATE, { input: { slug: 'Not A Slug', name: { en: ' ' } } }, { key: app.keys.editor });
    expect(codesOf(bad)).toEqual(['BAD_USER_INPUT']);
    expect(bad.errors![0]!.extensions!.fields.map((f: any) => f.path).sort()).toEqual(['input.name.en', 'input.slug']);
    expect(codesOf(await app.gql(UPDATE, { slug: 'no-such-topic', input: { name: { en: 'Z' } } }, { key: app.keys.editor }))).toEqual(['NOT_FOUND']);
    expect(codesOf(await app.gql(RETIRE, { slug: 'no-such-topic' }, { key: app.keys.editor }))).toEqual(['NOT_FOUND']);
  });

  it('renames a topic (the slug stays) and evicts cached topic lists and workshops showing it', async () => {
    const topic = await newTopic();
    const workshop = await createWorkshop(app, { tags: [topic.slug] });
    // Warm the cache with the old names.
    dataOf(await app.gql(TOPICS, {}));
    dataOf(await app.gql(WORKSHOP_TOPICS, { slug: workshop.slug }));

    const renamed = dataOf(await app.gql(UPDATE, { slug: topic.slug, input: { name: { en: 'A11y', pl: 'Dostępność cyfrowa' } } }, { key: app.keys.editor }));
    expect(renamed.updateTopic).toEqual({ slug: topic.slug, name: 'Dostępność cyfrowa' });
    expect(dataOf(await app.gql(TOPICS, {})).topics.find((t: any) => t.slug === topic.slug).name).toBe('Dostępność cyfrowa');
    expect(dataOf(await app.gql(WORKSHOP_TOPICS, { slug: workshop.slug })).workshopBySlug.topics[0].name).toBe('Dostępność cyfrowa');
    // Without a Polish name, Polish readers get the English one.
    dataOf(await app.gql(UPDATE, { slug: topic.slug, input: { name: { en: 'A11y' } } }, { key: app.keys.editor }));
    expect(dataOf(await app.gql(TOPICS, {})).topics.find((t: any) => t.slug === topic.slug).name).toBe('A11y');
  });

  it('a retired topic stays on workshops and subscribers that have it, is hidden from topics, and is refused anew', async () => {
    const topic = await newTopic();
    const tagged = await createWorkshop(app, { tags: [topic.slug, 'graphql'] });
    const other = await createWorkshop(app, { tags: ['graphql'] });
    const email = `${slug('sub')}@example.com`;
    dataOf(await app.gql(SUBSCRIBE, { input: { email, locale: 'PL', topics: [topic.slug] } }));
    const note = await app.database.prisma.notification.findFirstOrThrow({ where: { subscriber: { email } } });
    const manage = dataOf(await app.gql(CONFIRM, { token: note.token })).confirmSubscription.manageToken;
    dataOf(await app.gql(TOPICS, {}));

    const retired = dataOf(await app.gql(RETIRE, { slug: topic.slug }, { key: app.keys.editor })).retireTopic;
    expect(retired).toMatchObject({ slug: topic.slug, retired: true });
    // Idempotent: the first retirement time stays.
    expect(dataOf(await app.gql(RETIRE, { slug: topic.slug }, { key: app.keys.admin })).retireTopic.retiredAt).toBe(retired.retiredAt);

    expect(dataOf(await app.gql(TOPICS, {})).topics.map((t: any) => t.slug)).not.toContain(topic.slug);
    expect(dataOf(await app.gql(TOPICS, { all: true })).topics.find((t: any) => t.slug === topic.slug)).toMatchObject({ retired: true });
    const onWorkshop = dataOf(await app.gql(WORKSHOP_TOPICS, { slug: tagged.slug })).workshopBySlug;
    expect(onWorkshop.tags).toEqual([topic.slug, 'graphql']);
    expect(onWorkshop.topics[0]).toMatchObject({ slug: topic.slug, retired: true });

    // Keeping it is fine; adding it anywhere new is BAD_USER_INPUT, naming the tag.
    expect(dataOf(await app.gql(UPDATE_TAGS, { id: tagged.id, tags: ['graphql', topic.slug] }, { key: app.keys.editor })).updateWorkshop.tags).toEqual([
      'graphql',
      topic.slug,
    ]);
    const added = await app.gql(UPDATE_TAGS, { id: other.id, tags: ['graphql', topic.slug] }, { key: app.keys.editor });
    expect(codesOf(added)).toEqual(['BAD_USER_INPUT']);
    expect(added.errors![0]!.extensions!.fields).toEqual([{ path: 'input.tags.1', message: `retired topic "${topic.slug}"` }]);
    await expect(createWorkshop(app, { tags: [topic.slug] })).rejects.toThrow(/BAD_USER_INPUT/);
    expect(codesOf(await app.gql(SUBSCRIBE, { input: { email: `${slug('new')}@example.com`, locale: 'EN', topics: [topic.slug] } }))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(dataOf(await app.gql(PREFERENCES, { token: manage, topics: [topic.slug, 'design'] })).updatePreferences.topics).toEqual([topic.slug, 'design']);
    dataOf(await app.gql(PREFERENCES, { token: manage, topics: ['design'] }));
    expect(codesOf(await app.gql(PREFERENCES, { token: manage, topics: [topic.slug] }))).toEqual(['BAD_USER_INPUT']);
  });
});
