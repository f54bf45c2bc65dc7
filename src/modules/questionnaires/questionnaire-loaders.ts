import DataLoader from 'dataloader';
import { Prisma, type Question, type Questionnaire, type QuestionnaireResponse } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/db.js';
import { groupByKey } from '../../shared/pagination.js';
import { loadWindowedPages, windowedPageLoaders, type WindowedPageArgs, type WindowedPageSpec } from '../../shared/windowed-pages.js';

export interface QuestionSummaryRow {
  questionId: string;
  answerCount: number;
  averageRating: number | null;
  promoters: number;
  detractors: number;
  npsAnswers: number;
}

export interface OptionCountRow {
  questionId: string;
  key: string;
  count: number;
}

export interface TextAnswerRow {
  questionId: string;
  text: string;
  submittedAt: Date;
}

const RESPONSE_PAGES: WindowedPageSpec = {
  table: 'questionnaire_responses',
  parent: 'questionnaire_id',
  key: 'submitted_at',
  newestFirst: true,
  columns: Prisma.sql`id, questionnaire_id AS "questionnaireId", subscriber_id AS "subscriberId", answers, started_at AS "startedAt",
    submitted_at AS "submittedAt", completion_seconds AS "completionSeconds", idempotency_key AS "idempotencyKey"`,
};

/** How many of the latest text answers a summary shows. */
export const LATEST_TEXT_ANSWERS = 3;

/**
 * Per-request loaders. Summaries are computed in SQL, one statement per kind of figure for all the
 * questionnaires on a page: numeric figures, option counts, and (only when asked for) latest texts.
 * CASE guards the casts: SQL does not promise to evaluate a filter before an aggregate's argument.
 */
export function createQuestionnaireLoaders(db: Db) {
  return {
    byWorkshop: new DataLoader<string, Questionnaire[]>(async (ids) => {
      const rows = await db.questionnaire.findMany({ where: { workshopId: { in: [...ids] } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
      return groupByKey(ids, rows, (q) => q.workshopId);
    }),

    questions: new DataLoader<string, Question[]>(async (ids) => {
      const rows = await db.question.findMany({ where: { questionnaireId: { in: [...ids] } }, orderBy: [{ questionnaireId: 'asc' }, { position: 'asc' }] });
      return groupByKey(ids, rows, (q) => q.questionnaireId);
    }),

    /** A page of each questionnaire's responses, newest first: one statement for the whole parent page. */
    responsePage: windowedPageLoaders<WindowedPageArgs, QuestionnaireResponse[]>((questionnaireIds, page) =>
      loadWindowedPages<QuestionnaireResponse>(db, RESPONSE_PAGES, questionnaireIds, page, [], (r) => r.questionnaireId),
    ),

    responseCount: new DataLoader<string, number>(async (ids) => {
      const rows = await db.questionnaireResponse.groupBy({ by: ['questionnaireId'], where: { questionnaireId: { in: [...ids] } }, _count: { _all: true } });
      const counts = new Map(rows.map((r) => [r.questionnaireId, r._count._all]));
      return ids.map((id) => counts.get(id) ?? 0);
    }),

    figures: new DataLoader<string, QuestionSummaryRow[]>(async (ids) => {
      const rows = await db.$queryRaw<(QuestionSummaryRow & { questionnaireId: string })[]>`
        SELECT q.questionnaire_id AS "questionnaireId", q.id AS "questionId",
               count(r.id) FILTER (WHERE r.answers ? q.id::text)::int AS "answerCount",
               avg(CASE WHEN q.type IN ('RATING', 'NPS') THEN (r.answers ->> q.id::text)::numeric END)::float8 AS "averageRating",
               count(*) FILTER (WHERE (CASE WHEN q.type = 'NPS' THEN (r.answers ->> q.id::text)::int END) >= 9)::int AS promoters,
               count(*) FILTER (WHERE (CASE WHEN q.type = 'NPS' THEN (r.answers ->> q.id::text)::int END) <= 6)::int AS detractors,
               count(*) FILTER (WHERE q.type = 'NPS' AND r.answers ? q.id::text)::int AS "npsAnswers"
        FROM questions q
        LEFT JOIN questionnaire_responses r ON r.questionnaire_id = q.questionnaire_id
        WHERE q.questionnaire_id = ANY(${[...ids]}::uuid[])
        GROUP BY q.questionnaire_id, q.id`;
      return groupByKey(ids, rows, (r) => r.questionnaireId);
    }),

    optionCounts: new DataLoader<string, OptionCountRow[]>(async (ids) => {
      const rows = await db.$queryRaw<(OptionCountRow & { questionnaireId: string })[]>`
        SELECT q.questionnaire_id AS "questionnaireId", q.id AS "questionId", chosen.key, count(*)::int AS count
        FROM questions q
        JOIN questionnaire_responses r ON r.questionnaire_id = q.questionnaire_id
        CROSS JOIN LATERAL jsonb_array_elements_text(
          CASE WHEN q.type = 'MULTIPLE_CHOICE' AND jsonb_typeof(r.answers -> q.id::text) = 'array' THEN r.answers -> q.id::text
               WHEN q.type = 'SINGLE_CHOICE' AND r.answers ? q.id::text THEN jsonb_build_array(r.answers -> q.id::text)
               ELSE '[]'::jsonb END) AS chosen(key)
        WHERE q.questionnaire_id = ANY(${[...ids]}::uuid[]) AND q.type IN ('SINGLE_CHOICE', 'MULTIPLE_CHOICE')
        GROUP BY q.questionnaire_id, q.id, chosen.key`;
      return groupByKey(ids, rows, (r) => r.questionnaireId);
    }),

    latestTexts: new DataLoader<string, TextAnswerRow[]>(async (ids) => {
      const rows = await db.$queryRaw<(TextAnswerRow & { questionnaireId: string })[]>`
        SELECT "questionnaireId", "questionId", text, "submittedAt" FROM (
          SELECT q.questionnaire_id AS "questionnaireId", q.id AS "questionId", r.answers ->> q.id::text AS text,
                 r.submitted_at AS "submittedAt",
                 row_number() OVER (PARTITION BY q.id ORDER BY r.submitted_at DESC, r.id DESC) AS position
          FROM questions q
          JOIN questionnaire_responses r ON r.questionnaire_id = q.questionnaire_id AND r.answers ? q.id::text
          WHERE q.questionnaire_id = ANY(${[...ids]}::uuid[]) AND q.type = 'TEXT'
        ) latest
        WHERE position <= ${LATEST_TEXT_ANSWERS}
        ORDER BY "questionId", "submittedAt" DESC`;
      return groupByKey(ids, rows, (r) => r.questionnaireId);
    }),
  };
}
