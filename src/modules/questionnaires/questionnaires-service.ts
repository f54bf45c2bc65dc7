import { Prisma, type Question, type Questionnaire } from '../../generated/prisma/client.js';
import { recordRevision } from '../audit/revisions.js';
import type { CacheInvalidator } from '../../infra/cache/two-tier-cache.js';
import type { Db } from '../../infra/db.js';

/** A Prisma client or the transaction one (`$transaction`'s callback argument). */
type Tx = Prisma.TransactionClient;
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { cacheEntity, decodeGlobalId } from '../../shared/ids.js';
import { parseInput } from '../../shared/validation.js';
import { isEditor, type Principal } from '../auth/principal.js';
import { workshopVisibility } from '../workshops/workshop-visibility.js';
import { requireEditor } from '../workshops/workshops-service.js';
import { optionsOf } from './answer-validation.js';
import { createQuestionnaireInput, questionInput, updateQuestionnaireInput, type QuestionInput } from './questionnaire-inputs.js';

/** The statuses in which non-editors see a questionnaire. */
export const PUBLIC_QUESTIONNAIRE_STATUSES = ['OPEN', 'CLOSED'] as const;

/**
 * A questionnaire follows its workshop's visibility (none, or one the caller may see: see
 * workshopVisibility); non-editors see it once it is open (and after it closes), drafts are editors' only.
 */
export function visibleQuestionnaireWhere(principal: Principal): Prisma.QuestionnaireWhereInput {
  const ofVisibleWorkshop: Prisma.QuestionnaireWhereInput = { OR: [{ workshopId: null }, { workshop: { is: workshopVisibility(principal).where } }] };
  return { AND: [ofVisibleWorkshop, ...(isEditor(principal) ? [] : [{ status: { in: [...PUBLIC_QUESTIONNAIRE_STATUSES] } }])] };
}

function questionData(q: QuestionInput, position: number) {
  return {
    position,
    type: q.type,
    promptEn: q.prompt.en,
    promptPl: q.prompt.pl ?? null,
    options: q.options.map((o) => ({ key: o.key, labelEn: o.label.en, labelPl: o.label.pl ?? null })),
    required: q.required,
  };
}

export class QuestionnairesService {
  constructor(
    private readonly db: Db,
    private readonly cache: CacheInvalidator,
  ) {}

  private invalidate(questionnaireId: string) {
    return this.cache.invalidate([
      cacheEntity('Questionnaire', questionnaireId),
      { typename: 'Question' },
      { typename: 'Query.questionnaires' },
      { typename: 'Query.questionnaire' },
      { typename: 'Query.node' },
      { typename: 'Query.nodes' },
      { typename: 'Workshop' },
    ]);
  }

  async create(principal: Principal, raw: unknown): Promise<Questionnaire> {
    requireEditor(principal);
    const input = parseInput(createQuestionnaireInput, raw);
    let workshopId: string | null = null;
    if (input.workshopId) {
      const decoded = decodeGlobalId(input.workshopId);
      if (decoded.typename !== 'Workshop') throw new ValidationError('workshopId is not a workshop id', [{ path: 'input.workshopId', message: 'is not a workshop id' }]);
      const workshop = await this.db.workshop.findFirst({ where: { id: decoded.id, ...workshopVisibility(principal).where }, select: { id: true } });
      if (!workshop) throw new NotFoundError('Workshop');
      workshopId = workshop.id;
    }
    const questionnaire = await this.db.$transaction(async (tx) => {
      const created = await tx.questionnaire.create({
      include: { questions: true },
      data: {
        workshopId,
        kind: input.kind,
        titleEn: input.title.en,
        titlePl: input.title.pl ?? null,
        introEn: input.intro?.en ?? null,
        introPl: input.intro?.pl ?? null,
        opensAt: input.opensAt ?? null,
        closesAt: input.closesAt ?? null,
        allowAnonymous: input.allowAnonymous,
        questions: { create: input.questions.map(questionData) },
      },
      });
      const { questions, ...row } = created;
      await recordRevision(tx, principal, { type: 'Questionnaire', id: row.id, action: 'CREATE', before: null, after: row });
      for (const question of questions) {
        await recordRevision(tx, principal, { type: 'Question', id: question.id, root: { type: 'Questionnaire', id: row.id }, action: 'CREATE', before: null, after: question });
      }
      return row;
    });
    await this.invalidate(questionnaire.id);
    return questionnaire;
  }

