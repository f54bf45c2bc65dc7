import DataLoader from 'dataloader';
import type { Enrollment, QuestionnaireResponse, Subscriber } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/db.js';
import { groupByKey } from '../../shared/pagination.js';
import { activePlan } from './subscribers-service.js';

export function createSubscriberLoaders(db: Db) {
  return {
    byId: new DataLoader<string, Subscriber | null>(async (ids) => {
      const rows = await db.subscriber.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    plan: new DataLoader<string, string>(async (ids) => {
      const rows = await db.$queryRaw<{ id: string; plan: string | null }[]>`
        SELECT s.id, p.plan::text AS plan FROM subscribers s LEFT JOIN LATERAL (${activePlan}) p ON true
        WHERE s.id = ANY(${[...ids]}::uuid[])`;
      const plans = new Map(rows.map((r) => [r.id, r.plan ?? 'FREE']));
      return ids.map((id) => plans.get(id) ?? 'FREE');
    }),
    enrollments: new DataLoader<string, Enrollment[]>(async (ids) =>
      groupByKey(ids, await db.enrollment.findMany({ where: { subscriberId: { in: [...ids] } }, orderBy: { createdAt: 'desc' } }), (e) => e.subscriberId),
    ),
    responses: new DataLoader<string, QuestionnaireResponse[]>(async (ids) =>
      groupByKey(
        ids,
        await db.questionnaireResponse.findMany({ where: { subscriberId: { in: [...ids] } }, orderBy: { submittedAt: 'desc' } }),
        (r) => r.subscriberId,
      ),
    ),
  };
}

