import DataLoader from 'dataloader';
import type { Subscriber } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/db.js';

export function createSubscriberLoaders(db: Db) {
  return {
    byId: new DataLoader<string, Subscriber | null>(async (ids) => {
      const rows = await db.subscriber.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}
