import { builder } from '../../builder.js';
import type { Prisma, Subscriber } from '../../generated/prisma/client.js';
import { LocaleEnum } from '../../shared/locale-enum.js';
import { assertPageSize, keysetPage, NEWEST_FIRST, resolveTotalCount, type KeysetOrder } from '../../shared/pagination.js';
import { requireEditor } from '../workshops/workshops-service.js';
import { QuestionnaireResponseRef } from '../questionnaires/questionnaire.schema.js';
import { EnrollmentRef } from '../workshops/enrollment.schema.js';
import { AlertsEnum, ChannelEnum, FrequencyEnum, MySubscriptionRef, PlanEnum, SubscriberRef, SubscriberStatusEnum } from './subscriber.schema.js';

builder.objectFields(SubscriberRef, (t) => ({
  enrollments: t.field({
    type: [EnrollmentRef],
    nullable: true,
    authScopes: { editor: true },
    resolve: (s, _args, ctx) => ctx.loaders.subscribers.enrollments.load(s.id),
  }),
  questionnaireResponses: t.field({
    type: [QuestionnaireResponseRef],
    nullable: true,
    authScopes: { editor: true },
    resolve: (s, _args, ctx) => ctx.loaders.subscribers.responses.load(s.id),
  }),
}));

const SegmentDimensionEnum = builder.enumType('SegmentDimension', { values: ['TOPIC', 'LOCALE', 'STATUS', 'PLAN'] as const });

const SegmentRef = builder.objectRef<{ topic: string | null; locale: string | null; status: string | null; plan: string | null; count: number }>('Segment').implement({
  description: 'A count of newsletter subscribers (any status) sharing the grouped values; ungrouped dimensions are null.',
  fields: (t) => ({
    topic: t.exposeString('topic', { nullable: true }),
    locale: t.field({ type: LocaleEnum, nullable: true, resolve: (s) => s.locale as 'EN' | 'PL' | null }),
    status: t.field({ type: SubscriberStatusEnum, nullable: true, resolve: (s) => s.status as never }),
    plan: t.field({ type: PlanEnum, nullable: true, resolve: (s) => s.plan as never }),
    count: t.exposeInt('count'),
  }),
});

const SubscriberFilter = builder.inputType('SubscriberFilter', {
  fields: (t) => ({
    status: t.field({ type: SubscriberStatusEnum }),
    topic: t.string(),
    locale: t.field({ type: LocaleEnum }),
    search: t.string({ description: 'Part of the email or name, case-insensitive.' }),
    plan: t.field({ type: PlanEnum }),
  }),
});

const SUBSCRIBER_ORDERS = {
  CREATED_AT_DESC: NEWEST_FIRST,
  // Emails are stored lower-cased, so this is the case-insensitive order people expect.
  EMAIL_ASC: { field: 'email', direction: 'asc', keyType: 'text', tag: 'email' },
} satisfies Record<string, KeysetOrder>;

const SubscriberOrderEnum = builder.enumType('SubscriberOrder', {
  values: {
    CREATED_AT_DESC: { description: 'Newest first (default).' },
    EMAIL_ASC: { description: 'By email address, A to Z.' },
  } as const,
});

function subscriberWhere(filter: { status?: string | null; topic?: string | null; locale?: string | null; search?: string | null; plan?: string | null }): Prisma.SubscriberWhereInput {
  const search = filter.search?.trim().slice(0, 100);
  const now = new Date();
  const premium: Prisma.SubscriptionListRelationFilter = { some: { plan: 'PREMIUM', status: 'ACTIVE', OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] } };
  return {
    erasedAt: null,
    ...(filter.status ? { status: filter.status as never } : {}),
    ...(filter.topic ? { topics: { has: filter.topic } } : {}),
    ...(filter.locale ? { locale: filter.locale as never } : {}),
    ...(search ? { OR: [{ email: { contains: search, mode: 'insensitive' } }, { name: { contains: search, mode: 'insensitive' } }] } : {}),
    ...(filter.plan === 'PREMIUM' ? { subscriptions: premium } : filter.plan === 'FREE' ? { NOT: { subscriptions: premium } } : {}),
  };
}

