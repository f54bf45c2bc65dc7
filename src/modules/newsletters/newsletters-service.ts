import type { Newsletter, Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/db.js';
import type { JobSystem } from '../../infra/jobs/types.js';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { parseInput } from '../../shared/validation.js';
import type { Principal } from '../auth/principal.js';
import { requireEditor } from '../workshops/workshops-service.js';
import type { TopicsService } from '../topics/topics-service.js';
import { recordEvent } from '../analytics/events-service.js';
import { newsletterInput, updateNewsletterInput } from './newsletter-inputs.js';
import { FAN_OUT, fanOutJobId } from './newsletter-jobs.js';

export interface NewsletterProgress {
  queued: number;
  rendered: number;
  sent: number;
  failed: number;
  skipped: number;
  /** Deliveries sent in the last minute. */
  ratePerMinute: number;
}

/** Newsletters (EDITOR/ADMIN): drafts are edited, scheduled ones fanned out at their time, cancelled before or while sending. */
export class NewslettersService {
  constructor(
    private readonly db: Db,
    private readonly topics: TopicsService,
    private readonly jobs: JobSystem | null,
  ) {}

  async list(principal: Principal, first: number): Promise<Newsletter[]> {
    requireEditor(principal);
    return this.db.newsletter.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: Math.min(Math.max(first, 1), 100) });
  }

  async find(principal: Principal, id: string): Promise<Newsletter | null> {
    requireEditor(principal);
    return this.db.newsletter.findUnique({ where: { id } });
  }

  async create(principal: Principal, raw: unknown): Promise<Newsletter> {
    requireEditor(principal);
    const input = parseInput(newsletterInput, raw);
    await this.topics.assertKnown(input.topics, 'input.topics');
    return this.db.newsletter.create({ data: { ...input, topics: [...new Set(input.topics)] } });
  }

  async update(principal: Principal, id: string, raw: unknown): Promise<Newsletter> {
    requireEditor(principal);
    const input = parseInput(updateNewsletterInput, raw);
    const current = await this.existing(id);
    if (current.status !== 'DRAFT' && current.status !== 'SCHEDULED') throw new ConflictError(`A ${current.status.toLowerCase()} newsletter cannot be edited`);
    if (input.topics) await this.topics.assertKnown(input.topics, 'input.topics', current.topics);
    return this.db.newsletter.update({ where: { id }, data: { ...input, topics: input.topics ? [...new Set(input.topics)] : undefined } });
  }

  async delete(principal: Principal, id: string): Promise<Newsletter> {
    requireEditor(principal);
    const current = await this.existing(id);
    if (current.status !== 'DRAFT' && current.status !== 'CANCELLED') throw new ConflictError('Only draft or cancelled newsletters can be deleted');
    return this.db.newsletter.delete({ where: { id } });
  }

  /**
   * Schedules (or reschedules) the fan-out: a delayed `newsletters` job whose id names the time, so a
   * reschedule's job and the old one never meet; the old one finds the time changed and does nothing.
   */
  async schedule(principal: Principal, id: string, at: Date): Promise<Newsletter> {
    requireEditor(principal);
    if (!this.jobs) throw new Error('no job system');
    if (at.getTime() < Date.now() - 60_000) throw new ValidationError('The time is in the past', [{ path: 'at', message: 'must not be in the past' }]);
    const current = await this.existing(id);
    if (current.status !== 'DRAFT' && current.status !== 'SCHEDULED') throw new ConflictError(`A ${current.status.toLowerCase()} newsletter cannot be scheduled`);
    const scheduled = await this.db.newsletter.update({ where: { id }, data: { status: 'SCHEDULED', scheduledAt: at } });
    await this.jobs.enqueue('newsletters', [{ name: FAN_OUT, id: fanOutJobId(id, at), data: { id, at: at.toISOString() }, delayMs: Math.max(0, at.getTime() - Date.now()) }]);
    return scheduled;
  }

  /** Stops a newsletter: nothing more is sent (deliveries not yet sent are SKIPPED). Sent ones stay sent. */
  async cancel(principal: Principal, id: string): Promise<Newsletter> {
    requireEditor(principal);
    const current = await this.existing(id);
    if (current.status === 'SENT' || current.status === 'CANCELLED') throw new ConflictError(`A ${current.status.toLowerCase()} newsletter cannot be cancelled`);
    return this.db.$transaction(async (tx) => {
      const cancelled = await tx.newsletter.update({ where: { id }, data: { status: 'CANCELLED', finishedAt: new Date() } });
      await tx.newsletterDelivery.updateMany({ where: { newsletterId: id, status: { in: ['QUEUED', 'RENDERED'] } }, data: { status: 'SKIPPED', lastError: 'newsletter cancelled' } });
      return cancelled;
    });
  }

  async progress(id: string): Promise<NewsletterProgress> {
    const rows = await this.db.$queryRaw<{ status: string; count: number; recent: number }[]>`
      SELECT status::text AS status, count(*)::int AS count, count(*) FILTER (WHERE sent_at > now() - interval '1 minute')::int AS recent
      FROM newsletter_deliveries WHERE newsletter_id = ${id}::uuid GROUP BY status`;
    const of = (status: string) => rows.find((r) => r.status === status)?.count ?? 0;
    return { queued: of('QUEUED'), rendered: of('RENDERED'), sent: of('SENT'), failed: of('FAILED'), skipped: of('SKIPPED'), ratePerMinute: rows.find((r) => r.status === 'SENT')?.recent ?? 0 };
  }

  /** The tracking pixel was loaded: the first open of a delivery is recorded (and an analytics event). */
  async recordOpen(deliveryId: string): Promise<void> {
    await this.db.$transaction((tx) => firstOpen(tx, deliveryId));
  }

  /**
   * A signed link was followed: the click is recorded with an analytics event, and an open too when
   * the pixel was not loaded first (images blocked, or the click's request arrived before it).
   */
  async recordClick(deliveryId: string, url: string): Promise<void> {
    await this.db.$transaction(async (tx) => {
      await firstOpen(tx, deliveryId);
      const [row] = await tx.$queryRaw<{ subscriberId: string; newsletterId: string }[]>`
        UPDATE newsletter_deliveries SET clicked_at = COALESCE(clicked_at, now()), updated_at = now() WHERE id = ${deliveryId}::uuid
        RETURNING subscriber_id AS "subscriberId", newsletter_id AS "newsletterId"`;
      if (row) await recordEvent(tx, { type: 'NEWSLETTER_CLICK', subscriberId: row.subscriberId, channel: 'email', properties: { newsletterId: row.newsletterId, url: url.slice(0, 300) } });
    });
  }

  private async existing(id: string): Promise<Newsletter> {
    const newsletter = await this.db.newsletter.findUnique({ where: { id } });
    if (!newsletter) throw new NotFoundError('Newsletter');
    return newsletter;
  }
}

async function firstOpen(tx: Prisma.TransactionClient, deliveryId: string): Promise<void> {
  const [row] = await tx.$queryRaw<{ subscriberId: string; newsletterId: string }[]>`
    UPDATE newsletter_deliveries SET opened_at = now(), updated_at = now() WHERE id = ${deliveryId}::uuid AND opened_at IS NULL
    RETURNING subscriber_id AS "subscriberId", newsletter_id AS "newsletterId"`;
  if (row) await recordEvent(tx, { type: 'NEWSLETTER_OPEN', subscriberId: row.subscriberId, channel: 'email', properties: { newsletterId: row.newsletterId } });
}
