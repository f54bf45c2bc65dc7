import type { Db } from '../../infra/db.js';

const TOPICS = ['graphql', 'typescript', 'databases', 'frontend', 'testing', 'security', 'design', 'product'];
const STATUSES = ['ACTIVE', 'ACTIVE', 'ACTIVE', 'PENDING', 'UNSUBSCRIBED'] as const;
const FREQUENCIES = ['WEEKLY', 'MONTHLY', 'DAILY'] as const;

/** Newsletter subscribers in both locales, with topics, preferences and a few PREMIUM plans. */
export async function seedSubscribers(db: Db, now = new Date()): Promise<{ subscribers: number }> {
  if ((await db.subscriber.count({ where: { status: { not: null } } })) > 0) return { subscribers: 0 };
  const rows = Array.from({ length: 60 }, (_, i) => {
    const status = STATUSES[i % STATUSES.length]!;
    return {
      email: `reader.${i}@example.org`,
      name: i % 4 === 0 ? null : `Reader ${i}`,
      locale: i % 2 === 0 ? ('PL' as const) : ('EN' as const),
      status,
      topics: [TOPICS[i % TOPICS.length]!, TOPICS[(i * 3 + 1) % TOPICS.length]!].filter((t, k, all) => all.indexOf(t) === k),
      preferences: { frequency: FREQUENCIES[i % 3], channels: i % 5 === 0 ? ['EMAIL', 'PUSH'] : ['EMAIL'], quietHours: i % 6 === 0 ? { start: '22:00', end: '07:00' } : null },
      source: i % 3 === 0 ? 'workshop-page' : 'newsletter-form',
      confirmedAt: status === 'PENDING' ? null : new Date(now.getTime() - (i + 1) * 86_400_000),
      unsubscribedAt: status === 'UNSUBSCRIBED' ? new Date(now.getTime() - i * 3_600_000) : null,
    };
  });
  const created = await db.subscriber.createManyAndReturn({ data: rows, select: { id: true, email: true } });
  await db.subscription.createMany({
    data: created.filter((_, i) => i % 7 === 0).map((s, i) => ({ subscriberId: s.id, plan: 'PREMIUM' as const, expiresAt: new Date(now.getTime() + (30 + i) * 86_400_000) })),
  });
  return { subscribers: created.length };
}
