import { builder } from '../../builder.js';
import { LocalizedTextInput } from '../../shared/locale-enum.js';
import { QuestionnaireKindEnum, QuestionnaireRef, QuestionnaireResponseRef, QuestionRef, QuestionTypeEnum } from './questionnaire.schema.js';


const QuestionOptionInput = builder.inputType('QuestionOptionInput', {
  fields: (t) => ({
    key: t.string({ required: true, description: 'Stable key answers refer to: lower-case letters, digits, "_" or "-".' }),
    label: t.field({ type: LocalizedTextInput, required: true }),
  }),
});

const QuestionInput = builder.inputType('QuestionInput', {
  fields: (t) => ({
    type: t.field({ type: QuestionTypeEnum, required: true }),
    prompt: t.field({ type: LocalizedTextInput, required: true }),
    options: t.field({ type: [QuestionOptionInput], description: 'Choice questions: at least 2.' }),
    required: t.boolean({ description: 'Default true.' }),
  }),
});

const questionnaireFields = (create: boolean) =>
  builder.inputType(create ? 'CreateQuestionnaireInput' : 'UpdateQuestionnaireInput', {
    fields: (t) => ({
      kind: t.field({ type: QuestionnaireKindEnum, required: create }),
      title: t.field({ type: LocalizedTextInput, required: create }),
      intro: t.field({ type: LocalizedTextInput }),
      opensAt: t.field({ type: 'DateTime' }),
      closesAt: t.field({ type: 'DateTime' }),
      allowAnonymous: t.boolean({ description: 'Accept responses without an email. Default false.' }),
      ...(create
        ? {
            workshopId: t.id({ description: 'The workshop it belongs to, if any.' }),
            questions: t.field({ type: [QuestionInput] }),
          }
        : {}),
    }),
  });

const CreateQuestionnaireInput = questionnaireFields(true);
const UpdateQuestionnaireInput = questionnaireFields(false);

const AnswerInput = builder.inputType('AnswerInput', {
  description: 'Exactly one of choice (SINGLE_CHOICE), choices (MULTIPLE_CHOICE), text (TEXT) or rating (RATING 1–5, NPS 0–10).',
  fields: (t) => ({
    questionId: t.id({ required: true }),
    choice: t.string(),
    choices: t.stringList(),
    text: t.string(),
    rating: t.int(),
  }),
});

const SubmitResponseInput = builder.inputType('SubmitResponseInput', {
  fields: (t) => ({
    questionnaireId: t.id({ required: true }),
    email: t.string({ description: 'Required unless the questionnaire allows anonymous responses.' }),
    answers: t.field({ type: [AnswerInput], required: true }),
    startedAt: t.field({ type: 'DateTime', description: 'When the person opened the form; gives the completion time.' }),
    idempotencyKey: t.string({ required: true, description: 'Client-generated (8–100 chars); a retried submit (same email and answers) returns the first response, a different one with this key is CONFLICT.' }),
  }),
});

builder.mutationFields((t) => ({
  createQuestionnaire: t.field({
    type: QuestionnaireRef,
    description: 'Creates a DRAFT questionnaire with its questions (editors).',
    args: { input: t.arg({ type: CreateQuestionnaireInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.questionnaires.create(ctx.principal, input),
  }),
  updateQuestionnaire: t.field({
    type: QuestionnaireRef,
    args: { id: t.arg.globalID({ required: true, for: QuestionnaireRef }), input: t.arg({ type: UpdateQuestionnaireInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => ctx.services.questionnaires.update(ctx.principal, id.id, input),
  }),
  openQuestionnaire: t.field({
    type: QuestionnaireRef,
    args: { id: t.arg.globalID({ required: true, for: QuestionnaireRef }) },
    resolve: (_root, { id }, ctx) => ctx.services.questionnaires.setStatus(ctx.principal, id.id, 'OPEN'),
  }),
  closeQuestionnaire: t.field({
    type: QuestionnaireRef,
    args: { id: t.arg.globalID({ required: true, for: QuestionnaireRef }) },
    resolve: (_root, { id }, ctx) => ctx.services.questionnaires.setStatus(ctx.principal, id.id, 'CLOSED'),
  }),
  addQuestion: t.field({
    type: QuestionRef,
    args: {
      questionnaireId: t.arg.globalID({ required: true, for: QuestionnaireRef }),
      input: t.arg({ type: QuestionInput, required: true }),
      position: t.arg.int({ description: 'From 0; default last.' }),
    },
    resolve: (_root, { questionnaireId, input, position }, ctx) => ctx.services.questionnaires.addQuestion(ctx.principal, questionnaireId.id, input, position),
  }),
  updateQuestion: t.field({
    type: QuestionRef,
    description: 'Replaces a question. With answers present, its type and the options answers chose cannot change (CONFLICT).',
    args: { id: t.arg.globalID({ required: true, for: QuestionRef }), input: t.arg({ type: QuestionInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => ctx.services.questionnaires.updateQuestion(ctx.principal, id.id, input),
  }),
  removeQuestion: t.field({
    type: QuestionnaireRef,
    args: { id: t.arg.globalID({ required: true, for: QuestionRef }) },
    resolve: (_root, { id }, ctx) => ctx.services.questionnaires.removeQuestion(ctx.principal, id.id),
  }),
  reorderQuestions: t.field({
    type: QuestionnaireRef,
    args: {
      questionnaireId: t.arg.globalID({ required: true, for: QuestionnaireRef }),
      questionIds: t.arg.globalIDList({ required: true, for: QuestionRef, description: 'Every question, in the new order.' }),
    },
    resolve: (_root, { questionnaireId, questionIds }, ctx) =>
      ctx.services.questionnaires.reorderQuestions(ctx.principal, questionnaireId.id, questionIds.map((q) => q.id)),
  }),
  submitResponse: t.field({
    type: QuestionnaireResponseRef,
    description: 'Submits answers. Anonymous callers may submit; the response itself is readable by editors only.',
    args: { input: t.arg({ type: SubmitResponseInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.responses.submit(ctx.principal, input),
  }),
}));
