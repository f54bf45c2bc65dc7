import { isDeepStrictEqual } from 'node:util';
import type { Question, QuestionnaireResponse } from '../../generated/prisma/client.js';
import type { CacheInvalidator } from '../../infra/cache/two-tier-cache.js';
import type { Db } from '../../infra/db.js';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { cacheEntity, decodeGlobalId } from '../../shared/ids.js';
import { parseInput } from '../../shared/validation.js';
import { subscriberCacheTags } from '../subscribers/subscriber-cache-tags.js';
import type { SubscribersService } from '../subscribers/subscribers-service.js';
import { recordEvent } from '../analytics/events-service.js';
import type { Principal } from '../auth/principal.js';
import { validateAnswers } from './answer-validation.js';
import { visibleQuestionnaireWhere } from './questionnaires-service.js';
import { submitResponseInput, type SubmitResponseInput } from './questionnaire-inputs.js';

/** Clock skew tolerated on a client's startedAt. */
const SKEW_MS = 60_000;
/** A form left open longer than this is not a completion time worth averaging (and would overflow the column). */
const MAX_SESSION_MS = 7 * 24 * 3600_000;

export class ResponsesService {
  constructor(
    private readonly db: Db,
    private readonly subscribers: SubscribersService,
    private readonly cache: CacheInvalidator,
    private readonly statisticsChanged: () => void,
  ) {}

  /**
   * Stores one validated response. A retry with the same idempotency key and payload returns the first
   * response, even when both arrive at once (the unique index decides; the loser reads the winner).
   */
  async submit(principal: Principal, raw: unknown): Promise<QuestionnaireResponse> {
    const input = parseInput(submitResponseInput, raw);
    const decoded = decodeGlobalId(input.questionnaireId);
    if (decoded.typename !== 'Questionnaire') throw new NotFoundError('Questionnaire');
    const questionnaire = await this.db.questionnaire.findFirst({
      where: { id: decoded.id, ...visibleQuestionnaireWhere(principal) },
      include: { questions: { orderBy: { position: 'asc' } } },
    });
    if (!questionnaire || questionnaire.status === 'DRAFT') throw new NotFoundError('Questionnaire');
    const key = { questionnaireId_idempotencyKey: { questionnaireId: questionnaire.id, idempotencyKey: input.idempotencyKey } };
    const retried = await this.db.questionnaireResponse.findUnique({ where: key });
    if (retried) return this.asRetry(retried, questionnaire.questions, input);

    const now = new Date();
    const open = questionnaire.status === 'OPEN' && (!questionnaire.opensAt || questionnaire.opensAt <= now) && (!questionnaire.closesAt || now < questionnaire.closesAt);
    if (!open) throw new ConflictError('This questionnaire is not open for responses');
    if (!input.email && !questionnaire.allowAnonymous) {
      throw new ValidationError('This questionnaire needs an email address', [{ path: 'input.email', message: 'is required for this questionnaire' }]);
    }
    if (input.startedAt && input.startedAt.getTime() > now.getTime() + SKEW_MS) {
      throw new ValidationError('startedAt is in the future', [{ path: 'input.startedAt', message: 'must not be in the future' }]);
    }
    if (input.startedAt && input.startedAt.getTime() < now.getTime() - MAX_SESSION_MS) {
      throw new ValidationError('startedAt is more than 7 days ago', [{ path: 'input.startedAt', message: 'must be within the last 7 days' }]);
    }
    const { problems } = validateAnswers(questionnaire.questions, input.answers);
    if (problems.length) throw new ValidationError(`Invalid answers: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);

    const startedAt = input.startedAt && input.startedAt < now ? input.startedAt : null;
    const completionSeconds = startedAt ? Math.round((now.getTime() - startedAt.getTime()) / 1000) : null;
    const response = await this.db.$transaction(async (tx) => {
      // Editors change questions under FOR UPDATE on the questionnaire: validate against the questions
      // as they are now, and keep them so until this response is stored (a question removed meanwhile
      // would leave answers pointing at nothing).
      await tx.$queryRaw`SELECT id FROM questionnaires WHERE id = ${questionnaire.id}::uuid FOR SHARE`;
      const questions = await tx.question.findMany({ where: { questionnaireId: questionnaire.id }, orderBy: { position: 'asc' } });
      const { values, problems } = validateAnswers(questions, input.answers);
      if (problems.length) throw new ValidationError(`Invalid answers: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
      const subscriber = input.email ? await this.subscribers.upsertByEmail(tx, { email: input.email }) : null;
      const inserted = await tx.$queryRaw<{ id: string }[]>`
        INSERT INTO questionnaire_responses (id, questionnaire_id, subscriber_id, answers, started_at, submitted_at, completion_seconds, idempotency_key)
        VALUES (gen_random_uuid(), ${questionnaire.id}::uuid, ${subscriber?.id ?? null}::uuid, ${JSON.stringify(values)}::jsonb,
                ${startedAt}, ${now}, ${completionSeconds}, ${input.idempotencyKey})
        ON CONFLICT DO NOTHING
        RETURNING id`;
      if (!inserted[0]) return null;
      await recordEvent(tx, { type: 'QUESTIONNAIRE_SUBMIT', workshopId: questionnaire.workshopId, subscriberId: subscriber?.id, properties: { questionnaireId: questionnaire.id } });
      return tx.questionnaireResponse.findUniqueOrThrow({ where: { id: inserted[0].id } });
    });
    if (response) {
      this.statisticsChanged();
      // The respondent may be new, and their list of responses changed.
      const person = response.subscriberId ? subscriberCacheTags(response.subscriberId) : [];
      await this.cache.invalidate([cacheEntity('Questionnaire', questionnaire.id), { typename: 'QuestionnaireResponse' }, ...person]);
      return response;
    }
    // Nothing inserted: either a concurrent retry with this key won, or this person already answered.
    const winner = await this.db.questionnaireResponse.findUnique({ where: key });
    if (winner) return this.asRetry(winner, questionnaire.questions, input);
    throw new ConflictError('This person has already responded to this questionnaire');
  }

  /**
   * A retry must be the same submission: the same person and the same answers (in any order). The same
   * key with another payload is a client bug or a replay, and answering with the first response would
   * tell the caller that their answers were stored (CONFLICT instead).
   */
  private async asRetry(stored: QuestionnaireResponse, questions: Question[], input: SubmitResponseInput): Promise<QuestionnaireResponse> {
    const { values, problems } = validateAnswers(questions, input.answers);
    const person = input.email ? await this.db.subscriber.findUnique({ where: { email: input.email }, select: { id: true } }) : null;
    if (problems.length || !isDeepStrictEqual(stored.answers, values) || stored.subscriberId !== (person?.id ?? null)) {
      throw new ConflictError('This idempotency key was already used for a different response');
    }
    return stored;
  }
}
