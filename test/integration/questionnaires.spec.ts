import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

const CREATE = `mutation ($input: CreateQuestionnaireInput!) {
  createQuestionnaire(input: $input) { id status questions { id type position } }
}`;
const SUBMIT = `mutation ($input: SubmitResponseInput!) { submitResponse(input: $input) { id } }`;
const SUMMARY = `query ($id: ID!) { questionnaire(id: $id) { responseCount summary {
  question { position } answerCount averageRating npsScore optionCounts { option { key } count } latestTextAnswers { text } } } }`;

const LOOKUPS = `query Lookups($id: ID!, $q: ID!) { questionnaire(id: $id) { id } node(id: $id) { id } question: node(id: $q) { id }
  questionnaires(first: 100, filter: { status: OPEN }) { edges { node { id } } } }`;

const QUESTIONS = [
  { type: 'SINGLE_CHOICE', prompt: { en: 'Level?' }, options: [{ key: 'junior', label: { en: 'Junior' } }, { key: 'senior', label: { en: 'Senior' } }] },
  { type: 'MULTIPLE_CHOICE', prompt: { en: 'Topics?' }, options: [{ key: 'a', label: { en: 'A' } }, { key: 'b', label: { en: 'B' } }, { key: 'c', label: { en: 'C' } }] },
  { type: 'TEXT', prompt: { en: 'Comments?' }, required: false },
  { type: 'RATING', prompt: { en: 'Rating?' } },
  { type: 'NPS', prompt: { en: 'Recommend?' } },
];

interface Made {
  id: string;
  status: string;
  questions: { id: string; type: string }[];
}