builder.queryFields((t) => ({
  subscribers: t.connection(
    {
      type: SubscriberRef,
      nullable: true,
      authScopes: { editor: true },
      description: 'Everyone we know (subscribers, enrollees, respondents), newest first unless ordered otherwise. Editors only.',
      args: { filter: t.arg({ type: SubscriberFilter }), orderBy: t.arg({ type: SubscriberOrderEnum, defaultValue: 'CREATED_AT_DESC' }) },
      resolve: async (_root, args, ctx) => {
        requireEditor(ctx.principal);
        assertPageSize(args);
        const where = subscriberWhere(args.filter ?? {});
        return {
          ...(await keysetPage<Subscriber>(args, SUBSCRIBER_ORDERS[args.orderBy ?? 'CREATED_AT_DESC'], ({ cursorWhere, orderBy, take }) =>
            ctx.db.subscriber.findMany({ where: { AND: [where, ...cursorWhere] }, orderBy, take }),
          )),
          totalCount: () => ctx.db.subscriber.count({ where }),
        };
      },
    },
    { name: 'SubscriberConnection', fields: (c) => ({ totalCount: c.int({ resolve: resolveTotalCount }) }) },
  ),
  subscriber: t.prismaField({
    type: 'Subscriber',
    nullable: true,
    authScopes: { editor: true },
    args: { id: t.arg.globalID({ required: true, for: SubscriberRef }) },
    resolve: (query, _root, { id }, ctx) => ctx.db.subscriber.findFirst({ ...query, where: { id: id.id } }),
  }),
  subscriberSegments: t.field({
    type: [SegmentRef],
    nullable: true,
    authScopes: { editor: true },
    complexity: 20,
    args: { groupBy: t.arg({ type: [SegmentDimensionEnum], required: true }) },
    resolve: (_root, { groupBy }, ctx) => ctx.services.subscribers.segments(ctx.principal, groupBy),
  }),
  mySubscription: t.field({
    type: MySubscriptionRef,
    description: 'The subscriber’s own data, with the token from their email.',
    args: { token: t.arg.string({ required: true }) },
    resolve: async (_root, { token }, ctx) => ({ subscriber: await ctx.services.subscribers.mine(token) }),
  }),
}));

const SubscribeInput = builder.inputType('SubscribeInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    name: t.string(),
    locale: t.field({ type: LocaleEnum, required: true }),
    topics: t.stringList({ description: 'Topic slugs (see `topics`).' }),
  }),
});

const QuietHoursInput = builder.inputType('QuietHoursInput', {
  fields: (t) => ({ start: t.string({ required: true }), end: t.string({ required: true }) }),
});

const UpdatePreferencesInput = builder.inputType('UpdatePreferencesInput', {
  fields: (t) => ({
    frequency: t.field({ type: FrequencyEnum }),
    channels: t.field({ type: [ChannelEnum] }),
    quietHours: t.field({ type: QuietHoursInput }),
    alerts: t.field({ type: AlertsEnum }),
    timeZone: t.string({ description: 'IANA zone of the quiet hours, e.g. Europe/Warsaw.' }),
    settings: t.field({ type: 'JSON', description: 'Free-form: up to 30 keys with string, number, boolean or null values.' }),
    topics: t.stringList(),
    locale: t.field({ type: LocaleEnum }),
    name: t.string(),
  }),
});

const SubscribePayload = builder.objectRef<{ accepted: boolean }>('SubscribePayload').implement({
  fields: (t) => ({
    accepted: t.exposeBoolean('accepted'),
    message: t.string({ resolve: () => 'If this address can receive our newsletter, a confirmation link is on its way.' }),
  }),
});

builder.mutationFields((t) => ({
  subscribe: t.field({
    type: SubscribePayload,
    description: 'Double opt-in: the same answer whether or not the email is known; the link goes to the mailbox.',
    args: { input: t.arg({ type: SubscribeInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await ctx.services.subscribers.subscribe(input);
      return { accepted: true };
    },
  }),
  confirmSubscription: t.field({
    type: MySubscriptionRef,
    args: { token: t.arg.string({ required: true }) },
    resolve: (_root, { token }, ctx) => ctx.services.subscribers.confirm(token),
  }),
  unsubscribe: t.field({
    type: MySubscriptionRef,
    description: 'One click; repeating it is harmless.',
    args: { token: t.arg.string({ required: true }) },
    resolve: async (_root, { token }, ctx) => ({ subscriber: await ctx.services.subscribers.unsubscribe(token) }),
  }),
  updatePreferences: t.field({
    type: MySubscriptionRef,
    args: { token: t.arg.string({ required: true }), input: t.arg({ type: UpdatePreferencesInput, required: true }) },
    resolve: async (_root, { token, input }, ctx) => ({ subscriber: await ctx.services.subscribers.updatePreferences(token, input) }),
  }),
  exportSubscriberData: t.field({
    type: 'JSON',
    description: 'Everything held on a person (ADMIN).',
    args: { id: t.arg.globalID({ required: true, for: SubscriberRef }) },
    resolve: (_root, { id }, ctx) => ctx.services.subscribers.exportData(ctx.principal, id.id),
  }),
  eraseSubscriber: t.field({
    type: SubscriberRef,
    description: 'Anonymizes a person (ADMIN); their enrollments and responses stay for the statistics.',
    args: { id: t.arg.globalID({ required: true, for: SubscriberRef }) },
    resolve: (_root, { id }, ctx) => ctx.services.subscribers.erase(ctx.principal, id.id),
  }),
}));
