import DataLoader from 'dataloader';
import type { Topic } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/db.js';

/** Per-request loaders: one statement for the topics of every workshop on a page. */
export function createTopicLoaders(db: Db) {
  return {
    bySlug: new DataLoader<string, Topic | null>(async (slugs) => {
      const rows = await db.topic.findMany({ where: { slug: { in: [...slugs] } } });
      const bySlug = new Map(rows.map((row) => [row.slug, row]));
      return slugs.map((slug) => bySlug.get(slug) ?? null);
    }),
  };
}
