import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

const SUMMARY = `query ($id: ID!) { questionnaire(id: $id) { responseCount summary { answerCount withheld averageRating npsScore optionCounts { option { key } count } } } }`;
const STATS = `query ($id: ID!) { workshop(id: $id) { statistics { responses averageRating nps averageCompletionSeconds } } }`;
const QUESTIONS = [
  { type: 'RATING', prompt: { en: 'Rating?' } },
  { type: 'NPS', prompt: { en: 'Recommend?' } },
  { type: 'SINGLE_CHOICE', prompt: { en: 'Level?' }, options: [{ key: 'junior', label: { en: 'Junior' } }, { key: 'senior', label: { en: 'Senior' } }] },
];

/** Figures about fewer than SUMMARY_MIN_GROUP_SIZE people are editors' only: persisted, cached or not. */
describe('minimum group size of questionnaire and workshop figures', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ persisted: { web: [SUMMARY], acme: [SUMMARY, STATS] } });
  });
  afterAll(() => app?.close());

  const form = async (workshopId: string, on = app) => {
    const made = dataOf(
      await on.gql(`mutation ($input: CreateQuestionnaireInput!) { createQuestionnaire(input: $input) { id questions { id } } }`, {
        input: { kind: 'POST_WORKSHOP', workshopId, title: { en: 'Feedback' }, allowAnonymous: true, questions: QUESTIONS },
      }, { key: on.keys.editor }),
    ).createQuestionnaire as { id: string; questions: { id: string }[] };
    dataOf(await on.gql(`mutation ($id: ID!) { openQuestionnaire(id: $id) { id } }`, { id: made.id }, { key: on.keys.editor }));
    return made;
  };
  const respond = async (made: { id: string; questions: { id: string }[] }, rating: number, on = app) =>
    dataOf(
      await on.gql(`mutation ($input: SubmitResponseInput!) { submitResponse(input: $input) { id } }`, {
        input: {
          questionnaireId: made.id,
          startedAt: new Date(Date.now() - 30_000).toISOString(),
          idempotencyKey: randomBytes(8).toString('hex'),
          answers: [{ questionId: made.questions[0]!.id, rating }, { questionId: made.questions[1]!.id, rating: 10 }, { questionId: made.questions[2]!.id, choice: 'senior' }],
        },
      }),
    );
  const withheld = { answerCount: 1, withheld: true, averageRating: null, npsScore: null, optionCounts: [] };

  it('withholds summary figures of fewer than 5 answers from anonymous callers and partners, persisted and cached, not from editors', async () => {
    const { id: workshopId } = await createWorkshop(app);
    const made = await form(workshopId);
    await respond(made, 2);
    // The editor asks first: their answer is cached under their key, and must not reach anyone else.
    const editors = dataOf(await app.gql(SUMMARY, { id: made.id }, { key: app.keys.editor })).questionnaire;
    expect(editors.summary[0]).toMatchObject({ answerCount: 1, withheld: false, averageRating: 2 });
    expect(editors.summary[2].optionCounts).toEqual([{ option: { key: 'junior' }, count: 0 }, { option: { key: 'senior' }, count: 1 }]);
    for (const options of [{}, { persisted: true }, { key: app.keys.partner, persisted: true }, {}]) {
      const seen = dataOf(await app.gql(SUMMARY, { id: made.id }, options)).questionnaire;
      expect({ options, seen }).toEqual({ options, seen: { responseCount: 1, summary: [withheld, withheld, withheld] } });
    }
    // From the fifth response on, everyone sees the figures (the cached withheld answer is invalidated).
    for (const rating of [3, 4, 5, 1]) await respond(made, rating);
    const seen = dataOf(await app.gql(SUMMARY, { id: made.id }, { persisted: true })).questionnaire;
    expect(seen.summary[0]).toEqual({ answerCount: 5, withheld: false, averageRating: 3, npsScore: null, optionCounts: [] });
    expect(seen.summary[1]).toMatchObject({ withheld: false, npsScore: 100 });
  });

  it('withholds the response-based workshop statistics of fewer than 5 responses from partners', async () => {
    const { id: workshopId } = await createWorkshop(app);
    await respond(await form(workshopId), 4);
    dataOf(await app.gql(`mutation { refreshStatistics }`, {}, { key: app.keys.admin }));
    expect(dataOf(await app.gql(STATS, { id: workshopId }, { key: app.keys.editor })).workshop.statistics).toMatchObject({ responses: 1, averageRating: 4, nps: 100 });
    expect(dataOf(await app.gql(STATS, { id: workshopId }, { key: app.keys.partner, persisted: true })).workshop.statistics).toEqual({
      responses: 1,
      averageRating: null,
      nps: null,
      averageCompletionSeconds: null,
    });
  });

  it('takes the minimum from SUMMARY_MIN_GROUP_SIZE', async () => {
    const one = await startTestApp({ env: { SUMMARY_MIN_GROUP_SIZE: '1' } });
    try {
      const made = await form((await createWorkshop(one)).id, one);
      await respond(made, 5, one);
      expect(dataOf(await one.gql(SUMMARY, { id: made.id })).questionnaire.summary[0]).toMatchObject({ withheld: false, averageRating: 5 });
    } finally {
      await one.close();
    }
  });
});