  async update(principal: Principal, id: string, raw: unknown): Promise<Questionnaire> {
    requireEditor(principal);
    const input = parseInput(updateQuestionnaireInput, raw);
    const current = await this.require(id);
    const opensAt = input.opensAt === undefined ? current.opensAt : input.opensAt;
    const closesAt = input.closesAt === undefined ? current.closesAt : input.closesAt;
    if (opensAt && closesAt && opensAt >= closesAt) {
      throw new ValidationError('closesAt must be after opensAt', [{ path: 'input.closesAt', message: 'must be after opensAt' }]);
    }
    const updated = await this.db.$transaction(async (tx) => {
      const changed = await tx.questionnaire.update({
      where: { id },
      data: {
        kind: input.kind,
        titleEn: input.title?.en,
        titlePl: input.title ? (input.title.pl ?? null) : undefined,
        introEn: input.intro === undefined ? undefined : (input.intro?.en ?? null),
        introPl: input.intro === undefined ? undefined : (input.intro?.pl ?? null),
        opensAt: input.opensAt,
        closesAt: input.closesAt,
        allowAnonymous: input.allowAnonymous,
      },
      });
      await recordRevision(tx, principal, { type: 'Questionnaire', id, action: 'UPDATE', before: current, after: changed });
      return changed;
    });
    await this.invalidate(id);
    return updated;
  }

  async setStatus(principal: Principal, id: string, status: 'OPEN' | 'CLOSED'): Promise<Questionnaire> {
    requireEditor(principal);
    const current = await this.require(id);
    if (status === 'OPEN' && (await this.db.question.count({ where: { questionnaireId: id } })) === 0) {
      throw new ConflictError('A questionnaire without questions cannot be opened');
    }
    if (current.status === status) return current;
    const updated = await this.db.$transaction(async (tx) => {
      const changed = await tx.questionnaire.update({ where: { id }, data: { status } });
      await recordRevision(tx, principal, { type: 'Questionnaire', id, action: status === 'OPEN' ? 'OPEN' : 'CLOSE', before: current, after: changed });
      return changed;
    });
    await this.invalidate(id);
    return updated;
  }

  async addQuestion(principal: Principal, questionnaireId: string, raw: unknown, position?: number | null): Promise<Question> {
    requireEditor(principal);
    const input = parseInput(questionInput, raw);
    const question = await this.db.$transaction(async (tx) => {
      await this.lock(tx, questionnaireId);
      const count = await tx.question.count({ where: { questionnaireId } });
      const at = position == null ? count : Math.max(0, Math.min(position, count));
      await tx.question.updateMany({ where: { questionnaireId, position: { gte: at } }, data: { position: { increment: 1 } } });
      const created = await tx.question.create({ data: { questionnaireId, ...questionData(input, at) } });
      await recordRevision(tx, principal, { type: 'Question', id: created.id, root: { type: 'Questionnaire', id: questionnaireId }, action: 'CREATE', before: null, after: created });
      return created;
    });
    await this.invalidate(questionnaireId);
    return question;
  }

  /**
   * Once answers exist, a question keeps its type and every option some answer chose: changing
   * them would corrupt the answers and the summaries (CONFLICT).
   */
  async updateQuestion(principal: Principal, id: string, raw: unknown): Promise<Question> {
    requireEditor(principal);
    const input = parseInput(questionInput, raw);
    const updated = await this.db.$transaction(async (tx) => {
      const current = await this.lockQuestion(tx, id);
      if (input.type !== current.type && (await this.answerCount(tx, current)) > 0) {
        throw new ConflictError('This question has answers; its type cannot change');
      }
      const kept = new Set(input.options.map((o) => o.key));
      const dropped = optionsOf(current).map((o) => o.key).filter((key) => !kept.has(key));
      const inUse = await this.chosenOptions(tx, current, dropped);
      if (inUse.length) throw new ConflictError(`Answers refer to options ${inUse.map((k) => `"${k}"`).join(', ')}; they cannot be removed`);
      const { position: _ignored, ...data } = questionData(input, current.position);
      const changed = await tx.question.update({ where: { id }, data });
      await recordRevision(tx, principal, { type: 'Question', id, root: { type: 'Questionnaire', id: current.questionnaireId }, action: 'UPDATE', before: current, after: changed });
      return changed;
    });
    await this.invalidate(updated.questionnaireId);
    return updated;
  }