describe('questionnaires', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ persisted: { acme: [LOOKUPS] } });
  });
  afterAll(() => app?.close());

  async function make(overrides: Record<string, unknown> = {}, open = true): Promise<Made> {
    const made = dataOf(
      await app.gql(CREATE, { input: { kind: 'POST_WORKSHOP', title: { en: 'Feedback', pl: 'Opinie' }, questions: QUESTIONS, ...overrides } }, { key: app.keys.editor }),
    ).createQuestionnaire;
    if (open) dataOf(await app.gql(`mutation ($id: ID!) { openQuestionnaire(id: $id) { status } }`, { id: made.id }, { key: app.keys.editor }));
    return made;
  }

  const answersFor = (q: Made, values: { single?: string; multi?: string[]; text?: string; rating?: number; nps?: number }) =>
    [
      values.single !== undefined && { questionId: q.questions[0]!.id, choice: values.single },
      values.multi !== undefined && { questionId: q.questions[1]!.id, choices: values.multi },
      values.text !== undefined && { questionId: q.questions[2]!.id, text: values.text },
      values.rating !== undefined && { questionId: q.questions[3]!.id, rating: values.rating },
      values.nps !== undefined && { questionId: q.questions[4]!.id, rating: values.nps },
    ].filter(Boolean);

  const submit = (q: Made, answers: unknown[], extra: Record<string, unknown> = {}) =>
    app.gql(SUBMIT, {
      input: { questionnaireId: q.id, email: `r-${randomBytes(4).toString('hex')}@example.com`, answers, idempotencyKey: randomBytes(8).toString('hex'), ...extra },
    });
  const responses = () => app.database.prisma.questionnaireResponse.count();

  it('lets editors create and open questionnaires; drafts stay hidden from everyone else', async () => {
    const draft = await make({}, false);
    expect(draft.status).toBe('DRAFT');
    expect(draft.questions.map((q) => q.type)).toEqual(QUESTIONS.map((q) => q.type));
    expect(dataOf(await app.gql(`query ($id: ID!) { questionnaire(id: $id) { id } }`, { id: draft.id })).questionnaire).toBeNull();
    expect(codesOf(await app.gql(CREATE, { input: { kind: 'STANDALONE', title: { en: 'x' } } }))).toEqual(['FORBIDDEN']);
    const open = await make();
    const seen = dataOf(await app.gql(`query ($id: ID!) { questionnaire(id: $id) { status title(locale: PL) questions { prompt options { key label } } } }`, { id: open.id }));
    expect(seen.questionnaire).toMatchObject({ status: 'OPEN', title: 'Opinie' });
  });

  const valid = { single: 'senior', multi: ['a', 'c'], text: 'Great', rating: 4, nps: 9 };
  it('hides questionnaires of draft workshops from all but editors, and of deleted workshops from everyone', async () => {
    const draft = await createWorkshop(app, { publish: false });
    const deleted = await createWorkshop(app);
    const draftForm = await make({ workshopId: draft.id, title: { en: `Of a draft ${draft.slug}` } });
    const deletedForm = await make({ workshopId: deleted.id, title: { en: `Of a deleted ${deleted.slug}` } });
    dataOf(await app.gql(`mutation ($id: ID!) { deleteWorkshop(id: $id) { id } }`, { id: deleted.id }, { key: app.keys.editor }));
    const seen = async (form: Made, key?: string) => {
      const data = dataOf(await app.gql(LOOKUPS, { id: form.id, q: form.questions[0]!.id }, { key, persisted: key === app.keys.partner }));
      const listed = data.questionnaires.edges.some((e: { node: { id: string } }) => e.node.id === form.id);
      return [data.questionnaire !== null, data.node !== null, data.question !== null, listed];
    };
    for (const key of [undefined, app.keys.partner]) {
      expect(await seen(draftForm, key)).toEqual([false, false, false, false]);
      expect(await seen(deletedForm, key)).toEqual([false, false, false, false]);
    }
    expect(await seen(draftForm, app.keys.editor)).toEqual([true, true, true, true]);
    expect(await seen(deletedForm, app.keys.editor)).toEqual([false, false, false, false]);
    // Answering one is as for a questionnaire that does not exist.
    expect(codesOf(await submit(draftForm, answersFor(draftForm, valid)))).toEqual(['NOT_FOUND']);
    expect(codesOf(await submit(deletedForm, answersFor(deletedForm, valid)))).toEqual(['NOT_FOUND']);
  });

  it.each([
    ['an unknown question', (q: Made) => [...answersFor(q, valid), { questionId: Buffer.from('Question:00000000-0000-4000-8000-000000000000').toString('base64'), text: 'x' }], 'input.answers.5.questionId'],
    ['a choice that is not an option', (q: Made) => answersFor(q, { ...valid, single: 'expert' }), 'input.answers.0.choice'],
    ['several choices for SINGLE_CHOICE', (q: Made) => [{ questionId: q.questions[0]!.id, choices: ['junior', 'senior'] }, ...answersFor(q, { ...valid, single: undefined })], 'input.answers.0.choice'],
    ['an unknown option among choices', (q: Made) => answersFor(q, { ...valid, multi: ['a', 'z'] }), 'input.answers.1.choices'],
    ['a rating out of range', (q: Made) => answersFor(q, { ...valid, rating: 6 }), 'input.answers.3.rating'],
    ['an NPS out of range', (q: Made) => answersFor(q, { ...valid, nps: 11 }), 'input.answers.4.rating'],
    ['an over-long text', (q: Made) => answersFor(q, { ...valid, text: 'x'.repeat(2001) }), 'input.answers.2.text'],
    ['a missing required answer', (q: Made) => answersFor(q, { ...valid, rating: undefined }), 'input.answers'],
    ['the same question twice', (q: Made) => [...answersFor(q, valid), { questionId: q.questions[3]!.id, rating: 2 }], 'input.answers.5.questionId'],
  ])('rejects %s with BAD_USER_INPUT and stores nothing', async (_case, build, path) => {
    const q = await make();
    const before = await responses();
    const response = await submit(q, build(q));
    expect(codesOf(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors![0]!.extensions!.fields.map((f: { path: string }) => f.path)).toContain(path);
    expect(await responses()).toBe(before);
  });

  it('refuses closed, not-yet-open and anonymous-when-not-allowed submissions, and a second response of a person', async () => {
    const before = await responses();
    const closed = await make();
    dataOf(await app.gql(`mutation ($id: ID!) { closeQuestionnaire(id: $id) { status } }`, { id: closed.id }, { key: app.keys.editor }));
    expect(codesOf(await submit(closed, answersFor(closed, valid)))).toEqual(['CONFLICT']);
    const later = await make({ opensAt: new Date(Date.now() + 86_400_000).toISOString() });
    expect(codesOf(await submit(later, answersFor(later, valid)))).toEqual(['CONFLICT']);
    const named = await make();
    expect(codesOf(await submit(named, answersFor(named, valid), { email: null }))).toEqual(['BAD_USER_INPUT']);
    expect(await responses()).toBe(before);
    dataOf(await submit(named, answersFor(named, valid), { email: 'Once@Example.com' }));
    expect(codesOf(await submit(named, answersFor(named, valid), { email: 'once@example.com' }))).toEqual(['CONFLICT']);
    expect(await responses()).toBe(before + 1);
    const anonymous = await make({ allowAnonymous: true });
    dataOf(await submit(anonymous, answersFor(anonymous, valid), { email: null }));
    dataOf(await submit(anonymous, answersFor(anonymous, valid), { email: null }));
  });

  it('records the completion time from startedAt, refusing a start in the future or over a week ago', async () => {
    const q = await make();
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    expect(codesOf(await submit(q, answersFor(q, valid), { startedAt: ago(-3_600_000) }))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await submit(q, answersFor(q, valid), { startedAt: ago(8 * 86_400_000) }))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await submit(q, answersFor(q, valid), { startedAt: '1900-01-01T00:00:00Z' }))).toEqual(['BAD_USER_INPUT']);
    const id = dataOf(await submit(q, answersFor(q, valid), { startedAt: ago(90_000) })).submitResponse.id;
    const stored = await app.database.prisma.questionnaireResponse.findUniqueOrThrow({ where: { id: Buffer.from(id, 'base64').toString().split(':')[1]! } });
    expect(stored.completionSeconds).toBeGreaterThanOrEqual(89);
    expect(stored.completionSeconds).toBeLessThan(120);
  });

  it('stores one response for a concurrent double submit with the same idempotency key', async () => {
    const q = await make();
    const input = { questionnaireId: q.id, email: 'twice@example.com', answers: answersFor(q, valid), idempotencyKey: randomBytes(8).toString('hex') };
    const [first, second] = await Promise.all([app.gql(SUBMIT, { input }), app.gql(SUBMIT, { input })]);
    expect(dataOf(first).submitResponse.id).toBe(dataOf(second).submitResponse.id);
    const retry = dataOf(await app.gql(SUBMIT, { input })).submitResponse.id;
    expect(retry).toBe(dataOf(first).submitResponse.id);
    expect(dataOf(await app.gql(`query ($id: ID!) { questionnaire(id: $id) { responseCount } }`, { id: q.id })).questionnaire.responseCount).toBe(1);
  });

  it('refuses a retry that reuses an idempotency key for different answers or another person (CONFLICT)', async () => {
    const q = await make();
    const input = { questionnaireId: q.id, email: 'retry@example.com', answers: answersFor(q, valid), idempotencyKey: randomBytes(8).toString('hex') };
    const first = dataOf(await app.gql(SUBMIT, { input })).submitResponse.id;
    expect(codesOf(await app.gql(SUBMIT, { input: { ...input, answers: answersFor(q, { ...valid, rating: 1 }) } }))).toEqual(['CONFLICT']);
    expect(codesOf(await app.gql(SUBMIT, { input: { ...input, email: 'someone-else@example.com' } }))).toEqual(['CONFLICT']);
    // The same submission again (answers in another order, email spelled differently) is a retry.
    const again = { ...input, email: ' Retry@Example.com', answers: [...input.answers].reverse() };
    expect(dataOf(await app.gql(SUBMIT, { input: again })).submitResponse.id).toBe(first);
  });

  it('summarizes a known fixture correctly', async () => {
    const q = await make();
    const fixture = [
      { single: 'senior', multi: ['a', 'b'], text: 'First', rating: 5, nps: 10 },
      { single: 'senior', multi: ['a'], rating: 4, nps: 9 },
      { single: 'junior', multi: ['c'], text: 'Third', rating: 3, nps: 7 },
      { single: 'senior', multi: ['a', 'c'], text: 'Fourth', rating: 2, nps: 3 },
    ];
    for (const values of fixture) dataOf(await submit(q, answersFor(q, values)));
    const { questionnaire } = dataOf(await app.gql(SUMMARY, { id: q.id }, { key: app.keys.editor }));
    expect(questionnaire.responseCount).toBe(4);
    const [single, multi, text, rating, nps] = questionnaire.summary;
    expect(single.optionCounts).toEqual([{ option: { key: 'junior' }, count: 1 }, { option: { key: 'senior' }, count: 3 }]);
    expect(multi.optionCounts.map((o: any) => o.count)).toEqual([3, 1, 2]);
    expect(text).toMatchObject({ answerCount: 3, latestTextAnswers: [{ text: 'Fourth' }, { text: 'Third' }, { text: 'First' }] });
    expect(rating.averageRating).toBe(3.5);
    // promoters 2 (10, 9), detractors 1 (3), of 4: 50 % − 25 %
    expect(nps).toMatchObject({ npsScore: 25, averageRating: 7.25, answerCount: 4 });
  });

  it('keeps answers and emails from anonymous callers and partners', async () => {
    const q = await make();
    dataOf(await submit(q, answersFor(q, valid), { email: 'secret@example.com' }));
    const query = `query ($id: ID!) { questionnaire(id: $id) { summary { latestTextAnswers { text } } responses(first: 5) { edges { node { subscriber { email } answers { text } } } } } }`;
    const anonymous = await app.gql(query, { id: q.id });
    expect(codesOf(anonymous)).toContain('FORBIDDEN');
    expect(JSON.stringify(anonymous.data)).not.toMatch(/secret@|Great/);
    const editor = dataOf(await app.gql(query, { id: q.id }, { key: app.keys.editor }));
    expect(JSON.stringify(editor)).toContain('secret@example.com');
  });

  it('computes summaries and response pages for a page of questionnaires in a constant number of statements', async () => {
    const tag = randomBytes(3).toString('hex');
    const made: Made[] = [];
    for (let i = 0; i < 10; i++) {
      const q = await make({ title: { en: `Batch ${tag} ${i}` } });
      dataOf(await submit(q, answersFor(q, valid)));
      made.push(q);
    }
    const page = `query ($first: Int!) { questionnaires(first: $first, filter: { status: OPEN }) { edges { node { title responseCount questions { type }
      summary { answerCount averageRating npsScore optionCounts { count } latestTextAnswers { text } }
      responses(first: 2) { totalCount edges { node { submittedAt subscriber { email } answers { text } } } } } } } }`;
    await app.gql('{ __typename }', {}, { key: app.keys.editor });
    let result: any;
    const count = async (first: number) => {
      app.cache.clearLocal();
      return (await app.statementsDuring(async () => (result = dataOf(await app.gql(page, { first }, { key: app.keys.editor }))))).length;
    };
    const small = await count(2);
    const large = await count(10);
    expect(large).toBe(small);
    expect(large).toBeLessThanOrEqual(9);
    const responses = result.questionnaires.edges.map((e: any) => e.node.responses);
    expect(responses.every((r: any) => r.totalCount === 1 && r.edges.length === 1)).toBe(true);
    expect(responses[0].edges[0].node.subscriber.email).toMatch(/@example\.com$/);
    expect(responses[0].edges[0].node.answers.some((a: any) => a.text === 'Great')).toBe(true);
  });

  it('protects answered questions from type changes and option removal, and validates reordering', async () => {
    const q = await make();
    dataOf(await submit(q, answersFor(q, valid)));
    const update = `mutation ($id: ID!, $input: QuestionInput!) { updateQuestion(id: $id, input: $input) { id } }`;
    const single = q.questions[0]!.id;
    expect(codesOf(await app.gql(update, { id: single, input: { type: 'TEXT', prompt: { en: 'x' } } }, { key: app.keys.editor }))).toEqual(['CONFLICT']);
    const onlyJunior = { type: 'SINGLE_CHOICE', prompt: { en: 'Level?' }, options: [{ key: 'junior', label: { en: 'J' } }, { key: 'mid', label: { en: 'M' } }] };
    expect(codesOf(await app.gql(update, { id: single, input: onlyJunior }, { key: app.keys.editor }))).toEqual(['CONFLICT']);
    const relabel = { ...onlyJunior, options: [...onlyJunior.options, { key: 'senior', label: { en: 'Senior dev' } }] };
    expect(codesOf(await app.gql(update, { id: single, input: relabel }, { key: app.keys.editor }))).toEqual([]);
    expect(codesOf(await app.gql(`mutation ($id: ID!) { removeQuestion(id: $id) { id } }`, { id: single }, { key: app.keys.editor }))).toEqual(['CONFLICT']);

    const reorder = `mutation ($id: ID!, $ids: [ID!]!) { reorderQuestions(questionnaireId: $id, questionIds: $ids) { questions { type } } }`;
    const reversed = [...q.questions].reverse().map((x) => x.id);
    expect(dataOf(await app.gql(reorder, { id: q.id, ids: reversed }, { key: app.keys.editor })).reorderQuestions.questions.map((x: any) => x.type)).toEqual(
      [...QUESTIONS].reverse().map((x) => x.type),
    );
    expect(codesOf(await app.gql(reorder, { id: q.id, ids: reversed.slice(1) }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
  });
});
