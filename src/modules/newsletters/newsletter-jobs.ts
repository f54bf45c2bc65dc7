import { createHmac, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Db } from '../../infra/db.js';
import type { JobHandler, JobSystem } from '../../infra/jobs/types.js';
import type { MailTransport } from '../../infra/mail/transports.js';
import type { Locale } from '../../shared/locale.js';
import type { TokenSigner } from '../../shared/tokens.js';
import { MailLinks } from '../notifications/templates.js';
import { renderNewsletter, type NewsletterWorkshop } from './newsletter-template.js';

export const FAN_OUT = 'fan-out';
export const DELIVER = 'deliver';
export const FINISH = 'finish';

/** Subscribers read and deliveries written per statement, and jobs enqueued per call. */
const CHUNK = 1000;
/** How many upcoming workshops a newsletter lists. */
const WORKSHOPS_PER_NEWSLETTER = 6;
/** How often a sending newsletter checks whether every delivery is done. */
const FINISH_CHECK_MS = 2000;
const MANAGE_TTL_SECONDS = 365 * 24 * 3600;

export const fanOutJobId = (id: string, at: Date) => `newsletter-${id}-fanout-${at.getTime()}`;
export const deliveryJobId = (newsletterId: string, subscriberId: string) => `newsletter-${newsletterId}-${subscriberId}`;

