import type { Topic } from '../../generated/prisma/client.js';
import { builder } from '../../builder.js';
import { LocaleEnum, LocalizedTextInput } from '../../shared/locale-enum.js';
import { localized } from '../../shared/locale.js';

export const TopicRef = builder.prismaObject('Topic', {
  description: 'A topic from the managed list; workshops are tagged with topics and subscribers follow them.',
  fields: (t) => ({
    slug: t.exposeString('slug'),
    name: t.string({
      args: { locale: t.arg({ type: LocaleEnum }) },
      resolve: (topic, args, ctx) => localized(args.locale ?? ctx.locale, topic.nameEn, topic.namePl),
    }),
    retired: t.boolean({
      description: 'Retired topics stay on the workshops and subscribers that have them, but cannot be chosen anew.',
      resolve: (topic) => topic.retiredAt !== null,
    }),
    retiredAt: t.expose('retiredAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.prismaObjectField('Workshop', 'topics', (t) =>
  t.field({
    type: [TopicRef],
    description: 'The topics of `tags`, in the same order (retired ones included).',
    resolve: async (workshop, _args, ctx) =>
      (await ctx.loaders.topics.bySlug.loadMany(workshop.tags)).filter((topic): topic is Topic => topic !== null && !(topic instanceof Error)),
  }),
);

builder.queryField('topics', (t) =>
  t.field({
    type: [TopicRef],
    description: 'The managed topic list, by slug.',
    args: { includeRetired: t.arg.boolean({ defaultValue: false, description: 'Also list retired topics.' }) },
    resolve: (_root, args, ctx) => ctx.services.topics.list({ includeRetired: args.includeRetired ?? false }),
  }),
);

const CreateTopicInput = builder.inputType('CreateTopicInput', {
  fields: (t) => ({
    slug: t.string({ required: true, description: 'Lower-case words joined by hyphens; it never changes.' }),
    name: t.field({ type: LocalizedTextInput, required: true }),
  }),
});

const UpdateTopicInput = builder.inputType('UpdateTopicInput', {
  fields: (t) => ({ name: t.field({ type: LocalizedTextInput, required: true }) }),
});

builder.mutationFields((t) => ({
  createTopic: t.field({
    type: TopicRef,
    description: 'Adds a topic to the managed list (editors). A taken slug is CONFLICT.',
    args: { input: t.arg({ type: CreateTopicInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.topics.create(ctx.principal, input),
  }),
  updateTopic: t.field({
    type: TopicRef,
    description: 'Renames a topic in English and Polish (editors); the slug stays.',
    args: { slug: t.arg.string({ required: true }), input: t.arg({ type: UpdateTopicInput, required: true }) },
    resolve: (_root, { slug, input }, ctx) => ctx.services.topics.update(ctx.principal, slug, input),
  }),
  retireTopic: t.field({
    type: TopicRef,
    description: 'Retires a topic (editors): it stays where it is used, is hidden from `topics`, and new tags or subscriptions with it are BAD_USER_INPUT.',
    args: { slug: t.arg.string({ required: true }) },
    resolve: (_root, { slug }, ctx) => ctx.services.topics.retire(ctx.principal, slug),
  }),
}));
