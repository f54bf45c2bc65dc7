import type { Question } from '../../generated/prisma/client.js';
import type { FieldProblem } from '../../shared/errors.js';
import { decodeGlobalId } from '../../shared/ids.js';
import { MAX_TEXT_ANSWER, type QuestionTypeName } from './questionnaire-inputs.js';

export interface StoredOption {
  key: string;
  labelEn: string;
  labelPl: string | null;
}

/** What a response stores per question id. */
export type AnswerValue = string | string[] | number;

export interface AnswerInput {
  questionId: string;
  choice?: string | null;
  choices?: string[] | null;
  text?: string | null;
  rating?: number | null;
}

const RANGES: Partial<Record<QuestionTypeName, [number, number]>> = { RATING: [1, 5], NPS: [0, 10] };

export function optionsOf(question: Pick<Question, 'options'>): StoredOption[] {
  return Array.isArray(question.options) ? (question.options as unknown as StoredOption[]) : [];
}

/**
 * Checks every answer against its question and collects every problem (path `input.answers.<i>.<field>`),
 * so a client fixes all of them in one round trip. Returns the answers keyed by question id.
 */
export function validateAnswers(questions: Question[], answers: AnswerInput[]): { values: Record<string, AnswerValue>; problems: FieldProblem[] } {
  const byId = new Map(questions.map((q) => [q.id, q]));
  const values: Record<string, AnswerValue> = {};
  const problems: FieldProblem[] = [];
  answers.forEach((answer, i) => {
    const at = (field: string, message: string) => problems.push({ path: `input.answers.${i}.${field}`, message });
    const questionId = safeQuestionId(answer.questionId);
    const question = questionId ? byId.get(questionId) : undefined;
    if (!question) return at('questionId', 'is not a question of this questionnaire');
    if (question.id in values) return at('questionId', 'is answered twice');
    const given = (['choice', 'choices', 'text', 'rating'] as const).filter((f) => answer[f] != null);
    const expected = { SINGLE_CHOICE: 'choice', MULTIPLE_CHOICE: 'choices', TEXT: 'text', RATING: 'rating', NPS: 'rating' }[question.type];
    if (given.length !== 1 || given[0] !== expected) return at(expected, `a ${question.type} question takes exactly one "${expected}"`);
    const keys = new Set(optionsOf(question).map((o) => o.key));
    switch (question.type) {
      case 'SINGLE_CHOICE':
        if (!keys.has(answer.choice!)) return at('choice', `"${answer.choice!.slice(0, 40)}" is not an option`);
        values[question.id] = answer.choice!;
        return;
      case 'MULTIPLE_CHOICE': {
        const choices = answer.choices!;
        const unknown = choices.filter((c) => !keys.has(c));
        if (unknown.length) return at('choices', `not options: ${unknown.map((c) => `"${c.slice(0, 40)}"`).join(', ')}`);
        if (new Set(choices).size !== choices.length) return at('choices', 'lists an option twice');
        if (question.required && choices.length === 0) return at('choices', 'choose at least one option');
        values[question.id] = choices;
        return;
      }
      case 'TEXT': {
        const text = answer.text!.trim();
        if (text.length > MAX_TEXT_ANSWER) return at('text', `must be at most ${MAX_TEXT_ANSWER} characters`);
        if (question.required && text.length === 0) return at('text', 'must not be empty');
        values[question.id] = text;
        return;
      }
      default: {
        const [min, max] = RANGES[question.type]!;
        if (answer.rating! < min || answer.rating! > max) return at('rating', `must be between ${min} and ${max}`);
        values[question.id] = answer.rating!;
      }
    }
  });
  const attempted = new Set(answers.map((a) => safeQuestionId(a.questionId)));
  for (const question of questions) {
    // A required question answered invalidly is already reported above.
    if (question.required && !attempted.has(question.id)) {
      problems.push({ path: 'input.answers', message: `question ${question.position + 1} is required` });
    }
  }
  return { values, problems };
}

function safeQuestionId(globalId: string): string | null {
  try {
    const decoded = decodeGlobalId(globalId);
    return decoded.typename === 'Question' ? decoded.id : null;
  } catch {
    return null;
  }
}
