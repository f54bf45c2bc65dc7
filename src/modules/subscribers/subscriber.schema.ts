import { builder } from '../../builder.js';
import type { Subscriber } from '../../generated/prisma/client.js';
import { LocaleEnum } from '../../shared/locale-enum.js';
import { encodeGlobalId } from '../../shared/ids.js';
import { isEditor, MATCH_NOTHING } from '../auth/principal.js';

export const SubscriberStatusEnum = builder.enumType('SubscriberStatus', {
  values: {
    PENDING: { description: 'Subscribed, not yet confirmed.' },
    ACTIVE: {},
    UNSUBSCRIBED: {},
    BOUNCED: {},
  } as const,
});

export const PlanEnum = builder.enumType('Plan', { values: ['FREE', 'PREMIUM'] as const });

interface StoredPreferences {
  frequency?: 'DAILY' | 'WEEKLY' | 'MONTHLY';
  channels?: string[];
  quietHours?: { start: string; end: string } | null;
  alerts?: 'INSTANT' | 'NONE';
  timeZone?: string;
  settings?: Record<string, unknown>;
}

export const FrequencyEnum = builder.enumType('Frequency', { values: ['DAILY', 'WEEKLY', 'MONTHLY'] as const });
export const ChannelEnum = builder.enumType('Channel', { values: ['EMAIL', 'SMS', 'PUSH'] as const });
export const AlertsEnum = builder.enumType('Alerts', {
  description: 'INSTANT: a mail within 30 s when a workshop on your topics is published (held during quiet hours); NONE: newsletters only.',
  values: ['INSTANT', 'NONE'] as const,
});

const QuietHoursRef = builder.objectRef<{ start: string; end: string }>('QuietHours').implement({
  fields: (t) => ({ start: t.exposeString('start', { description: 'HH:MM' }), end: t.exposeString('end', { description: 'HH:MM' }) }),
});

export const PreferencesRef = builder.objectRef<StoredPreferences>('Preferences').implement({
  fields: (t) => ({
    frequency: t.field({ type: FrequencyEnum, resolve: (p) => p.frequency ?? 'WEEKLY' }),
    channels: t.field({ type: [ChannelEnum], resolve: (p) => (p.channels ?? ['EMAIL']) as ('EMAIL' | 'SMS' | 'PUSH')[] }),
    quietHours: t.field({ type: QuietHoursRef, nullable: true, resolve: (p) => p.quietHours ?? null }),
    alerts: t.field({ type: AlertsEnum, resolve: (p) => p.alerts ?? 'NONE' }),
    timeZone: t.string({ description: 'IANA zone of the quiet hours (UTC when unset).', resolve: (p) => p.timeZone ?? 'UTC' }),
    settings: t.field({ type: 'JSON', resolve: (p) => p.settings ?? {} }),
  }),
});

/**
 * A person: our subscriber, enrollee or respondent. Personal data (email, name, preferences) is
 * readable by editors only; the person reads their own through `mySubscription(token)`.
 */
export const SubscriberRef = builder.prismaNode('Subscriber', {
  id: { field: 'id' },
  nullable: true,
  // Non-editors cannot load a person by id: node() gives null, as for a missing one.
  findUnique: (id, ctx) => (isEditor(ctx.principal) ? { id } : { id, ...MATCH_NOTHING }),
  fields: (t) => ({
    email: t.exposeString('email', { nullable: true, authScopes: { editor: true } }),
    name: t.exposeString('name', { nullable: true, authScopes: { editor: true } }),
    preferences: t.field({ type: PreferencesRef, nullable: true, authScopes: { editor: true }, resolve: (s) => s.preferences as StoredPreferences }),
    locale: t.expose('locale', { type: LocaleEnum }),
    status: t.expose('status', { type: SubscriberStatusEnum, nullable: true, description: 'Newsletter consent; null for people known only from enrollments or responses.' }),
    topics: t.exposeStringList('topics'),
    plan: t.field({ type: PlanEnum, resolve: async (s, _args, ctx) => (await ctx.loaders.subscribers.plan.load(s.id)) as 'FREE' | 'PREMIUM' }),
    source: t.exposeString('source', { nullable: true }),
    confirmedAt: t.expose('confirmedAt', { type: 'DateTime', nullable: true }),
    unsubscribedAt: t.expose('unsubscribedAt', { type: 'DateTime', nullable: true }),
    erased: t.boolean({ resolve: (s) => s.erasedAt !== null }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

/** The subscriber's own view, reached with their token: their data, readable by them. */
export const MySubscriptionRef = builder.objectRef<{ subscriber: Subscriber; manageToken?: string | null }>('MySubscription').implement({
  fields: (t) => ({
    // Lets the response cache tag (and so invalidate) this view per person.
    id: t.id({ resolve: ({ subscriber }) => encodeGlobalId('Subscriber', subscriber.id) }),
    email: t.string({ resolve: ({ subscriber }) => subscriber.email }),
    name: t.string({ nullable: true, resolve: ({ subscriber }) => subscriber.name }),
    locale: t.field({ type: LocaleEnum, resolve: ({ subscriber }) => subscriber.locale }),
    status: t.field({ type: SubscriberStatusEnum, nullable: true, resolve: ({ subscriber }) => subscriber.status }),
    topics: t.stringList({ resolve: ({ subscriber }) => subscriber.topics }),
    preferences: t.field({ type: PreferencesRef, resolve: ({ subscriber }) => subscriber.preferences as StoredPreferences }),
    plan: t.field({ type: PlanEnum, resolve: async ({ subscriber }, _args, ctx) => (await ctx.loaders.subscribers.plan.load(subscriber.id)) as 'FREE' | 'PREMIUM' }),
    manageToken: t.string({
      nullable: true,
      description: 'After confirmSubscription only: the token for mySubscription, updatePreferences and unsubscribe.',
      resolve: ({ manageToken }) => manageToken ?? null,
    }),
  }),
});
