import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/modules/auth/api-keys-service.js';
import { decodeGlobalId, encodeGlobalId } from '../../src/shared/ids.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop, enroll, enrollAsEditor } from '../testkit/factories.js';
import { startInstancePair, type InstancePair } from '../testkit/instance-pair.js';
import { subscribe, type SseSubscription } from '../testkit/sse.js';

const FOLLOW = `subscription ($id: ID!) { workshopChanged(id: $id) { id title seatsLeft waitlistCount enrollmentCount status } }`;
const LIST = `subscription ($filter: WorkshopChangeFilter) { workshopsChanged(filter: $filter) { id slug status } }`;

async function serve(app: TestApp): Promise<{ server: Server; url: string }> {
  const server = createServer(app.yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql` };
}

const email = () => `live-${randomBytes(4).toString('hex')}@example.com`;

describe('live updates over SSE, two instances sharing Redis', () => {
  let pair: InstancePair;
  let urlA: string;
  const servers: Server[] = [];
  const open: SseSubscription[] = [];
  beforeAll(async () => {
    pair = await startInstancePair('live');
    const a = await serve(pair.a);
    servers.push(a.server);
    urlA = a.url;
  });
  afterAll(async () => {
    for (const subscription of open) subscription.close();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    await pair?.close();
  });

  async function follow(query: string, variables: Record<string, unknown>, key?: string) {
    const subscription = await subscribe(urlA, query, variables, key ? { authorization: `Bearer ${key}` } : {});
    open.push(subscription);
    return subscription;
  }
  /**
   * Writes made just before a subscription opened may still be on their way through Redis (B publishes
   * them in order on one connection): the first event of a fresh workshop, on every given list
   * subscription, marks where the test's own events begin. Later events of the marker are skipped by `nextOf`.
   */
  async function barrier(lists: SseSubscription[]): Promise<string> {
    const marker = await createWorkshop(pair.b);
    for (const list of lists) {
      for (let i = 0; i < 20 && dataOf(await list.next()).workshopsChanged.id !== marker.id; i++);
    }
    return marker.id;
  }
  async function nextOf(list: SseSubscription, skip: string) {
    for (;;) {
      const event = dataOf(await list.next()).workshopsChanged;
      if (event.id !== skip) return event;
    }
  }

  it("delivers on instance A what a write on instance B changed: enrolling, cancelling, editing, seats and all", async () => {
    const workshop = await createWorkshop(pair.b, { capacity: 2 });
    const live = await follow(FOLLOW, { id: workshop.id });
    expect(live.contentType).toMatch(/text\/event-stream/);
    // First the workshop as it is, so a page needs no separate read.
    expect(dataOf(await live.next()).workshopChanged).toMatchObject({ id: workshop.id, seatsLeft: 2, waitlistCount: 0, status: 'PUBLISHED' });

    // Editors' enrollments take the seat at once (anonymous ones hold it until confirmed: enrollment-holds.spec).
    const first = await enrollAsEditor(pair.b, workshop.id, email());
    expect(dataOf(await live.next()).workshopChanged).toMatchObject({ seatsLeft: 1, enrollmentCount: 1 });
    await enrollAsEditor(pair.b, workshop.id, email());
    expect(dataOf(await live.next()).workshopChanged).toMatchObject({ seatsLeft: 0, waitlistCount: 0 });
    await enrollAsEditor(pair.b, workshop.id, email());
    expect(dataOf(await live.next()).workshopChanged).toMatchObject({ seatsLeft: 0, waitlistCount: 1 });
    // Cancelling seats the waitlisted person: one change, seen as it is after the promotion.
    dataOf(await pair.b.gql(`mutation ($id: ID!, $token: String) { cancelEnrollment(id: $id, token: $token) { id } }`, { id: first.enrollment.id, token: first.cancellationToken }));
    expect(dataOf(await live.next()).workshopChanged).toMatchObject({ seatsLeft: 0, waitlistCount: 0, enrollmentCount: 2 });
    dataOf(await pair.b.gql(`mutation ($id: ID!, $input: UpdateWorkshopInput!) { updateWorkshop(id: $id, input: $input) { id } }`, { id: workshop.id, input: { title: { en: 'Live title' }, capacity: 5 } }, { key: pair.b.keys.editor }));
    expect(dataOf(await live.next()).workshopChanged).toMatchObject({ title: 'Live title', seatsLeft: 3 });
  });

  it('delivers check-ins, and list pages hear of every matching workshop that changes', async () => {
    // A topic of this test's own: no other test's workshop (or its changes still in flight) matches the filter.
    const tag = `live-${randomBytes(3).toString('hex')}`;
    await pair.a.database.prisma.topic.create({ data: { slug: tag, nameEn: tag } });
    const list = await follow(LIST, { filter: { tag, upcoming: true } }, pair.a.keys.editor);
    const other = await createWorkshop(pair.b, { tags: ['design'], publish: false });
    const soon = await createWorkshop(pair.b, { tags: [tag], startsInDays: 30 / (24 * 60) });
    // Creating and publishing: two changes, each read afresh when delivered (so both may already say PUBLISHED).
    // The untagged draft was created first: the first event being the tagged one shows it was filtered out.
    expect(dataOf(await list.next()).workshopsChanged.id).toBe(soon.id);
    expect(dataOf(await list.next()).workshopsChanged).toMatchObject({ id: soon.id, status: 'PUBLISHED' });
    expect(other.id).not.toBe(soon.id);

    const guest = await enrollAsEditor(pair.b, soon.id, email());
    expect(dataOf(await list.next()).workshopsChanged.id).toBe(soon.id);
    const follower = await follow(FOLLOW, { id: soon.id });
    expect(dataOf(await follower.next()).workshopChanged.enrollmentCount).toBe(1);
    dataOf(await pair.b.gql(`mutation ($token: String!) { checkInByToken(token: $token) { status } }`, { token: guest.checkInToken }));
    expect(dataOf(await list.next()).workshopsChanged.id).toBe(soon.id);
    // A checked-in person still holds a seat.
    expect(dataOf(await follower.next()).workshopChanged).toMatchObject({ enrollmentCount: 1, seatsLeft: 9 });
  });

  it('gives anonymous subscribers published workshops only: an archived or deleted one stops being delivered', async () => {
    const hidden = await createWorkshop(pair.b);
    const shown = await createWorkshop(pair.b);
    const anonymous = await follow(LIST, {});
    const editor = await follow(LIST, {}, pair.a.keys.editor);
    const follower = await follow(FOLLOW, { id: hidden.id });
    expect(dataOf(await follower.next()).workshopChanged.status).toBe('PUBLISHED');
    const marker = await barrier([anonymous, editor]);

    dataOf(await pair.b.gql(`mutation ($id: ID!) { archiveWorkshop(id: $id) { id } }`, { id: hidden.id }, { key: pair.b.keys.editor }));
    dataOf(await enroll(pair.b, shown.id, email()));
    // The editor hears of both, in order; the anonymous subscriber of the archived one only.
    expect(await nextOf(editor, marker)).toMatchObject({ id: hidden.id, status: 'ARCHIVED' });
    expect((await nextOf(editor, marker)).id).toBe(shown.id);
    expect((await nextOf(anonymous, marker)).id).toBe(shown.id);

    // Deleted: gone for editors too; the anonymous follower of the archived workshop heard nothing of either.
    dataOf(await pair.b.gql(`mutation ($id: ID!) { deleteWorkshop(id: $id) { id } }`, { id: hidden.id }, { key: pair.b.keys.editor }));
    dataOf(await enroll(pair.b, shown.id, email()));
    expect((await nextOf(editor, marker)).id).toBe(shown.id);
    expect((await nextOf(anonymous, marker)).id).toBe(shown.id);
    const followShown = await follow(FOLLOW, { id: shown.id });
    expect(dataOf(await followShown.next()).workshopChanged.id).toBe(shown.id);
    await expect(follower.next(500)).rejects.toThrow(/no event/);
  });

  it('checks personal data per event: a key revoked meanwhile ends its subscription', async () => {
    const { id: keyId, key } = await createApiKey(pair.a.database.prisma, { name: `live editor ${email()}`, role: 'EDITOR' });
    const workshop = await createWorkshop(pair.b);
    const live = await follow(`subscription ($id: ID!) { workshopChanged(id: $id) { id enrollments(first: 5) { edges { node { subscriber { email } } } } } }`, { id: workshop.id }, key);
    expect(dataOf(await live.next()).workshopChanged.enrollments.edges).toEqual([]);
    const person = email();
    dataOf(await enroll(pair.b, workshop.id, person));
    expect(dataOf(await live.next()).workshopChanged.enrollments.edges[0].node.subscriber.email).toBe(person);
    dataOf(await pair.b.gql(`mutation ($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: encodeGlobalId('ApiKey', keyId) }, { key: pair.b.keys.admin }));
    dataOf(await enroll(pair.b, workshop.id, email()));
    const refused = await live.next();
    expect(codesOf(refused)).toEqual(['UNAUTHENTICATED']);
    expect(JSON.stringify(refused)).not.toContain('@example.com');
    await live.ended;
  });

  it('keeps personal fields from anonymous subscribers', async () => {
    const workshop = await createWorkshop(pair.b);
    const live = await follow(`subscription ($id: ID!) { workshopChanged(id: $id) { id enrollments(first: 5) { edges { node { id } } } } }`, { id: workshop.id });
    const first = await live.next();
    expect(codesOf(first)).toEqual(['FORBIDDEN']);
    expect(first.data?.workshopChanged).toMatchObject({ id: workshop.id, enrollments: null });
  });
});

