import { builder } from '../../builder.js';
import type { Prisma, Question, Questionnaire, QuestionnaireResponse } from '../../generated/prisma/client.js';
import { LocaleEnum } from '../../shared/locale-enum.js';
import { localized } from '../../shared/locale.js';
import { assertPageSize, encodeCursor, keysetPage, NEWEST_FIRST, resolveCursorConnection, resolveTotalCount, type KeysetOrder } from '../../shared/pagination.js';
import { isWithheld } from '../auth/group-size.js';
import { isEditor, MATCH_NOTHING } from '../auth/principal.js';
import { SubscriberRef } from '../subscribers/subscriber.schema.js';
import { WorkshopRef } from '../workshops/workshop.schema.js';
import { optionsOf, type StoredOption } from './answer-validation.js';
import { LATEST_TEXT_ANSWERS } from './questionnaire-loaders.js';
import { workshopVisibility } from '../workshops/workshop-visibility.js';
import { PUBLIC_QUESTIONNAIRE_STATUSES, visibleQuestionnaireWhere } from './questionnaires-service.js';

export const QuestionnaireKindEnum = builder.enumType('QuestionnaireKind', { values: ['PRE_WORKSHOP', 'POST_WORKSHOP', 'STANDALONE'] as const });
const QuestionnaireStatusEnum = builder.enumType('QuestionnaireStatus', { values: ['DRAFT', 'OPEN', 'CLOSED'] as const });
export const QuestionTypeEnum = builder.enumType('QuestionType', {
  values: {
    SINGLE_CHOICE: {},
    MULTIPLE_CHOICE: {},
    TEXT: {},
    RATING: { description: '1 to 5' },
    NPS: { description: '0 to 10; promoters 9–10, detractors 0–6' },
  } as const,
});

const QuestionOptionRef = builder.objectRef<StoredOption>('QuestionOption').implement({
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Stable; answers refer to it.' }),
    label: t.string({ args: { locale: t.arg({ type: LocaleEnum }) }, resolve: (o, args, ctx) => localized(args.locale ?? ctx.locale, o.labelEn, o.labelPl) }),
  }),
});

export const QuestionRef = builder.prismaNode('Question', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, questionnaire: { is: visibleQuestionnaireWhere(ctx.principal) } }),
  fields: (t) => ({
    position: t.exposeInt('position', { description: 'From 0.' }),
    type: t.expose('type', { type: QuestionTypeEnum }),
    prompt: t.string({ args: { locale: t.arg({ type: LocaleEnum }) }, resolve: (q, args, ctx) => localized(args.locale ?? ctx.locale, q.promptEn, q.promptPl) }),
    required: t.exposeBoolean('required'),
    options: t.field({ type: [QuestionOptionRef], resolve: (q) => optionsOf(q) }),
  }),
});

export const QuestionnaireRef = builder.prismaNode('Questionnaire', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, AND: [visibleQuestionnaireWhere(ctx.principal)] }),
  fields: (t) => ({
    kind: t.expose('kind', { type: QuestionnaireKindEnum }),
    status: t.expose('status', { type: QuestionnaireStatusEnum }),
    title: t.string({ args: { locale: t.arg({ type: LocaleEnum }) }, resolve: (q, args, ctx) => localized(args.locale ?? ctx.locale, q.titleEn, q.titlePl) }),
    intro: t.string({
      nullable: true,
      args: { locale: t.arg({ type: LocaleEnum }) },
      resolve: (q, args, ctx) => (q.introEn ? localized(args.locale ?? ctx.locale, q.introEn, q.introPl) : null),
    }),
    opensAt: t.expose('opensAt', { type: 'DateTime', nullable: true }),
    closesAt: t.expose('closesAt', { type: 'DateTime', nullable: true }),
    allowAnonymous: t.exposeBoolean('allowAnonymous'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    workshop: t.field({
      type: WorkshopRef,
      nullable: true,
      resolve: async (q, _args, ctx) => (q.workshopId ? workshopVisibility(ctx.principal).visible(await ctx.loaders.workshops.byId.load(q.workshopId)) : null),
    }),
    questions: t.field({ type: [QuestionRef], resolve: (q, _args, ctx) => ctx.loaders.questionnaires.questions.load(q.id) }),
    responseCount: t.int({ resolve: (q, _args, ctx) => ctx.loaders.questionnaires.responseCount.load(q.id) }),
    summary: t.field({
      type: [QuestionSummaryRef],
      description: 'Per-question figures, computed in SQL. For all but editors, the figures of a question fewer than SUMMARY_MIN_GROUP_SIZE people answered (default 5) are withheld (`withheld`).',
      complexity: 20,
      resolve: async (q, _args, ctx) => {
        const [questions, figures, options] = await Promise.all([
          ctx.loaders.questionnaires.questions.load(q.id),
          ctx.loaders.questionnaires.figures.load(q.id),
          ctx.loaders.questionnaires.optionCounts.load(q.id),
        ]);
        return questions.map((question): QuestionSummaryShape => {
          const row = figures.find((f) => f.questionId === question.id);
          const answerCount = row?.answerCount ?? 0;
          if (isWithheld(ctx, answerCount)) return { question, answerCount, withheld: true, averageRating: null, npsScore: null, optionCounts: [] };
          return {
            question,
            answerCount,
            withheld: false,
            averageRating: question.type === 'RATING' || question.type === 'NPS' ? (row?.averageRating ?? null) : null,
            npsScore:
              question.type === 'NPS' && row?.npsAnswers ? Math.round((1000 * (row.promoters - row.detractors)) / row.npsAnswers) / 10 : null,
            optionCounts: optionsOf(question).map((option) => ({
              option,
              count: options.find((o) => o.questionId === question.id && o.key === option.key)?.count ?? 0,
            })),
          };
        });
      },
    }),
  }),
});

