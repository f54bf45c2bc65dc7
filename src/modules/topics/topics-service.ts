import type { Topic } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/db.js';
import { ValidationError } from '../../shared/errors.js';

export class TopicsService {
  constructor(private readonly db: Db) {}

  list(): Promise<Topic[]> {
    return this.db.topic.findMany({ orderBy: { slug: 'asc' } });
  }

  /** Every slug must be on the managed list; unknown ones are reported by position. */
  async assertKnown(slugs: string[], path: string): Promise<void> {
    if (slugs.length === 0) return;
    const known = new Set((await this.db.topic.findMany({ where: { slug: { in: slugs } }, select: { slug: true } })).map((t) => t.slug));
    const fields = slugs.flatMap((slug, i) => (known.has(slug) ? [] : [{ path: `${path}.${i}`, message: `unknown topic "${slug.slice(0, 60)}"` }]));
    if (fields.length > 0) throw new ValidationError(`Unknown topic: ${fields.map((f) => f.message).join(', ')}`, fields);
  }
}
