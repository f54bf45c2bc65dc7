import { z } from 'zod';
import { withDefault } from '../../shared/validation.js';

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const localized = (max: number) => z.object({ en: text(max), pl: text(max).nullish() });

export const QUESTION_TYPES = ['SINGLE_CHOICE', 'MULTIPLE_CHOICE', 'TEXT', 'RATING', 'NPS'] as const;
export type QuestionTypeName = (typeof QUESTION_TYPES)[number];
export const CHOICE_TYPES: readonly QuestionTypeName[] = ['SINGLE_CHOICE', 'MULTIPLE_CHOICE'];

/** Longest accepted text answer. */
export const MAX_TEXT_ANSWER = 2_000;

const option = z.object({
  key: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'must be 1–40 lower-case letters, digits, "_" or "-"'),
  label: localized(200),
});

export const questionInput = z
  .object({
    type: z.enum(QUESTION_TYPES),
    prompt: localized(500),
    options: withDefault(z.array(option).max(30, 'at most 30 options'), []),
    required: withDefault(z.boolean(), true),
  })
  .superRefine((q, ctx) => {
    const choice = CHOICE_TYPES.includes(q.type);
    if (choice && q.options.length < 2) ctx.addIssue({ code: 'custom', path: ['options'], message: 'choice questions need at least 2 options' });
    if (!choice && q.options.length > 0) ctx.addIssue({ code: 'custom', path: ['options'], message: `${q.type} questions take no options` });
    const keys = q.options.map((o) => o.key);
    if (new Set(keys).size !== keys.length) ctx.addIssue({ code: 'custom', path: ['options'], message: 'option keys must be unique' });
  });

export type QuestionInput = z.output<typeof questionInput>;

const questionnaireFields = {
  kind: z.enum(['PRE_WORKSHOP', 'POST_WORKSHOP', 'STANDALONE']),
  title: localized(200),
  intro: localized(5_000).nullish(),
  opensAt: z.date().nullish(),
  closesAt: z.date().nullish(),
  allowAnonymous: z.boolean(),
};

const window = <T extends { opensAt?: Date | null; closesAt?: Date | null }>(q: T) => !q.opensAt || !q.closesAt || q.opensAt < q.closesAt;

export const createQuestionnaireInput = z
  .object({
    ...questionnaireFields,
    allowAnonymous: withDefault(z.boolean(), false),
    workshopId: z.string().nullish(),
    questions: withDefault(z.array(questionInput).max(100), []),
  })
  .refine(window, { path: ['closesAt'], message: 'must be after opensAt' });

export const updateQuestionnaireInput = z
  .object(questionnaireFields)
  .partial()
  .refine(window, { path: ['closesAt'], message: 'must be after opensAt' });

export const answerInput = z.object({
  questionId: z.string(),
  choice: z.string().nullish(),
  choices: z.array(z.string()).max(30).nullish(),
  text: z.string().nullish(),
  rating: z.number().int().nullish(),
});

export const submitResponseInput = z.object({
  questionnaireId: z.string(),
  email: z
    .string()
    .trim()
    .max(254)
    .pipe(z.email({ error: 'must be a valid email address' }))
    .transform((e) => e.toLowerCase())
    .nullish(),
  answers: z.array(answerInput).max(100, 'at most 100 answers'),
  startedAt: z.date().nullish(),
  idempotencyKey: z.string().trim().min(8, 'must be at least 8 characters').max(100, 'must be at most 100 characters'),
});

export type SubmitResponseInput = z.output<typeof submitResponseInput>;