interface QuestionSummaryShape {
  question: Question;
  answerCount: number;
  withheld: boolean;
  averageRating: number | null;
  npsScore: number | null;
  optionCounts: { option: StoredOption; count: number }[];
}

const OptionCountRef = builder.objectRef<{ option: StoredOption; count: number }>('OptionCount').implement({
  fields: (t) => ({
    option: t.field({ type: QuestionOptionRef, resolve: (c) => c.option }),
    count: t.exposeInt('count'),
  }),
});

const TextAnswerRef = builder.objectRef<{ text: string; submittedAt: Date }>('TextAnswer').implement({
  fields: (t) => ({ text: t.exposeString('text'), submittedAt: t.expose('submittedAt', { type: 'DateTime' }) }),
});

const QuestionSummaryRef = builder.objectRef<QuestionSummaryShape>('QuestionSummary').implement({
  fields: (t) => ({
    question: t.field({ type: QuestionRef, resolve: (s) => s.question }),
    answerCount: t.exposeInt('answerCount'),
    withheld: t.exposeBoolean('withheld', {
      description: 'True when fewer than SUMMARY_MIN_GROUP_SIZE people answered and the caller is not an editor: optionCounts is empty, averageRating and npsScore null.',
    }),
    optionCounts: t.field({ type: [OptionCountRef], resolve: (s) => s.optionCounts, description: 'Choice questions: answers per option.' }),
    averageRating: t.exposeFloat('averageRating', { nullable: true, description: 'RATING and NPS questions.' }),
    npsScore: t.exposeFloat('npsScore', { nullable: true, description: 'NPS questions: % promoters − % detractors, −100 to 100, one decimal.' }),
    latestTextAnswers: t.field({
      type: [TextAnswerRef],
      nullable: true,
      authScopes: { editor: true },
      description: `TEXT questions: the latest ${LATEST_TEXT_ANSWERS} answers (editors only: answers are personal data).`,
      resolve: async (s, _args, ctx) => {
        if (s.question.type !== 'TEXT') return [];
        const rows = await ctx.loaders.questionnaires.latestTexts.load(s.question.questionnaireId);
        return rows.filter((r) => r.questionId === s.question.id);
      },
    }),
  }),
});

const AnswerRef = builder.objectRef<{ question: Question; value: unknown }>('Answer').implement({
  fields: (t) => ({
    question: t.field({ type: QuestionRef, resolve: (a) => a.question }),
    choice: t.string({ nullable: true, resolve: (a) => (a.question.type === 'SINGLE_CHOICE' ? String(a.value) : null) }),
    choices: t.stringList({ nullable: true, resolve: (a) => (a.question.type === 'MULTIPLE_CHOICE' ? (a.value as string[]) : null) }),
    text: t.string({ nullable: true, resolve: (a) => (a.question.type === 'TEXT' ? String(a.value) : null) }),
    rating: t.int({ nullable: true, resolve: (a) => (a.question.type === 'RATING' || a.question.type === 'NPS' ? Number(a.value) : null) }),
  }),
});

