import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';

const CREATE = `mutation ($input: CreateQuestionnaireInput!) { createQuestionnaire(input: $input) { id questions { id } } }`;
const ADD = `mutation ($id: ID!, $input: QuestionInput!, $position: Int) { addQuestion(questionnaireId: $id, input: $input, position: $position) { id } }`;
const REORDER = `mutation ($id: ID!, $ids: [ID!]!) { reorderQuestions(questionnaireId: $id, questionIds: $ids) { id } }`;
const REMOVE = `mutation ($id: ID!) { removeQuestion(id: $id) { id } }`;
const UPDATE = `mutation ($id: ID!, $input: QuestionInput!) { updateQuestion(id: $id, input: $input) { id } }`;
const SUBMIT = `mutation ($input: SubmitResponseInput!) { submitResponse(input: $input) { id } }`;
const rating = (en: string) => ({ type: 'RATING', prompt: { en }, required: false });

/** Concurrent editor writes to one questionnaire's questions are serialized: positions stay 0…n-1, answered questions stay. */
describe('question positions under concurrent edits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app?.close());

  const editor = (query: string, variables: Record<string, unknown>) => app.gql(query, variables, { key: app.keys.editor });
  const make = async (questions = 1) =>
    dataOf(await editor(CREATE, { input: { kind: 'STANDALONE', title: { en: 'Order' }, allowAnonymous: true, questions: Array.from({ length: questions }, (_, i) => rating(`Q${i}`)) } })).createQuestionnaire as {
      id: string;
      questions: { id: string }[];
    };
  const positions = async (globalId: string) => {
    const id = Buffer.from(globalId, 'base64').toString().split(':')[1]!;
    return (await app.database.prisma.question.findMany({ where: { questionnaireId: id }, orderBy: { position: 'asc' }, select: { position: true } })).map((q) => q.position);
  };

  it('gives concurrent addQuestion calls distinct positions 0…n-1', async () => {
    const form = await make();
    const added = await Promise.all(Array.from({ length: 8 }, (_, i) => editor(ADD, { id: form.id, input: rating(`added ${i}`), position: i % 2 ? 0 : null })));
    expect(added.flatMap(codesOf)).toEqual([]);
    expect(await positions(form.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('keeps positions 0…n-1 when reorders, additions and removals race', async () => {
    const form = await make(4);
    const ids = form.questions.map((q) => q.id);
    const results = await Promise.all([
      editor(REORDER, { id: form.id, ids: [...ids].reverse() }),
      editor(ADD, { id: form.id, input: rating('late'), position: 1 }),
      editor(REMOVE, { id: ids[2] }),
      editor(REORDER, { id: form.id, ids }),
      editor(ADD, { id: form.id, input: rating('later'), position: 0 }),
    ]);
    // A reorder listing a question added or removed meanwhile is refused (its list is out of date); nothing else.
    expect(results.flatMap(codesOf).every((code) => code === 'BAD_USER_INPUT')).toBe(true);
    const after = await positions(form.id);
    expect(after).toEqual(after.map((_, i) => i));
    expect(after).toHaveLength(5);
  });

  it('never removes a question, or changes its type, while a response answering it is stored', async () => {
    for (let round = 0; round < 6; round++) {
      const form = await make(2);
      dataOf(await editor(`mutation ($id: ID!) { openQuestionnaire(id: $id) { id } }`, { id: form.id }));
      const answered = form.questions[0]!.id;
      const submit = app.gql(SUBMIT, { input: { questionnaireId: form.id, answers: [{ questionId: answered, rating: 4 }], idempotencyKey: randomBytes(8).toString('hex') } });
      const change = round % 2 ? editor(REMOVE, { id: answered }) : editor(UPDATE, { id: answered, input: { type: 'TEXT', prompt: { en: 'Now text' }, required: false } });
      const [submitted, changed] = await Promise.all([submit, change]);
      const stored = codesOf(submitted).length === 0;
      // Either the response came first (the change is CONFLICT) or the change did (the answer no longer fits).
      expect({ round, stored, change: codesOf(changed) }).toEqual({ round, stored, change: stored ? ['CONFLICT'] : [] });
      if (!stored) expect(codesOf(submitted)).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('refuses a duplicate position in the database itself (unique, checked at commit)', async () => {
    const form = await make(2);
    const id = Buffer.from(form.id, 'base64').toString().split(':')[1]!;
    await expect(app.database.prisma.$executeRaw`UPDATE questions SET position = 0 WHERE questionnaire_id = ${id}::uuid`).rejects.toThrow(/unique|duplicate/i);
    // Deferred: passing through a duplicate inside one transaction is fine.
    await app.database.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE questions SET position = 0 WHERE questionnaire_id = ${id}::uuid AND position = 1`;
      await tx.$executeRaw`UPDATE questions SET position = 1 WHERE questionnaire_id = ${id}::uuid AND id = (SELECT id FROM questions WHERE questionnaire_id = ${id}::uuid ORDER BY created_at, id LIMIT 1)`;
    });
    expect((await positions(form.id)).sort()).toEqual([0, 1]);
  });
});
