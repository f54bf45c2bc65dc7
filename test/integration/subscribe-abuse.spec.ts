import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBSCRIBE_MAILS_PER_HOUR } from '../../src/modules/subscribers/subscribers-service.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';

const SUBSCRIBE = `mutation ($input: SubscribeInput!) { subscribe(input: $input) { accepted } }`;
const CONFIRM = `mutation ($token: String!) { confirmSubscription(token: $token) { status manageToken } }`;
const UNSUBSCRIBE = `mutation ($token: String!) { unsubscribe(token: $token) { status } }`;

/** Confirmation links work once, and subscribe cannot be used to flood someone's mailbox. */
describe('subscription links and mails', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app?.close());

  const unique = () => `abuse-${randomBytes(4).toString('hex')}@example.com`;
  const outbox = (email: string) => app.database.prisma.notification.findMany({ where: { subscriber: { email } }, orderBy: { createdAt: 'asc' } });
  const status = async (email: string) => (await app.database.prisma.subscriber.findUniqueOrThrow({ where: { email } })).status;

  it('refuses a confirmation link once used, and after an unsubscribe: a replay never re-activates', async () => {
    const email = unique();
    dataOf(await app.gql(SUBSCRIBE, { input: { email, locale: 'EN', topics: ['graphql'] } }));
    const [first] = await outbox(email);
    const confirmed = dataOf(await app.gql(CONFIRM, { token: first!.token })).confirmSubscription;
    expect(confirmed.status).toBe('ACTIVE');
    expect(codesOf(await app.gql(CONFIRM, { token: first!.token }))).toEqual(['BAD_USER_INPUT']);
    expect(dataOf(await app.gql(UNSUBSCRIBE, { token: confirmed.manageToken })).unsubscribe.status).toBe('UNSUBSCRIBED');
    expect(codesOf(await app.gql(CONFIRM, { token: first!.token }))).toEqual(['BAD_USER_INPUT']);
    expect(await status(email)).toBe('UNSUBSCRIBED');
    // Subscribing again sends a new link, which works (once).
    dataOf(await app.gql(SUBSCRIBE, { input: { email, locale: 'EN', topics: ['graphql'] } }));
    const again = (await outbox(email)).filter((n) => n.kind === 'CONFIRM_SUBSCRIPTION').at(-1)!;
    expect(again.token).not.toBe(first!.token);
    expect(dataOf(await app.gql(CONFIRM, { token: again.token })).confirmSubscription.status).toBe('ACTIVE');
    expect(codesOf(await app.gql(CONFIRM, { token: first!.token }))).toEqual(['BAD_USER_INPUT']);
  });

  it(`puts at most ${SUBSCRIBE_MAILS_PER_HOUR} mails per address per hour in the outbox, answering the same every time`, async () => {
    const pending = unique();
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await app.gql(SUBSCRIBE, { input: { email: pending, locale: 'EN', topics: ['graphql'] } }));
    // Concurrent calls too.
    answers.push(...(await Promise.all(Array.from({ length: 4 }, () => app.gql(SUBSCRIBE, { input: { email: pending, locale: 'EN', topics: ['graphql'] } })))));
    expect(new Set(answers.map((a) => JSON.stringify(a.data)))).toEqual(new Set([JSON.stringify({ subscribe: { accepted: true } })]));
    expect(await outbox(pending)).toHaveLength(SUBSCRIBE_MAILS_PER_HOUR);

    const active = unique();
    dataOf(await app.gql(SUBSCRIBE, { input: { email: active, locale: 'EN', topics: ['graphql'] } }));
    dataOf(await app.gql(CONFIRM, { token: (await outbox(active))[0]!.token }));
    for (let i = 0; i < 5; i++) dataOf(await app.gql(SUBSCRIBE, { input: { email: active, locale: 'EN', topics: ['graphql'] } }));
    expect((await outbox(active)).map((n) => n.kind)).toEqual(['CONFIRM_SUBSCRIPTION', 'ALREADY_SUBSCRIBED', 'ALREADY_SUBSCRIBED']);
  });
});