/** Signs what a tracking link carries, so nobody can record opens for others or turn the redirect into an open one. */
export class TrackingSigner {
  constructor(private readonly secret: string) {}
  private mac(...parts: string[]): string {
    return createHmac('sha256', this.secret).update(['newsletter-tracking', ...parts].join('\0')).digest('base64url').slice(0, 32);
  }
  sign(deliveryId: string, url = ''): string {
    return this.mac(deliveryId, url);
  }
  verify(deliveryId: string, url: string, signature: string): boolean {
    const expected = Buffer.from(this.mac(deliveryId, url));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

export interface NewsletterJobDeps {
  db: Db;
  jobs: JobSystem;
  transport: MailTransport;
  tokens: TokenSigner;
  tracking: TrackingSigner;
  publicUrl: string;
  claimMs: number;
}

interface FanOutData {
  id: string;
  at: string;
}

/**
 * The newsletter jobs. `fan-out` (at the scheduled time) writes one delivery per matching ACTIVE
 * subscriber in chunks (INSERT … SELECT, keyset over subscriber ids, ON CONFLICT DO NOTHING so a
 * re-run adds nothing) and enqueues one `deliver` job per delivery (job id newsletter-<id>-<subscriber>);
 * `deliver` renders and sends one; `finish` marks the newsletter SENT once nothing is left.
 */
export function newsletterJobHandlers(deps: NewsletterJobDeps): Record<string, JobHandler> {
  const { db, jobs } = deps;
  const links = new MailLinks(deps.publicUrl);
  const host = new URL(deps.publicUrl).hostname || 'workshops.local';
  // Upcoming workshops per newsletter, locale and topic set: read once, not once per subscriber.
  const content = new LRUCache<string, Promise<NewsletterWorkshop[]>>({ max: 500, ttl: 10 * 60_000 });

  const upcoming = (topics: string[], locale: Locale): Promise<NewsletterWorkshop[]> => {
    const key = `${locale}:${[...topics].sort().join(',')}`;
    let entry = content.get(key);
    if (!entry) {
      entry = db.$queryRaw<NewsletterWorkshop[]>`
        SELECT slug, CASE WHEN ${locale}::text = 'PL' THEN COALESCE(title_pl, title_en) ELSE title_en END AS title, starts_at AS "startsAt", location
        FROM workshops
        WHERE deleted_at IS NULL AND status = 'PUBLISHED' AND starts_at > now()
          AND (cardinality(${topics}::text[]) = 0 OR tags && ${topics}::text[])
        ORDER BY starts_at, id LIMIT ${WORKSHOPS_PER_NEWSLETTER}`;
      entry.catch(() => content.delete(key));
      content.set(key, entry);
    }
    return entry;
  };

  const fanOut: JobHandler<FanOutData> = {
    async run({ id, at }) {
      const newsletter = await db.newsletter.findUnique({ where: { id } });
      // Cancelled, deleted, or rescheduled since this job was enqueued: the newer job does the work.
      if (!newsletter || newsletter.scheduledAt?.toISOString() !== at || (newsletter.status !== 'SCHEDULED' && newsletter.status !== 'SENDING')) return { skipped: true };
      await db.newsletter.update({ where: { id }, data: { status: 'SENDING', startedAt: newsletter.startedAt ?? new Date() } });
      let after = '00000000-0000-0000-0000-000000000000';
      for (;;) {
        const chunk = await db.$queryRaw<{ id: string }[]>`
          SELECT s.id FROM subscribers s
          WHERE s.status = 'ACTIVE' AND s.erased_at IS NULL AND s.id > ${after}::uuid
            AND (cardinality(${newsletter.topics}::text[]) = 0 OR s.topics && ${newsletter.topics}::text[])
            AND (${newsletter.frequency}::text IS NULL OR s.preferences->>'frequency' = ${newsletter.frequency}::text)
          ORDER BY s.id LIMIT ${CHUNK}`;
        if (chunk.length === 0) break;
        const ids = chunk.map((r) => r.id);
        await db.$executeRaw`
          INSERT INTO newsletter_deliveries (id, newsletter_id, subscriber_id, status, created_at, updated_at)
          SELECT gen_random_uuid(), ${id}::uuid, s, 'QUEUED', now(), now() FROM unnest(${ids}::uuid[]) s
          ON CONFLICT (newsletter_id, subscriber_id) DO NOTHING`;
        await jobs.enqueue('newsletters', ids.map((subscriberId) => ({ name: DELIVER, id: deliveryJobId(id, subscriberId), data: { newsletterId: id, subscriberId } })));
        after = ids[ids.length - 1]!;
      }
      await jobs.enqueue('newsletters', [{ name: FINISH, id: `newsletter-${id}-finish-0`, data: { id, check: 0 }, delayMs: FINISH_CHECK_MS }]);
      return { fannedOut: true };
    },
  };

  const deliver: JobHandler<{ newsletterId: string; subscriberId: string }> = {
    async run({ newsletterId, subscriberId }) {
      const [row] = await db.$queryRaw<
        { id: string; status: string; subscriberStatus: string | null; newsletterStatus: string; email: string; name: string | null; locale: Locale; topics: string[]; subjectEn: string; subjectPl: string | null; introEn: string; introPl: string | null; newsletterTopics: string[] }[]
      >`
        UPDATE newsletter_deliveries d SET claimed_until = now() + make_interval(secs => ${deps.claimMs / 1000}::float8), attempts = d.attempts + 1, updated_at = now()
        FROM subscribers s, newsletters n
        WHERE d.newsletter_id = ${newsletterId}::uuid AND d.subscriber_id = ${subscriberId}::uuid AND s.id = d.subscriber_id AND n.id = d.newsletter_id
          AND d.status IN ('QUEUED', 'RENDERED', 'FAILED') AND (d.claimed_until IS NULL OR d.claimed_until < now())
        RETURNING d.id, d.status::text AS status, s.status::text AS "subscriberStatus", n.status::text AS "newsletterStatus", s.email, s.name, s.locale, s.topics,
                  n.subject_en AS "subjectEn", n.subject_pl AS "subjectPl", n.intro_en AS "introEn", n.intro_pl AS "introPl", n.topics AS "newsletterTopics"`;
      if (!row) {
        const current = await db.newsletterDelivery.findUnique({ where: { newsletterId_subscriberId: { newsletterId, subscriberId } }, select: { status: true } });
        if (!current || current.status === 'SENT' || current.status === 'SKIPPED') return { skipped: true };
        throw new Error('another worker is sending this delivery');
      }
      // Unsubscribed (or erased) since the fan-out, or the newsletter was cancelled: not sent.
      if (row.subscriberStatus !== 'ACTIVE' || row.newsletterStatus === 'CANCELLED') {
        await db.$executeRaw`UPDATE newsletter_deliveries SET status = 'SKIPPED', claimed_until = NULL, updated_at = now() WHERE id = ${row.id}::uuid`;
        return { skipped: true };
      }
      const topics = row.newsletterTopics.length ? row.newsletterTopics.filter((t) => row.topics.includes(t)) : row.topics;
      const workshops = await upcoming(topics, row.locale);
      const manage = deps.tokens.sign('subscription:manage', subscriberId, MANAGE_TTL_SECONDS);
      const unsubscribe = links.unsubscribe(manage);
      const mail = renderNewsletter({
        locale: row.locale,
        name: row.name,
        subject: row.locale === 'PL' ? (row.subjectPl ?? row.subjectEn) : row.subjectEn,
        intro: row.locale === 'PL' ? (row.introPl ?? row.introEn) : row.introEn,
        workshops,
        workshopUrl: (slug) => trackedClick(deps, row.id, new URL(`workshops/${encodeURIComponent(slug)}`, base(deps.publicUrl)).toString()),
        unsubscribeUrl: unsubscribe,
        pixelUrl: new URL(`n/open?d=${row.id}&s=${deps.tracking.sign(row.id)}`, base(deps.publicUrl)).toString(),
      });
      await db.$executeRaw`UPDATE newsletter_deliveries SET status = 'RENDERED', updated_at = now() WHERE id = ${row.id}::uuid AND status <> 'SENT'`;
      try {
        await deps.transport.send({
          ...mail,
          to: row.email,
          messageId: `<${row.id}@${host}>`,
          headers: { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click', 'X-Workshops-Newsletter': newsletterId },
        });
      } catch (error) {
        await db.$executeRaw`UPDATE newsletter_deliveries SET claimed_until = NULL, last_error = ${(error as Error).message.slice(0, 1000)}, updated_at = now() WHERE id = ${row.id}::uuid`;
        throw error;
      }
      await db.$executeRaw`UPDATE newsletter_deliveries SET status = 'SENT', sent_at = now(), claimed_until = NULL, last_error = NULL, updated_at = now() WHERE id = ${row.id}::uuid`;
      return { sent: true };
    },
    async dead({ newsletterId, subscriberId }, error) {
      await db.$executeRaw`UPDATE newsletter_deliveries SET status = 'FAILED', claimed_until = NULL, last_error = ${error.message.slice(0, 1000)}, updated_at = now()
        WHERE newsletter_id = ${newsletterId}::uuid AND subscriber_id = ${subscriberId}::uuid AND status <> 'SENT'`;
    },
  };

  const finish: JobHandler<{ id: string; check: number }> = {
    async run({ id, check }) {
      const newsletter = await db.newsletter.findUnique({ where: { id }, select: { status: true } });
      if (newsletter?.status !== 'SENDING') return { done: true };
      const open = await db.newsletterDelivery.count({ where: { newsletterId: id, status: { in: ['QUEUED', 'RENDERED'] } } });
      if (open === 0) {
        await db.newsletter.updateMany({ where: { id, status: 'SENDING' }, data: { status: 'SENT', finishedAt: new Date() } });
        return { done: true };
      }
      await jobs.enqueue('newsletters', [{ name: FINISH, id: `newsletter-${id}-finish-${check + 1}`, data: { id, check: check + 1 }, delayMs: FINISH_CHECK_MS }]);
      return { open };
    },
  };

  return { [FAN_OUT]: fanOut, [DELIVER]: deliver, [FINISH]: finish };
}

const base = (publicUrl: string) => (publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`);

function trackedClick(deps: NewsletterJobDeps, deliveryId: string, url: string): string {
  const link = new URL('n/click', base(deps.publicUrl));
  link.searchParams.set('d', deliveryId);
  link.searchParams.set('u', url);
  link.searchParams.set('s', deps.tracking.sign(deliveryId, url));
  return link.toString();
}
