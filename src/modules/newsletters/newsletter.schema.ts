import { builder } from '../../builder.js';
import { isEditor, MATCH_NOTHING } from '../auth/principal.js';
import type { NewsletterProgress } from './newsletters-service.js';

const NewsletterStatusEnum = builder.enumType('NewsletterStatus', { values: ['DRAFT', 'SCHEDULED', 'SENDING', 'SENT', 'CANCELLED'] as const });
const FrequencyEnum = builder.enumType('NewsletterFrequency', {
  description: "Matches the subscribers' chosen frequency (preferences.frequency).",
  values: ['DAILY', 'WEEKLY', 'MONTHLY'] as const,
});

const NewsletterProgressRef = builder.objectRef<NewsletterProgress>('NewsletterProgress').implement({
  description: 'Deliveries by status, and the send rate.',
  fields: (t) => ({
    queued: t.exposeInt('queued'),
    rendered: t.exposeInt('rendered'),
    sent: t.exposeInt('sent'),
    failed: t.exposeInt('failed', { description: 'Used up their attempts (dead-lettered).' }),
    skipped: t.exposeInt('skipped', { description: 'Unsubscribed before sending, or the newsletter was cancelled.' }),
    ratePerMinute: t.exposeInt('ratePerMinute', { description: 'Deliveries sent in the last minute.' }),
  }),
});

export const NewsletterRef = builder.prismaNode('Newsletter', {
  id: { field: 'id' },
  nullable: true,
  description: 'A newsletter about upcoming workshops (editors and admins).',
  findUnique: (id, ctx) => (isEditor(ctx.principal) ? { id } : { id, ...MATCH_NOTHING }),
  fields: (t) => ({
    subjectEn: t.exposeString('subjectEn'),
    subjectPl: t.exposeString('subjectPl', { nullable: true, description: 'Polish readers get the English subject when null.' }),
    introEn: t.exposeString('introEn'),
    introPl: t.exposeString('introPl', { nullable: true }),
    topics: t.exposeStringList('topics', { description: 'Subscribers following any of these get it; empty = every active subscriber.' }),
    frequency: t.field({ type: FrequencyEnum, nullable: true, resolve: (n) => n.frequency as 'DAILY' | 'WEEKLY' | 'MONTHLY' | null }),
    status: t.expose('status', { type: NewsletterStatusEnum }),
    scheduledAt: t.expose('scheduledAt', { type: 'DateTime', nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    progress: t.field({ type: NewsletterProgressRef, resolve: (n, _args, ctx) => ctx.services.newsletters.progress(n.id) }),
  }),
});

const NewsletterInput = builder.inputType('NewsletterInput', {
  fields: (t) => ({
    subjectEn: t.string({ required: true }),
    subjectPl: t.string(),
    introEn: t.string({ required: true }),
    introPl: t.string(),
    topics: t.stringList({ description: 'Topic slugs; empty or absent = every active subscriber.' }),
    frequency: t.field({ type: FrequencyEnum }),
  }),
});

const UpdateNewsletterInput = builder.inputType('UpdateNewsletterInput', {
  fields: (t) => ({
    subjectEn: t.string(),
    subjectPl: t.string(),
    introEn: t.string(),
    introPl: t.string(),
    topics: t.stringList(),
    frequency: t.field({ type: FrequencyEnum }),
  }),
});

builder.queryField('newsletters', (t) =>
  t.field({
    type: [NewsletterRef],
    authScopes: { editor: true },
    description: 'Newsletters, newest first (editors).',
    args: { first: t.arg.int({ defaultValue: 20, description: 'At most 100.' }) },
    resolve: (_root, args, ctx) => ctx.services.newsletters.list(ctx.principal, args.first ?? 20),
  }),
);

builder.mutationFields((t) => ({
  createNewsletter: t.field({
    type: NewsletterRef,
    description: 'A new DRAFT newsletter (editors).',
    args: { input: t.arg({ type: NewsletterInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.newsletters.create(ctx.principal, input),
  }),
  updateNewsletter: t.field({
    type: NewsletterRef,
    description: 'Edits a DRAFT or SCHEDULED newsletter (editors).',
    args: { id: t.arg.globalID({ required: true, for: NewsletterRef }), input: t.arg({ type: UpdateNewsletterInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => ctx.services.newsletters.update(ctx.principal, id.id, input),
  }),
  deleteNewsletter: t.field({
    type: NewsletterRef,
    description: 'Deletes a DRAFT or CANCELLED newsletter (editors).',
    args: { id: t.arg.globalID({ required: true, for: NewsletterRef }) },
    resolve: (_root, { id }, ctx) => ctx.services.newsletters.delete(ctx.principal, id.id),
  }),
  scheduleNewsletter: t.field({
    type: NewsletterRef,
    description: 'Sends at `at` (now or later) to the ACTIVE subscribers whose topics and frequency match (editors); rescheduling replaces the time.',
    args: { id: t.arg.globalID({ required: true, for: NewsletterRef }), at: t.arg({ type: 'DateTime', required: true }) },
    resolve: (_root, { id, at }, ctx) => ctx.services.newsletters.schedule(ctx.principal, id.id, at),
  }),
  cancelNewsletter: t.field({
    type: NewsletterRef,
    description: 'Stops a scheduled or sending newsletter (editors): deliveries not yet sent are SKIPPED.',
    args: { id: t.arg.globalID({ required: true, for: NewsletterRef }) },
    resolve: (_root, { id }, ctx) => ctx.services.newsletters.cancel(ctx.principal, id.id),
  }),
}));
