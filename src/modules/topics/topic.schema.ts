import { builder } from '../../builder.js';
import { LocaleEnum } from '../../shared/locale-enum.js';
import { localized } from '../../shared/locale.js';

export const TopicRef = builder.prismaObject('Topic', {
  description: 'A topic from the managed list; workshops are tagged with topics and subscribers follow them.',
  fields: (t) => ({
    slug: t.exposeString('slug'),
    name: t.string({
      args: { locale: t.arg({ type: LocaleEnum }) },
      resolve: (topic, args, ctx) => localized(args.locale ?? ctx.locale, topic.nameEn, topic.namePl),
    }),
  }),
});

builder.queryField('topics', (t) =>
  t.field({
    type: [TopicRef],
    description: 'Every topic, by slug.',
    resolve: (_root, _args, ctx) => ctx.services.topics.list(),
  }),
);
