import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TokenSigner } from '../../src/shared/tokens.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop, enroll } from '../testkit/factories.js';
import { waitFor } from '../testkit/processes.js';

const SUBSCRIBE = `mutation ($input: SubscribeInput!) { subscribe(input: $input) { accepted message } }`;
const CONFIRM = `mutation ($token: String!) { confirmSubscription(token: $token) { email status manageToken } }`;
const MINE = `query ($token: String!) { mySubscription(token: $token) { email name status topics preferences { frequency channels quietHours { start end } settings } } }`;

/** Every way to a person's email, name and preferences, for the partner manifest. */
const PERSONAL_QUERIES = ['email', 'name', 'preferences { frequency }'].map(
  (field) => `query ($workshop: ID!, $id: ID!) { workshop(id: $workshop) { enrollments(first: 5) { edges { node { subscriber { ${field} } } } } }
    node(id: $id) { ... on Subscriber { ${field} } } }`,
);
const PERSONAL_LISTS = `{ subscribers(first: 5) { totalCount edges { node { email } } } subscriberSegments(groupBy: [STATUS]) { count } }`;

describe('subscribers', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { TOKEN_SECRET: 's'.repeat(40) }, persisted: { acme: [...PERSONAL_QUERIES, PERSONAL_LISTS] } });
  });
  afterAll(() => app?.close());

  const unique = () => `sub-${randomBytes(4).toString('hex')}@example.com`;
  /** What the mailer would send: the latest token in the outbox for this address. */
  async function mailbox(email: string, kind = 'CONFIRM_SUBSCRIPTION') {
    const note = await app.database.prisma.notification.findFirst({ where: { kind, subscriber: { email } }, orderBy: { createdAt: 'desc' } });
    return note?.token;
  }
  async function activeSubscriber(topics = ['graphql'], locale = 'PL') {
    const email = unique();
    dataOf(await app.gql(SUBSCRIBE, { input: { email, locale, topics } }));
    const confirmed = dataOf(await app.gql(CONFIRM, { token: await mailbox(email) })).confirmSubscription;
    return { email, manage: confirmed.manageToken as string };
  }

  it('runs the consent flow: subscribe → PENDING, confirm → ACTIVE, one-click unsubscribe, idempotent', async () => {
    const email = unique();
    const answer = dataOf(await app.gql(SUBSCRIBE, { input: { email: ` ${email.toUpperCase()} `, locale: 'EN', topics: ['graphql', 'testing'] } }));
    expect(answer.subscribe.accepted).toBe(true);
    expect(JSON.stringify(answer)).not.toMatch(/token|sub-/);
    expect((await app.database.prisma.subscriber.findUnique({ where: { email } }))?.status).toBe('PENDING');
    const confirmed = dataOf(await app.gql(CONFIRM, { token: await mailbox(email) })).confirmSubscription;
    expect(confirmed).toMatchObject({ email, status: 'ACTIVE' });
    const unsubscribe = `mutation ($token: String!) { unsubscribe(token: $token) { status } }`;
    expect(dataOf(await app.gql(unsubscribe, { token: confirmed.manageToken })).unsubscribe.status).toBe('UNSUBSCRIBED');
    expect(dataOf(await app.gql(unsubscribe, { token: confirmed.manageToken })).unsubscribe.status).toBe('UNSUBSCRIBED');
  });

  it('answers the same for known and unknown emails, and leaves an active subscriber untouched', async () => {
    const { email, manage } = await activeSubscriber(['design']);
    const known = await app.gql(SUBSCRIBE, { input: { email, locale: 'EN', topics: ['security'] } });
    const unknown = await app.gql(SUBSCRIBE, { input: { email: unique(), locale: 'EN', topics: ['security'] } });
    // Everything but the caller's remaining cost budget (extensions.cost), which each call lowers.
    expect({ ...known, extensions: undefined }).toEqual({ ...unknown, extensions: undefined });
    expect(dataOf(await app.gql(MINE, { token: manage })).mySubscription).toMatchObject({ status: 'ACTIVE', topics: ['design'] });
    expect(await mailbox(email, 'ALREADY_SUBSCRIBED')).toBeTruthy();
  });

  it('rejects forged, expired and misused tokens, and malformed input, writing nothing', async () => {
    const { manage } = await activeSubscriber();
    const before = await app.database.prisma.subscriber.count();
    const [body] = manage.split('.');
    const forged = `${body}.${Buffer.from('x'.repeat(32)).toString('base64url')}`;
    const foreignSecret = new TokenSigner('o'.repeat(40)).sign('subscription:manage', '00000000-0000-4000-8000-000000000000', 60);
    const expired = new TokenSigner('s'.repeat(40)).sign('subscription:manage', '00000000-0000-4000-8000-000000000000', -1);
    for (const token of [forged, foreignSecret, expired, 'nonsense']) {
      expect(codesOf(await app.gql(MINE, { token }))).toEqual(['BAD_USER_INPUT']);
    }
    // A manage token cannot confirm, and vice versa.
    expect(codesOf(await app.gql(CONFIRM, { token: manage }))).toEqual(['BAD_USER_INPUT']);
    for (const input of [
      { email: 'not-an-email', locale: 'EN' },
      { email: unique(), locale: 'EN', topics: ['astrology'] },
    ]) {
      expect(codesOf(await app.gql(SUBSCRIBE, { input }))).toEqual(['BAD_USER_INPUT']);
    }
    expect(codesOf(await app.gql(SUBSCRIBE, { input: { email: unique(), locale: 'DE' } }))).toEqual(['BAD_USER_INPUT']);
    expect(await app.database.prisma.subscriber.count()).toBe(before);
  });

  it('lets subscribers read and update their own preferences with their token', async () => {
    const { email, manage } = await activeSubscriber();
    dataOf(await app.gql(MINE, { token: manage })); // cached now; the update below must evict it
    const update = `mutation ($token: String!, $input: UpdatePreferencesInput!) { updatePreferences(token: $token, input: $input) { preferences { frequency channels quietHours { start } settings } topics } }`;
    const changed = dataOf(
      await app.gql(update, { token: manage, input: { frequency: 'MONTHLY', channels: ['EMAIL', 'PUSH'], quietHours: { start: '22:00', end: '07:00' }, settings: { digest: true }, topics: ['data'] } }),
    ).updatePreferences;
    expect(changed).toEqual({ preferences: { frequency: 'MONTHLY', channels: ['EMAIL', 'PUSH'], quietHours: { start: '22:00' }, settings: { digest: true } }, topics: ['data'] });
    expect(dataOf(await app.gql(MINE, { token: manage })).mySubscription).toMatchObject({ email, topics: ['data'], preferences: { frequency: 'MONTHLY' } });
    expect(codesOf(await app.gql(update, { token: manage, input: { quietHours: { start: '25:00', end: '07:00' } } }))).toEqual(['BAD_USER_INPUT']);
  });

  it('keeps hot preferences cached, refreshing them in the background before they expire', async () => {
    const { email, manage } = await activeSubscriber();
    const name = async () => dataOf(await app.gql(MINE, { token: manage })).mySubscription.name;
    expect(await name()).toBeNull(); // cached for 15 minutes
    // A change that bypasses the service (so no invalidation): only a refresh can bring it in.
    await app.database.prisma.subscriber.update({ where: { email }, data: { name: 'Refreshed' } });
    expect(await name()).toBeNull();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 11 * 60_000);
      // Four minutes left: the cached answer is served at once, and refreshed behind it.
      expect(await name()).toBeNull();
      await waitFor('the background refresh', async () => (await name()) === 'Refreshed', 1000, 20);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps email, name and preferences from anonymous callers and partners; editors see them', async () => {
    const { id } = await createWorkshop(app);
    await enroll(app, id, 'private-person@example.com');
    const subscriber = await app.database.prisma.subscriber.findUniqueOrThrow({ where: { email: 'private-person@example.com' } });
    const globalId = Buffer.from(`Subscriber:${subscriber.id}`).toString('base64');
    await app.database.prisma.subscriber.update({ where: { id: subscriber.id }, data: { name: 'Private Person', preferences: { frequency: 'MONTHLY' } } });
    // Partners run persisted operations only, so their half goes through their manifest: a document would
    // stop at PERSISTED_QUERY_ONLY before any resolver, and pass whether or not the fields are protected.
    for (const query of PERSONAL_QUERIES) {
      for (const key of [undefined, app.keys.partner]) {
        const response = await app.gql(query, { workshop: id, id: globalId }, { key, persisted: key !== undefined });
        expect(codesOf(response)).toEqual(['FORBIDDEN']);
        expect(response.data).toEqual({ workshop: { enrollments: null }, node: null });
      }
    }
    for (const key of [undefined, app.keys.partner]) {
      const lists = await app.gql(PERSONAL_LISTS, {}, { key, persisted: key !== undefined });
      expect(codesOf(lists)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
      expect(lists.data).toEqual({ subscribers: null, subscriberSegments: null });
    }
    const editor = dataOf(await app.gql(`query ($id: ID!) { node(id: $id) { ... on Subscriber { email enrollments { status } } } }`, { id: globalId }, { key: app.keys.editor }));
    // Enrolled anonymously: held until they confirm from the mail.
    expect(editor.node).toEqual({ email: 'private-person@example.com', enrollments: [{ status: 'PENDING' }] });
  });

  it('counts segments in SQL on a known fixture', async () => {
    const segmentApp = await startTestApp({ env: { TOKEN_SECRET: 's'.repeat(40) } });
    try {
      const db = segmentApp.database.prisma;
      await db.subscriber.createMany({
        data: [
          { email: 'a@x.io', status: 'ACTIVE', locale: 'PL', topics: ['graphql', 'testing'] },
          { email: 'b@x.io', status: 'ACTIVE', locale: 'EN', topics: ['graphql'] },
          { email: 'c@x.io', status: 'PENDING', locale: 'PL', topics: [] },
          { email: 'd@x.io', status: 'UNSUBSCRIBED', locale: 'PL', topics: ['testing'] },
          { email: 'e@x.io', locale: 'EN' }, // an enrollee, not a newsletter subscriber
        ],
      });
      const b = await db.subscriber.findUniqueOrThrow({ where: { email: 'b@x.io' } });
      await db.subscription.create({ data: { subscriberId: b.id, plan: 'PREMIUM' } });
      const segments = async (groupBy: string[]) =>
        dataOf(await segmentApp.gql(`query ($g: [SegmentDimension!]!) { subscriberSegments(groupBy: $g) { topic locale status plan count } }`, { g: groupBy }, { key: segmentApp.keys.editor }))
          .subscriberSegments;
      expect(await segments(['STATUS'])).toEqual([
        { topic: null, locale: null, status: 'ACTIVE', plan: null, count: 2 },
        { topic: null, locale: null, status: 'PENDING', plan: null, count: 1 },
        { topic: null, locale: null, status: 'UNSUBSCRIBED', plan: null, count: 1 },
      ]);
      const byTopicAndStatus = await segments(['TOPIC', 'STATUS']);
      expect(byTopicAndStatus).toContainEqual({ topic: 'graphql', locale: null, status: 'ACTIVE', plan: null, count: 2 });
      expect(byTopicAndStatus).toContainEqual({ topic: 'testing', locale: null, status: 'ACTIVE', plan: null, count: 1 });
      expect(await segments(['PLAN'])).toEqual([
        { topic: null, locale: null, status: null, plan: 'FREE', count: 3 },
        { topic: null, locale: null, status: null, plan: 'PREMIUM', count: 1 },
      ]);
      const list = dataOf(await segmentApp.gql(`{ subscribers(first: 10, filter: { plan: PREMIUM }) { totalCount edges { node { email plan } } } }`, {}, { key: segmentApp.keys.editor }));
      expect(list.subscribers.edges).toEqual([{ node: { email: 'b@x.io', plan: 'PREMIUM' } }]);
      const search = dataOf(await segmentApp.gql(`{ subscribers(first: 10, filter: { search: "A@X", locale: PL }) { totalCount } }`, {}, { key: segmentApp.keys.editor }));
      expect(search.subscribers.totalCount).toBe(1);

      // Keyset pages, newest first, forward and back.
      const page = `query ($first: Int, $after: String, $last: Int, $before: String) {
        subscribers(first: $first, after: $after, last: $last, before: $before) { edges { node { email } } pageInfo { startCursor endCursor hasNextPage } } }`;
      const get = async (vars: Record<string, unknown>) => dataOf(await segmentApp.gql(page, vars, { key: segmentApp.keys.editor })).subscribers;
      const all = (await get({ first: 10 })).edges.map((e: any) => e.node.email);
      expect(all).toHaveLength(5);
      const first = await get({ first: 2 });
      const second = await get({ first: 2, after: first.pageInfo.endCursor });
      expect([...first.edges, ...second.edges].map((e: any) => e.node.email)).toEqual(all.slice(0, 4));
      const back = await get({ last: 2, before: second.pageInfo.startCursor });
      expect(back.edges.map((e: any) => e.node.email)).toEqual(all.slice(0, 2));
    } finally {
      await segmentApp.close();
    }
  });

  it('exports everything to admins and erases a person while keeping the statistics', async () => {
    const { id: workshopId } = await createWorkshop(app);
    const { email, manage } = await activeSubscriber();
    // Their manage token proves it is them: no hold, ENROLLED at once.
    dataOf(await enroll(app, workshopId, email, { manageToken: manage }));
    const person = await app.database.prisma.subscriber.findUniqueOrThrow({ where: { email } });
    const globalId = Buffer.from(`Subscriber:${person.id}`).toString('base64');
    const exported = dataOf(await app.gql(`mutation ($id: ID!) { exportSubscriberData(id: $id) }`, { id: globalId }, { key: app.keys.admin })).exportSubscriberData;
    expect(exported).toMatchObject({ email, enrollments: [{ status: 'ENROLLED' }] });
    expect(codesOf(await app.gql(`mutation ($id: ID!) { eraseSubscriber(id: $id) { id } }`, { id: globalId }, { key: app.keys.editor }))).toEqual(['FORBIDDEN']);

    const counts = `query ($id: ID!) { workshop(id: $id) { enrollmentCount } }`;
    const before = dataOf(await app.gql(counts, { id: workshopId })).workshop.enrollmentCount;
    dataOf(await app.gql(`mutation ($id: ID!) { eraseSubscriber(id: $id) { erased status } }`, { id: globalId }, { key: app.keys.admin }));
    const erased = await app.database.prisma.subscriber.findUniqueOrThrow({ where: { id: person.id } });
    expect(erased).toMatchObject({ name: null, topics: [], status: 'UNSUBSCRIBED' });
    expect(erased.email).not.toContain(email.split('@')[0]!);
    expect(await app.database.prisma.notification.count({ where: { subscriberId: person.id } })).toBe(0);
    expect(dataOf(await app.gql(counts, { id: workshopId })).workshop.enrollmentCount).toBe(before);
    expect(codesOf(await app.gql(MINE, { token: manage }))).toEqual(['BAD_USER_INPUT']);
  });
});
