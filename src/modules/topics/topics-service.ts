import { Prisma, type Topic } from '../../generated/prisma/client.js';
import { recordRevision } from '../audit/revisions.js';
import type { CacheInvalidator } from '../../infra/cache/two-tier-cache.js';
import type { Db } from '../../infra/db.js';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { parseInput } from '../../shared/validation.js';
import type { Principal } from '../auth/principal.js';
import { allWorkshopsCacheTags } from '../workshops/workshop-visibility.js';
import { requireEditor } from '../workshops/workshops-service.js';
import { createTopicInput, updateTopicInput } from './topic-inputs.js';

/**
 * What a topic change can make stale: `topics` lists, and workshops (their `topics` show names). The
 * response cache tags only entities with an id, and topics have none, so workshops are evicted wholesale:
 * topic changes are rare.
 */
const TOPIC_CACHE_TAGS = [{ typename: 'Query.topics' }, ...allWorkshopsCacheTags()];

export class TopicsService {
  constructor(
    private readonly db: Db,
    private readonly cache: CacheInvalidator,
  ) {}

  /** Active topics by slug; retired ones too when asked. */
  list(options: { includeRetired?: boolean } = {}): Promise<Topic[]> {
    return this.db.topic.findMany({ where: options.includeRetired ? {} : { retiredAt: null }, orderBy: { slug: 'asc' } });
  }

  /**
   * Every slug must be on the managed list and not retired; `kept` are slugs the record already has,
   * which stay allowed after their topic retires. Offending slugs are reported by position.
   */
  /** `db`: the caller's transaction when it holds one (on the embedded database, one connection, a query outside it waits for it to end). */
  async assertKnown(slugs: string[], path: string, kept: readonly string[] = [], db: Pick<Db, 'topic'> = this.db): Promise<void> {
    if (slugs.length === 0) return;
    const topics = await db.topic.findMany({ where: { slug: { in: slugs } }, select: { slug: true, retiredAt: true } });
    const status = new Map(topics.map((t) => [t.slug, t.retiredAt ? 'retired' : 'active']));
    const fields = slugs.flatMap((slug, i) => {
      const state = status.get(slug);
      if (state === 'active' || (state === 'retired' && kept.includes(slug))) return [];
      return [{ path: `${path}.${i}`, message: `${state === 'retired' ? 'retired' : 'unknown'} topic "${slug.slice(0, 60)}"` }];
    });
    if (fields.length > 0) throw new ValidationError(`Topics not allowed: ${fields.map((f) => f.message).join(', ')}`, fields);
  }

  async create(principal: Principal, raw: unknown): Promise<Topic> {
    requireEditor(principal);
    const input = parseInput(createTopicInput, raw);
    let topic: Topic;
    try {
      topic = await this.db.$transaction(async (tx) => {
        const created = await tx.topic.create({ data: { slug: input.slug, nameEn: input.name.en, namePl: input.name.pl ?? null } });
        await recordRevision(tx, principal, { type: 'Topic', id: created.slug, action: 'CREATE', before: null, after: created });
        return created;
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        throw new ConflictError(`A topic with the slug "${input.slug}" already exists`);
      }
      throw error;
    }
    await this.cache.invalidate(TOPIC_CACHE_TAGS);
    return topic;
  }

  async update(principal: Principal, slug: string, raw: unknown): Promise<Topic> {
    requireEditor(principal);
    const input = parseInput(updateTopicInput, raw);
    const topic = await this.write(principal, 'UPDATE', slug, { nameEn: input.name.en, namePl: input.name.pl ?? null });
    await this.cache.invalidate(TOPIC_CACHE_TAGS);
    return topic;
  }

  /** Idempotent: retiring a retired topic keeps its first retirement time. */
  async retire(principal: Principal, slug: string): Promise<Topic> {
    requireEditor(principal);
    const current = await this.db.topic.findUnique({ where: { slug } });
    if (!current) throw new NotFoundError('Topic');
    if (current.retiredAt) return current;
    const topic = await this.write(principal, 'RETIRE', slug, { retiredAt: new Date() });
    await this.cache.invalidate(TOPIC_CACHE_TAGS);
    return topic;
  }

  private async write(principal: Principal, action: 'UPDATE' | 'RETIRE', slug: string, data: Prisma.TopicUpdateInput): Promise<Topic> {
    try {
      return await this.db.$transaction(async (tx) => {
        const before = await tx.topic.findUniqueOrThrow({ where: { slug } });
        const after = await tx.topic.update({ where: { slug }, data });
        await recordRevision(tx, principal, { type: 'Topic', id: slug, action, before, after });
        return after;
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025') throw new NotFoundError('Topic');
      throw error;
    }
  }
}
