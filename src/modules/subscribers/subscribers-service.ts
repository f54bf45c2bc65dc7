import { Prisma, type Subscriber } from '../../generated/prisma/client.js';
import { recordRevision, scrubPersonRevisions } from '../audit/revisions.js';
import type { CacheInvalidator } from '../../infra/cache/two-tier-cache.js';
import type { Db } from '../../infra/db.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../shared/errors.js';
import type { Locale } from '../../shared/locale.js';
import { assertIssuedSince, invalidTokenError, type TokenSigner } from '../../shared/tokens.js';
import { parseInput } from '../../shared/validation.js';
import { isAdmin, type Principal } from '../auth/principal.js';
import type { TopicsService } from '../topics/topics-service.js';
import { requireEditor } from '../workshops/workshops-service.js';
import { subscriberCacheTags } from './subscriber-cache-tags.js';
import { subscribeInput, updatePreferencesInput } from './subscriber-inputs.js';

const DAY = 24 * 3600;
/** A confirmation link is good for a week; a preferences/unsubscribe link for a year. */
const CONFIRM_TTL_SECONDS = 7 * DAY;
const MANAGE_TTL_SECONDS = 365 * DAY;
/**
 * Messages `subscribe` puts in the outbox per address per hour; past it the call answers the same
 * and sends nothing (anyone can make us mail anyone, so this bounds how often).
 */
export const SUBSCRIBE_MAILS_PER_HOUR = 3;

export type SegmentDimension = 'TOPIC' | 'LOCALE' | 'STATUS' | 'PLAN';

export interface SegmentRow {
  topic: string | null;
  locale: string | null;
  status: string | null;
  plan: string | null;
  count: number;
}

export class SubscribersService {
  constructor(
    private readonly db: Db,
    private readonly tokens: TokenSigner,
    private readonly topics: TopicsService,
    private readonly cache: CacheInvalidator,
    /** Segment counts prefer a replica (Database.reporting). */
    private readonly reporting: Db = db,
  ) {}

  /**
   * Finds a person by (normalized) email or creates them; an existing name is never overwritten by
   * a stranger. ON CONFLICT makes concurrent first sign-ups with one email meet on one row
   * (Prisma's upsert raced into a unique violation).
   */
  async upsertByEmail(
    tx: Prisma.TransactionClient,
    input: { email: string; name?: string | null; locale?: Locale | null },
  ): Promise<Subscriber> {
    await tx.$executeRaw`
      INSERT INTO subscribers (id, email, name, locale, created_at, updated_at)
      VALUES (gen_random_uuid(), ${input.email}, ${input.name ?? null}, ${input.locale ?? 'EN'}::"Locale", now(), now())
      ON CONFLICT (email) DO NOTHING`;
    return tx.subscriber.findUniqueOrThrow({ where: { email: input.email } });
  }

  /**
   * Starts double opt-in. The answer is the same whether or not the email is known, and the
   * confirmation link goes to the mailbox (the outbox), never to the caller: nothing leaks.
   * An active subscriber is left untouched (a stranger cannot change their topics) and is sent
   * their preferences link instead.
   */
  async subscribe(raw: unknown): Promise<void> {
    const input = parseInput(subscribeInput, raw);
    await this.topics.assertKnown(input.topics, 'input.topics');
    const subscriber = await this.db.$transaction(async (tx) => {
      const person = await this.upsertByEmail(tx, input);
      // One subscribe per address at a time, so the count below holds until this one is written.
      await tx.$queryRaw`SELECT id FROM subscribers WHERE id = ${person.id}::uuid FOR UPDATE`;
      const recent = await tx.notification.count({
        where: { subscriberId: person.id, kind: { in: ['ALREADY_SUBSCRIBED', 'CONFIRM_SUBSCRIPTION'] }, createdAt: { gt: new Date(Date.now() - 3600_000) } },
      });
      const mayMail = recent < SUBSCRIBE_MAILS_PER_HOUR;
      if (person.status === 'ACTIVE') {
        if (mayMail) await tx.notification.create({ data: { subscriberId: person.id, kind: 'ALREADY_SUBSCRIBED', token: this.manageToken(person.id) } });
        return person;
      }
      const updated = await tx.subscriber.update({
        where: { id: person.id },
        data: { status: 'PENDING', topics: [...new Set(input.topics)], locale: input.locale, name: person.name ?? input.name ?? null, source: person.source ?? 'api' },
      });
      if (mayMail) {
        await tx.notification.create({
          data: { subscriberId: person.id, kind: 'CONFIRM_SUBSCRIPTION', token: this.tokens.sign('subscription:confirm', person.id, CONFIRM_TTL_SECONDS) },
        });
      }
      return updated;
    });
    await this.invalidate(subscriber.id);
  }

