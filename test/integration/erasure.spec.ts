import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePartitions } from '../../src/modules/analytics/partitions.js';
import { encodeGlobalId } from '../../src/shared/ids.js';
import { dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop, enrollConfirmed } from '../testkit/factories.js';

const DAY = 86_400_000;

/** Erasing a person also erases what they wrote and the link from their analytics events; counts stay. */
describe('erasure', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
    await ensurePartitions(app.database, { from: new Date(Date.now() - 70 * DAY), monthsAhead: 1 });
  });
  afterAll(() => app?.close());

  it('erases free-text answers and unlinks analytics events in every partition, keeping choice and rating answers', async () => {
    const { id: workshopId } = await createWorkshop(app);
    const email = `erase-${randomBytes(4).toString('hex')}@example.com`;
    await enrollConfirmed(app, workshopId, email);
    const form = dataOf(
      await app.gql(`mutation ($input: CreateQuestionnaireInput!) { createQuestionnaire(input: $input) { id questions { id } } }`, {
        input: {
          kind: 'POST_WORKSHOP',
          workshopId,
          title: { en: 'Feedback' },
          questions: [
            { type: 'RATING', prompt: { en: 'Rating?' } },
            { type: 'TEXT', prompt: { en: 'Anything else?' }, required: false },
            { type: 'SINGLE_CHOICE', prompt: { en: 'Level?' }, options: [{ key: 'junior', label: { en: 'Junior' } }, { key: 'senior', label: { en: 'Senior' } }] },
          ],
        },
      }, { key: app.keys.editor }),
    ).createQuestionnaire as { id: string; questions: { id: string }[] };
    const [rating, text, choice] = form.questions.map((q) => q.id);
    const raw = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!;
    dataOf(await app.gql(`mutation ($id: ID!) { openQuestionnaire(id: $id) { id } }`, { id: form.id }, { key: app.keys.editor }));
    dataOf(
      await app.gql(`mutation ($input: SubmitResponseInput!) { submitResponse(input: $input) { id } }`, {
        input: { questionnaireId: form.id, email, idempotencyKey: randomBytes(8).toString('hex'), answers: [{ questionId: rating, rating: 4 }, { questionId: text, text: 'I am Jan Kowalski, call me on 600 100 200' }, { questionId: choice, choice: 'senior' }] },
      }),
    );
    const person = await app.database.prisma.subscriber.findUniqueOrThrow({ where: { email } });
    // An older event of theirs, in last month's partition.
    await app.database.prisma.$executeRaw`
      INSERT INTO analytics.analytics_events (event_id, type, workshop_id, subscriber_id, channel, occurred_at, properties)
      VALUES (${randomUUID()}::uuid, 'WORKSHOP_VIEW', ${Buffer.from(workshopId, 'base64').toString().split(':')[1]}::uuid, ${person.id}::uuid, 'api', now() - interval '40 days', '{}')`;
    const linked = () =>
      app.database.prisma.$queryRaw<{ partition: string }[]>`SELECT tableoid::regclass::text AS partition FROM analytics.analytics_events WHERE subscriber_id = ${person.id}::uuid`;
    expect(new Set((await linked()).map((r) => r.partition)).size).toBeGreaterThanOrEqual(2);
    const events = async () => (await app.database.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM analytics.analytics_events`)[0]!.n;
    const eventsBefore = await events();

    dataOf(await app.gql(`mutation ($id: ID!) { eraseSubscriber(id: $id) { erased } }`, { id: encodeGlobalId('Subscriber', person.id) }, { key: app.keys.admin }));

    const [response] = await app.database.prisma.questionnaireResponse.findMany({ where: { subscriberId: person.id } });
    expect(response!.answers).toEqual({ [raw(rating!)]: 4, [raw(choice!)]: 'senior' });
    expect(JSON.stringify(await app.database.prisma.questionnaireResponse.findMany())).not.toContain('Kowalski');
    expect(await linked()).toEqual([]);
    expect(await events()).toBe(eventsBefore);
    const summary = dataOf(await app.gql(`query ($id: ID!) { questionnaire(id: $id) { responseCount summary { answerCount averageRating } } }`, { id: form.id }, { key: app.keys.editor }));
    expect(summary.questionnaire).toEqual({ responseCount: 1, summary: [{ answerCount: 1, averageRating: 4 }, { answerCount: 0, averageRating: null }, { answerCount: 1, averageRating: null }] });
  });
});