export const QuestionnaireResponseRef = builder.prismaNode('QuestionnaireResponse', {
  id: { field: 'id' },
  nullable: true,
  // Answers are personal data: responses are loaded by id by editors only.
  findUnique: (id, ctx) => (isEditor(ctx.principal) ? { id } : { id, ...MATCH_NOTHING }),
  fields: (t) => ({
    submittedAt: t.expose('submittedAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    completionSeconds: t.exposeInt('completionSeconds', { nullable: true }),
    subscriber: t.field({
      type: SubscriberRef,
      nullable: true,
      authScopes: { editor: true },
      resolve: (r, _args, ctx) => (r.subscriberId ? ctx.loaders.subscribers.byId.load(r.subscriberId) : null),
    }),
    answers: t.field({
      type: [AnswerRef],
      nullable: true,
      authScopes: { editor: true },
      resolve: async (r, _args, ctx) => {
        const questions = await ctx.loaders.questionnaires.questions.load(r.questionnaireId);
        const values = r.answers as Record<string, unknown>;
        return questions.filter((q) => q.id in values).map((question) => ({ question, value: values[question.id] }));
      },
    }),
  }),
});

builder.objectField(QuestionnaireRef, 'responses', (t) =>
  t.connection(
    {
      type: QuestionnaireResponseRef,
      nullable: true,
      authScopes: { editor: true },
      description: 'Newest first (editors only).',
      resolve: async (q, args, ctx) => {
        assertPageSize(args);
        return {
          ...(await resolveCursorConnection<QuestionnaireResponse>(
            { args, toCursor: (r) => encodeCursor(r.submittedAt, r.id) },
            (page) => ctx.loaders.questionnaires.responsePage(page).load(q.id),
          )),
          totalCount: () => ctx.loaders.questionnaires.responseCount.load(q.id),
        };
      },
    },
    { name: 'QuestionnaireResponseConnection', fields: (c) => ({ totalCount: c.int({ resolve: resolveTotalCount }) }) },
  ),
);

const QuestionnaireFilter = builder.inputType('QuestionnaireFilter', {
  fields: (t) => ({
    workshopId: t.globalID({ for: WorkshopRef }),
    status: t.field({ type: QuestionnaireStatusEnum }),
    kind: t.field({ type: QuestionnaireKindEnum }),
  }),
});

const QUESTIONNAIRE_ORDERS = {
  CREATED_AT_DESC: NEWEST_FIRST,
  OPENS_AT_ASC: { field: 'opensAt', direction: 'asc', keyType: 'timestamptz', nullable: true, tag: 'opensAt' },
} satisfies Record<string, KeysetOrder>;

const QuestionnaireOrderEnum = builder.enumType('QuestionnaireOrder', {
  values: {
    CREATED_AT_DESC: { description: 'Newest first (default).' },
    OPENS_AT_ASC: { description: 'Opening soonest first; questionnaires without an opening time last.' },
  } as const,
});

builder.queryFields((t) => ({
  questionnaire: t.prismaField({
    type: 'Questionnaire',
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: QuestionnaireRef }) },
    resolve: (query, _root, { id }, ctx) => ctx.db.questionnaire.findFirst({ ...query, where: { id: id.id, ...visibleQuestionnaireWhere(ctx.principal) } }),
  }),
  questionnaires: t.connection(
    {
      type: QuestionnaireRef,
      description: 'Newest first unless ordered otherwise.',
      args: { filter: t.arg({ type: QuestionnaireFilter }), orderBy: t.arg({ type: QuestionnaireOrderEnum, defaultValue: 'CREATED_AT_DESC' }) },
      resolve: async (_root, args, ctx) => {
        assertPageSize(args);
        const filter = args.filter ?? {};
        const where: Prisma.QuestionnaireWhereInput = {
          AND: [
            visibleQuestionnaireWhere(ctx.principal),
            {
              ...(filter.workshopId ? { workshopId: filter.workshopId.id } : {}),
              ...(filter.kind ? { kind: filter.kind } : {}),
              ...(filter.status ? { status: filter.status } : {}),
            },
          ],
        };
        return {
          ...(await keysetPage<Questionnaire>(args, QUESTIONNAIRE_ORDERS[args.orderBy ?? 'CREATED_AT_DESC'], ({ cursorWhere, orderBy, take }) =>
            ctx.db.questionnaire.findMany({ where: { AND: [where, ...cursorWhere] }, orderBy, take }),
          )),
          totalCount: () => ctx.db.questionnaire.count({ where }),
        };
      },
    },
    { name: 'QuestionnaireConnection', fields: (c) => ({ totalCount: c.int({ resolve: resolveTotalCount }) }) },
  ),
}));

builder.objectField(WorkshopRef, 'questionnaires', (t) =>
  t.field({
    type: [QuestionnaireRef],
    resolve: async (workshop, _args, ctx) => {
      const all = await ctx.loaders.questionnaires.byWorkshop.load(workshop.id);
      return isEditor(ctx.principal) ? all : all.filter((q) => (PUBLIC_QUESTIONNAIRE_STATUSES as readonly string[]).includes(q.status));
    },
  }),
);