  /**
   * Single use: a confirmation link issued before the person's last confirmation or unsubscription
   * is dead (a replayed link would re-activate someone who unsubscribed).
   */
  async confirm(token: string): Promise<{ subscriber: Subscriber; manageToken: string }> {
    const times = this.tokens.verifyWithTimes('subscription:confirm', token);
    const current = await this.fromToken('subscription:confirm', token);
    const lastChange = Math.max(current.confirmedAt?.getTime() ?? 0, current.unsubscribedAt?.getTime() ?? 0);
    assertIssuedSince(times, CONFIRM_TTL_SECONDS, lastChange ? new Date(lastChange) : null);
    const subscriber = await this.db.subscriber.update({ where: { id: current.id }, data: { status: 'ACTIVE', confirmedAt: new Date(), unsubscribedAt: null } });
    await this.invalidate(subscriber.id);
    return { subscriber, manageToken: this.manageToken(subscriber.id) };
  }

  /** One click, idempotent. */
  async unsubscribe(token: string): Promise<Subscriber> {
    const current = await this.fromToken('subscription:manage', token);
    if (current.status === 'UNSUBSCRIBED') return current;
    const subscriber = await this.db.subscriber.update({ where: { id: current.id }, data: { status: 'UNSUBSCRIBED', unsubscribedAt: new Date() } });
    await this.invalidate(subscriber.id);
    return subscriber;
  }

  /**
   * The caller proves to be the confirmed (ACTIVE) subscriber with this email by presenting their
   * manage token: it only ever reached that mailbox (the confirmation answer, "already subscribed"
   * mails, List-Unsubscribe). BAD_USER_INPUT otherwise; typing the email proves nothing.
   */
  async assertConfirmedSubscriber(manageToken: string, email: string): Promise<void> {
    const refused = new ValidationError('The manage token is not that of a confirmed subscriber with this email', [{ path: 'input.manageToken', message: 'is not a confirmed subscription of this email' }]);
    const subscriber = await this.fromToken('subscription:manage', manageToken).catch(() => {
      throw refused;
    });
    if (subscriber.email !== email || subscriber.status !== 'ACTIVE') throw refused;
  }

  mine(token: string): Promise<Subscriber> {
    return this.fromToken('subscription:manage', token);
  }

  async updatePreferences(token: string, raw: unknown): Promise<Subscriber> {
    const current = await this.fromToken('subscription:manage', token);
    const { name, locale, topics, ...preferences } = parseInput(updatePreferencesInput, raw);
    if (topics) await this.topics.assertKnown(topics, 'input.topics', current.topics);
    const merged = { ...(current.preferences as object), ...preferences };
    const subscriber = await this.db.subscriber.update({
      where: { id: current.id },
      data: { preferences: merged, name: name === undefined ? undefined : name, locale, topics: topics ? [...new Set(topics)] : undefined },
    });
    await this.invalidate(subscriber.id);
    return subscriber;
  }

  /**
   * Segment counts in one GROUP BY; TOPIC counts a subscriber once per topic. Erased people are excluded.
   * Grouping is on the raw enums and a PREMIUM flag from one hashed semi-join (a per-row plan lookup
   * and text keys made 300,000 subscribers take 1.2 s instead of 0.16 s); labels are made after.
   */
  async segments(principal: Principal, groupBy: SegmentDimension[]): Promise<SegmentRow[]> {
    requireEditor(principal);
    const dims = [...new Set(groupBy)];
    if (dims.length === 0) throw new ValidationError('groupBy needs at least one dimension', [{ path: 'groupBy', message: 'must not be empty' }]);
    const grouped = { TOPIC: Prisma.sql`topic`, LOCALE: Prisma.sql`s.locale`, STATUS: Prisma.sql`s.status`, PLAN: Prisma.sql`(premium.subscriber_id IS NOT NULL)` };
    const label = {
      TOPIC: Prisma.sql`topic`,
      LOCALE: Prisma.sql`s.locale::text`,
      STATUS: Prisma.sql`s.status::text`,
      PLAN: Prisma.sql`CASE WHEN (premium.subscriber_id IS NOT NULL) THEN 'PREMIUM' ELSE 'FREE' END`,
    };
    const all = ['TOPIC', 'LOCALE', 'STATUS', 'PLAN'] as const;
    const selected = all.map((d) => Prisma.sql`${dims.includes(d) ? label[d] : Prisma.sql`NULL`} AS ${Prisma.raw(`"${d.toLowerCase()}"`)}`);
    return this.reporting.$queryRaw<SegmentRow[]>`
      SELECT ${Prisma.join(selected)}, count(*)::int AS count
      FROM subscribers s
      ${dims.includes('TOPIC') ? Prisma.sql`LEFT JOIN LATERAL unnest(s.topics) AS topic ON true` : Prisma.empty}
      ${dims.includes('PLAN') ? Prisma.sql`LEFT JOIN (${premiumSubscribers}) premium ON premium.subscriber_id = s.id` : Prisma.empty}
      WHERE s.status IS NOT NULL AND s.erased_at IS NULL
      GROUP BY ${Prisma.join(dims.map((d) => grouped[d]))}
      ORDER BY count DESC, 1, 2, 3, 4`;
  }