describe('live subscription bounds and shutdown', () => {
  let app: TestApp;
  let server: Server;
  let url: string;
  beforeAll(async () => {
    app = await startTestApp({ env: { LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT: '2' } });
    ({ server, url } = await serve(app));
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await app?.close();
  });

  it('bounds open subscriptions per client: one more is RATE_LIMITED until one closes; other clients are unaffected', async () => {
    const workshop = await createWorkshop(app);
    const held = [await subscribe(url, FOLLOW, { id: workshop.id }), await subscribe(url, FOLLOW, { id: workshop.id })];
    for (const subscription of held) await subscription.next();
    const refused = await subscribe(url, FOLLOW, { id: workshop.id });
    const answer = await refused.next();
    expect(codesOf(answer)).toEqual(['RATE_LIMITED']);
    expect(answer.errors![0]!.message).toMatch(/At most 2 live subscriptions/);
    // An editor key is another client.
    const editor = await subscribe(url, FOLLOW, { id: workshop.id }, { authorization: `Bearer ${app.keys.editor}` });
    expect(dataOf(await editor.next()).workshopChanged.id).toBe(workshop.id);
    held[0]!.close();
    // The server notices the closed connection; a new subscription is then accepted.
    let again: SseSubscription | undefined;
    for (let attempt = 0; attempt < 50 && !again; attempt++) {
      const candidate = await subscribe(url, FOLLOW, { id: workshop.id });
      const event = await candidate.next();
      if (event.data?.workshopChanged) again = candidate;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(again).toBeDefined();
    for (const subscription of [...held, again!, editor]) subscription.close();
  });

  it('rides on the write paths: a change made through a service (no mutation) is delivered too', async () => {
    const workshop = await createWorkshop(app, { capacity: 4 });
    const live = await subscribe(url, FOLLOW, { id: workshop.id }, { authorization: `Bearer ${app.keys.admin}` });
    expect(dataOf(await live.next()).workshopChanged.seatsLeft).toBe(4);
    await app.database.prisma.workshop.update({ where: { id: decodeGlobalId(workshop.id).id }, data: { capacity: 6 } });
    // A write outside the services publishes nothing; the next service write delivers the workshop as it is then.
    dataOf(await enroll(app, workshop.id, email()));
    expect(dataOf(await live.next()).workshopChanged.seatsLeft).toBe(5);
    live.close();
  });
});
