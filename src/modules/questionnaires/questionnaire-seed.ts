import type { Db } from '../../infra/db.js';

const FEEDBACK = [
  { type: 'RATING' as const, promptEn: 'How would you rate the workshop?', promptPl: 'Jak oceniasz warsztat?', options: [] },
  { type: 'NPS' as const, promptEn: 'How likely are you to recommend it?', promptPl: 'Jak bardzo polecił(a)byś go innym?', options: [] },
  {
    type: 'SINGLE_CHOICE' as const,
    promptEn: 'Was the pace right?',
    promptPl: 'Czy tempo było odpowiednie?',
    options: [
      { key: 'too-slow', labelEn: 'Too slow', labelPl: 'Za wolne' },
      { key: 'right', labelEn: 'Just right', labelPl: 'W sam raz' },
      { key: 'too-fast', labelEn: 'Too fast', labelPl: 'Za szybkie' },
    ],
  },
  { type: 'TEXT' as const, promptEn: 'Anything we should change?', promptPl: 'Co powinniśmy zmienić?', options: [], required: false },
];

const COMMENTS = ['More exercises, please.', 'Great examples!', 'Świetne tempo.', 'Could be longer.', 'Więcej przykładów z produkcji.'];

/** Post-workshop feedback for the first past workshops, with responses from the demo subscribers. */
export async function seedQuestionnaires(db: Db, now = new Date()): Promise<{ questionnaires: number; responses: number }> {
  if ((await db.questionnaire.count()) > 0) return { questionnaires: 0, responses: 0 };
  const workshops = await db.workshop.findMany({ where: { status: 'PUBLISHED', startsAt: { lt: now } }, orderBy: { startsAt: 'asc' }, take: 3 });
  let responses = 0;
  for (const [w, workshop] of workshops.entries()) {
    const questionnaire = await db.questionnaire.create({
      data: {
        workshopId: workshop.id,
        kind: 'POST_WORKSHOP',
        titleEn: `Feedback: ${workshop.titleEn}`,
        titlePl: workshop.titlePl ? `Opinie: ${workshop.titlePl}` : null,
        status: 'OPEN',
        allowAnonymous: true,
        questions: { create: FEEDBACK.map((q, position) => ({ ...q, position })) },
      },
      include: { questions: true },
    });
    const attendees = await db.enrollment.findMany({ where: { workshopId: workshop.id, status: 'ATTENDED' }, select: { subscriberId: true } });
    const byType = Object.fromEntries(questionnaire.questions.map((q) => [q.type, q.id]));
    const rows = attendees.map(({ subscriberId }, i) => {
      const answers: Record<string, unknown> = {
        [byType.RATING!]: 3 + ((i + w) % 3),
        [byType.NPS!]: [10, 9, 8, 6, 10, 7][(i + w) % 6],
        [byType.SINGLE_CHOICE!]: ['right', 'right', 'too-fast', 'too-slow'][(i + w) % 4],
      };
      if (i % 2 === 0) answers[byType.TEXT!] = COMMENTS[(i + w) % COMMENTS.length];
      const submittedAt = new Date(workshop.endsAt.getTime() + (i + 1) * 3600_000);
      return {
        questionnaireId: questionnaire.id,
        subscriberId,
        answers: answers as object,
        startedAt: new Date(submittedAt.getTime() - (90 + i * 7) * 1000),
        submittedAt,
        completionSeconds: 90 + i * 7,
        idempotencyKey: `seed-${questionnaire.id}-${i}`,
      };
    });
    await db.questionnaireResponse.createMany({ data: rows });
    responses += rows.length;
  }
  return { questionnaires: workshops.length, responses };
}