  /** Everything we hold on a person (ADMIN). */
  async exportData(principal: Principal, id: string): Promise<unknown> {
    requireAdmin(principal);
    const subscriber = await this.db.subscriber.findUnique({
      where: { id },
      include: { subscriptions: true, enrollments: { include: { workshop: { select: { slug: true, titleEn: true } } } }, responses: true, notifications: { select: { kind: true, createdAt: true, sentAt: true } } },
    });
    if (!subscriber) throw new NotFoundError('Subscriber');
    return JSON.parse(JSON.stringify(subscriber));
  }

  /**
   * Anonymizes a person in place (ADMIN): contact details, preferences and tokens go, and so do their
   * free-text answers (anything may be written there) and the link from their analytics events (every
   * partition: the update goes through the partitioned parent). Enrollments and the choice and rating
   * answers stay, so counts and statistics are unchanged.
   */
  async erase(principal: Principal, id: string): Promise<Subscriber> {
    requireAdmin(principal);
    const subscriber = await this.db.$transaction(async (tx) => {
      const current = await tx.subscriber.findUnique({ where: { id } });
      if (!current) throw new NotFoundError('Subscriber');
      await tx.notification.deleteMany({ where: { subscriberId: id } });
      await tx.$executeRaw`
        UPDATE questionnaire_responses r
           SET answers = r.answers - ARRAY(SELECT q.id::text FROM questions q WHERE q.questionnaire_id = r.questionnaire_id AND q.type = 'TEXT')
         WHERE r.subscriber_id = ${id}::uuid`;
      await tx.$executeRaw`UPDATE analytics.analytics_events SET subscriber_id = NULL WHERE subscriber_id = ${id}::uuid`;
      const erased = await tx.subscriber.update({
        where: { id },
        data: {
          email: `erased-${id}@erased.invalid`,
          name: null,
          preferences: {},
          topics: [],
          source: null,
          status: current.status ? 'UNSUBSCRIBED' : null,
          unsubscribedAt: current.unsubscribedAt ?? (current.status ? new Date() : null),
          erasedAt: current.erasedAt ?? new Date(),
        },
      });
      // Their history keeps which fields changed, not what they said; then the erasure itself is recorded.
      await scrubPersonRevisions(tx, id);
      await recordRevision(tx, principal, { type: 'Subscriber', id, action: 'ERASE', before: current, after: erased, subscriberId: id });
      return erased;
    });
    await this.invalidate(id);
    return subscriber;
  }

  private manageToken(id: string): string {
    return this.tokens.sign('subscription:manage', id, MANAGE_TTL_SECONDS);
  }

  private async fromToken(purpose: 'subscription:confirm' | 'subscription:manage', token: string): Promise<Subscriber> {
    const id = this.tokens.verify(purpose, token);
    const subscriber = await this.db.subscriber.findUnique({ where: { id } });
    // An erased person's old links are dead: answer as for any invalid token.
    if (!subscriber || subscriber.erasedAt) throw invalidTokenError();
    return subscriber;
  }

  private invalidate(id: string) {
    return this.cache.invalidate(subscriberCacheTags(id));
  }
}

/** Who has PREMIUM now (an active, unexpired PREMIUM subscription); everyone else is FREE. */
const premiumSubscribers = Prisma.sql`
  SELECT DISTINCT subscriber_id FROM subscriptions
  WHERE plan = 'PREMIUM' AND status = 'ACTIVE' AND (expires_at IS NULL OR expires_at > now())`;

/** The plan a subscriber has now: an active, unexpired PREMIUM wins over FREE. */
export const activePlan = Prisma.sql`
  SELECT sub.plan FROM subscriptions sub
  WHERE sub.subscriber_id = s.id AND sub.status = 'ACTIVE' AND (sub.expires_at IS NULL OR sub.expires_at > now())
  ORDER BY sub.plan DESC LIMIT 1`;

function requireAdmin(principal: Principal): void {
  if (!isAdmin(principal)) throw new ForbiddenError('Only admins may do this');
}