  async removeQuestion(principal: Principal, id: string): Promise<Questionnaire> {
    requireEditor(principal);
    const questionnaire = await this.db.$transaction(async (tx) => {
      const current = await this.lockQuestion(tx, id);
      if ((await this.answerCount(tx, current)) > 0) throw new ConflictError('This question has answers; it cannot be removed');
      await tx.question.delete({ where: { id } });
      await recordRevision(tx, principal, { type: 'Question', id, root: { type: 'Questionnaire', id: current.questionnaireId }, action: 'DELETE', before: current, after: null });
      await tx.question.updateMany({
        where: { questionnaireId: current.questionnaireId, position: { gt: current.position } },
        data: { position: { decrement: 1 } },
      });
      return tx.questionnaire.findUniqueOrThrow({ where: { id: current.questionnaireId } });
    });
    await this.invalidate(questionnaire.id);
    return questionnaire;
  }

  /** Takes every question id of the questionnaire, in the new order. */
  async reorderQuestions(principal: Principal, questionnaireId: string, questionIds: string[]): Promise<Questionnaire> {
    requireEditor(principal);
    const questionnaire = await this.db.$transaction(async (tx) => {
      const locked = await this.lock(tx, questionnaireId);
      const existing = await tx.question.findMany({ where: { questionnaireId }, select: { id: true } });
      const wanted = new Set(questionIds);
      if (wanted.size !== questionIds.length || wanted.size !== existing.length || !existing.every((q) => wanted.has(q.id))) {
        throw new ValidationError('questionIds must list every question of the questionnaire exactly once', [
          { path: 'questionIds', message: 'must be a permutation of the questionnaire’s question ids' },
        ]);
      }
      // Positions pass through duplicates here: the unique (questionnaire, position) is checked at COMMIT.
      for (const [position, id] of questionIds.entries()) {
        const before = await tx.question.findUniqueOrThrow({ where: { id } });
        const after = await tx.question.update({ where: { id }, data: { position } });
        await recordRevision(tx, principal, { type: 'Question', id, root: { type: 'Questionnaire', id: questionnaireId }, action: 'UPDATE', before, after });
      }
      return locked;
    });
    await this.invalidate(questionnaireId);
    return questionnaire;
  }

  private async require(id: string): Promise<Questionnaire> {
    const questionnaire = await this.db.questionnaire.findUnique({ where: { id } });
    if (!questionnaire) throw new NotFoundError('Questionnaire');
    return questionnaire;
  }

  /**
   * Serializes the writes to one questionnaire's questions: positions are counted and shifted, and
   * "no answers yet" checked, under a row lock on the questionnaire (FOR UPDATE), held until the
   * transaction ends. Responses being inserted hold a key-share lock on the same row (their foreign
   * key), so the answer checks see every response that got in first.
   */
  private async lock(tx: Tx, questionnaireId: string): Promise<Questionnaire> {
    const [locked] = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM questionnaires WHERE id = ${questionnaireId}::uuid FOR UPDATE`;
    if (!locked) throw new NotFoundError('Questionnaire');
    return tx.questionnaire.findUniqueOrThrow({ where: { id: questionnaireId } });
  }

  /** The question, read again once its questionnaire is locked (another write may have moved it). */
  private async lockQuestion(tx: Tx, id: string): Promise<Question> {
    const before = await tx.question.findUnique({ where: { id }, select: { questionnaireId: true } });
    if (!before) throw new NotFoundError('Question');
    await this.lock(tx, before.questionnaireId);
    const current = await tx.question.findUnique({ where: { id } });
    if (!current) throw new NotFoundError('Question');
    return current;
  }

  private async answerCount(tx: Tx, question: Question): Promise<number> {
    const [row] = await tx.$queryRaw<{ count: number }[]>`
      SELECT count(*)::int AS count FROM questionnaire_responses
      WHERE questionnaire_id = ${question.questionnaireId}::uuid AND answers ? ${question.id}`;
    return row?.count ?? 0;
  }

  private async chosenOptions(tx: Tx, question: Question, keys: string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = await tx.$queryRaw<{ key: string }[]>`
      SELECT DISTINCT chosen.key FROM questionnaire_responses r
      CROSS JOIN LATERAL jsonb_array_elements_text(
        CASE jsonb_typeof(r.answers -> ${question.id}) WHEN 'array' THEN r.answers -> ${question.id}
             WHEN 'string' THEN jsonb_build_array(r.answers -> ${question.id}) ELSE '[]'::jsonb END) AS chosen(key)
      WHERE r.questionnaire_id = ${question.questionnaireId}::uuid AND chosen.key = ANY(${keys})`;
    return rows.map((r) => r.key);
  }
}
