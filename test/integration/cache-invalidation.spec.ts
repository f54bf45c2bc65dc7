import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/shared/ids.js';
import { dataOf, uniqueSlug, type TestApp } from '../testkit/app.js';
import { createWorkshop, enroll, enrollConfirmed } from '../testkit/factories.js';
import { startInstancePair, type InstancePair } from '../testkit/instance-pair.js';

const DAY = 86_400_000;

/**
 * Every cached list and count follows every write: each test caches a read on instance B (both
 * tiers), writes on instance A, and reads again on B.
 */
describe('response cache invalidation, list by list', () => {
  let pair: InstancePair;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    pair = await startInstancePair('lists');
    ({ a, b } = pair);
  });
  afterAll(() => pair?.close());

  const editor = () => ({ key: a.keys.editor });
  const email = (what: string) => `${what}-${uniqueSlug()}@example.com`;
  const personId = async (address: string) => encodeGlobalId('Subscriber', (await a.database.prisma.subscriber.findUniqueOrThrow({ where: { email: address } })).id);

  const CREATE_FORM = `mutation ($input: CreateQuestionnaireInput!) { createQuestionnaire(input: $input) { id questions { id } } }`;
  async function openForm(): Promise<{ id: string; questionId: string }> {
    const input = { kind: 'STANDALONE', title: { en: 'Form' }, questions: [{ type: 'RATING', prompt: { en: 'Rating?' } }] };
    const made = dataOf(await a.gql(CREATE_FORM, { input }, editor())).createQuestionnaire;
    dataOf(await a.gql(`mutation ($id: ID!) { openQuestionnaire(id: $id) { id } }`, { id: made.id }, editor()));
    return { id: made.id, questionId: made.questions[0].id };
  }
  const submit = (form: { id: string; questionId: string }, address: string) =>
    a.gql(`mutation ($input: SubmitResponseInput!) { submitResponse(input: $input) { id } }`, {
      input: { questionnaireId: form.id, email: address, idempotencyKey: randomBytes(8).toString('hex'), answers: [{ questionId: form.questionId, rating: 4 }] },
    });
  const subscribe = (address: string) =>
    a.gql(`mutation ($input: SubscribeInput!) { subscribe(input: $input) { accepted } }`, { input: { email: address, locale: 'EN', topics: ['graphql'] } });

  it('workshops: a new workshop shows in cached pages and counts', async () => {
    const tag = 'testing';
    const count = async () => dataOf(await b.gql(`query ($tag: String!) { workshops(first: 5, filter: { tag: $tag }) { totalCount } }`, { tag })).workshops.totalCount;
    const before = await count();
    await createWorkshop(a, { tags: [tag] });
    expect(await count()).toBe(before + 1);
  });

  it("enrollments: a workshop's cached counts and enrollment list follow enroll and cancel", async () => {
    const { id } = await createWorkshop(a, { capacity: 1 });
    const q = `query ($id: ID!) { workshop(id: $id) { enrollmentCount waitlistCount seatsLeft enrollments(first: 5) { totalCount } } }`;
    const read = async () => dataOf(await b.gql(q, { id }, editor())).workshop;
    expect(await read()).toEqual({ enrollmentCount: 0, waitlistCount: 0, seatsLeft: 1, enrollments: { totalCount: 0 } });
    const first = await enrollConfirmed(a, id, email('seat'));
    dataOf(await enroll(a, id, email('queue')));
    expect(await read()).toEqual({ enrollmentCount: 1, waitlistCount: 1, seatsLeft: 0, enrollments: { totalCount: 2 } });
    dataOf(await a.gql(`mutation ($id: ID!, $t: String) { cancelEnrollment(id: $id, token: $t) { id } }`, { id: first.enrollment.id, t: first.cancellationToken }));
    expect(await read()).toEqual({ enrollmentCount: 1, waitlistCount: 0, seatsLeft: 0, enrollments: { totalCount: 2 } });
  });

  it('subscribers: everyone new counts, whether they subscribe, enroll or answer a form', async () => {
    const count = async () => dataOf(await b.gql(`{ subscribers(first: 1) { totalCount } }`, {}, editor())).subscribers.totalCount;
    const { id } = await createWorkshop(a);
    const form = await openForm();
    let expected = await count();
    dataOf(await subscribe(email('subscriber')));
    expect(await count()).toBe(++expected);
    dataOf(await enroll(a, id, email('enrollee')));
    expect(await count()).toBe(++expected);
    dataOf(await submit(form, email('respondent')));
    expect(await count()).toBe(++expected);
  });

  it("a person's own lists: their enrollments and responses, even when they were empty", async () => {
    const address = email('person');
    dataOf(await subscribe(address));
    const id = await personId(address);
    const q = `query ($id: ID!) { subscriber(id: $id) { enrollments { status } questionnaireResponses { completionSeconds } } }`;
    const read = async () => dataOf(await b.gql(q, { id }, editor())).subscriber;
    expect(await read()).toEqual({ enrollments: [], questionnaireResponses: [] });
    const workshop = await createWorkshop(a);
    dataOf(await enroll(a, workshop.id, address));
    // Held until they confirm from the mail; their list shows it at once.
    expect((await read()).enrollments).toEqual([{ status: 'PENDING' }]);
    dataOf(await submit(await openForm(), address));
    expect((await read()).questionnaireResponses).toHaveLength(1);
  });

  it('segments: counts by status follow subscribe and confirm', async () => {
    const q = `{ subscriberSegments(groupBy: [STATUS]) { status count } }`;
    const countOf = async (status: string) => dataOf(await b.gql(q, {}, editor())).subscriberSegments.find((s: any) => s.status === status)?.count ?? 0;
    const [pending, active] = [await countOf('PENDING'), await countOf('ACTIVE')];
    const address = email('segment');
    dataOf(await subscribe(address));
    expect(await countOf('PENDING')).toBe(pending + 1);
    const { token } = await a.database.prisma.notification.findFirstOrThrow({ where: { subscriber: { email: address } } });
    dataOf(await a.gql(`mutation ($token: String!) { confirmSubscription(token: $token) { id } }`, { token }));
    expect([await countOf('PENDING'), await countOf('ACTIVE')]).toEqual([pending, active + 1]);
  });

  it('questionnaires: a draft that opens appears in cached lists and lookups, node and nodes alike', async () => {
    const input = { kind: 'STANDALONE', title: { en: 'Soon' }, questions: [{ type: 'RATING', prompt: { en: 'Rating?' } }] };
    const { id } = dataOf(await a.gql(CREATE_FORM, { input }, editor())).createQuestionnaire;
    // One entry per lookup: an entry holding several root fields is evicted through any of them.
    const lookups = [`query ($id: ID!) { node(id: $id) { id } }`, `query ($id: ID!) { nodes(ids: [$id]) { id } }`, `query ($id: ID!) { questionnaire(id: $id) { id } }`];
    const list = `{ questionnaires(first: 100, filter: { status: OPEN }) { edges { node { id } } } }`;
    const read = async () => [...(await Promise.all(lookups.map(async (q) => Object.values(dataOf(await b.gql(q, { id })))[0]))), dataOf(await b.gql(list)).questionnaires.edges.some((e: any) => e.node.id === id)];
    expect(await read()).toEqual([null, [null], null, false]); // drafts are editors' only
    dataOf(await a.gql(`mutation ($id: ID!) { openQuestionnaire(id: $id) { id } }`, { id }, editor()));
    expect(await read()).toEqual([{ id }, [{ id }], { id }, true]);
  });

  it("questionnaires follow their workshop: once it is deleted, cached lists and lookups drop its questionnaire", async () => {
    const workshop = await createWorkshop(a);
    const input = { kind: 'POST_WORKSHOP', workshopId: workshop.id, title: { en: 'Feedback' }, questions: [{ type: 'RATING', prompt: { en: 'Rating?' } }] };
    const { id } = dataOf(await a.gql(CREATE_FORM, { input }, editor())).createQuestionnaire;
    dataOf(await a.gql(`mutation ($id: ID!) { openQuestionnaire(id: $id) { id } }`, { id }, editor()));
    const read = async () => [
      dataOf(await b.gql(`{ questionnaires(first: 100, filter: { status: OPEN }) { edges { node { id } } } }`)).questionnaires.edges.some((e: any) => e.node.id === id),
      dataOf(await b.gql(`query ($id: ID!) { questionnaire(id: $id) { id } }`, { id })).questionnaire,
    ];
    expect(await read()).toEqual([true, { id }]);
    dataOf(await a.gql(`mutation ($id: ID!) { deleteWorkshop(id: $id) { id } }`, { id: workshop.id }, editor()));
    expect(await read()).toEqual([false, null]);
  });

  it('responses: counts and response lists follow submitResponse', async () => {
    const form = await openForm();
    const q = `query ($id: ID!) { questionnaire(id: $id) { responseCount responses(first: 5) { totalCount } } }`;
    const read = async () => dataOf(await b.gql(q, { id: form.id }, editor())).questionnaire;
    expect(await read()).toEqual({ responseCount: 0, responses: { totalCount: 0 } });
    dataOf(await submit(form, email('answer')));
    expect(await read()).toEqual({ responseCount: 1, responses: { totalCount: 1 } });
  });

  it('analytics: a statistics refresh evicts cached dashboards', async () => {
    const range = { from: new Date(Date.now() - DAY).toISOString(), to: new Date(Date.now() + DAY).toISOString() };
    const q = `query ($r: DateRangeInput!) { analytics { overview(range: $r) { enrollments } } }`;
    const read = async () => dataOf(await b.gql(q, { r: range }, editor())).analytics.overview.enrollments;
    const refresh = async () => dataOf(await a.gql(`mutation { refreshStatistics }`, {}, { key: a.keys.admin }));
    await refresh();
    const before = await read();
    const { id } = await createWorkshop(a);
    await enrollConfirmed(a, id, email('stats'));
    expect(await read()).toBe(before); // statistics change on refresh, not per write
    await refresh();
    expect(await read()).toBe(before + 1);
  });
});
