import { builder } from '../../builder.js';
import { LocaleEnum } from '../../shared/locale-enum.js';
import { isEditor, MATCH_NOTHING } from '../auth/principal.js';

/** Personal data: readable by editors only (the subscribers issue adds the subscriber's own token). */
export const SubscriberRef = builder.prismaNode('Subscriber', {
  id: { field: 'id' },
  nullable: true,
  // Non-editors cannot load a person by id: node() gives null, as for a missing one.
  findUnique: (id, ctx) => (isEditor(ctx.principal) ? { id } : { id, ...MATCH_NOTHING }),
  fields: (t) => ({
    email: t.exposeString('email', { nullable: true, authScopes: { editor: true } }),
    name: t.exposeString('name', { nullable: true, authScopes: { editor: true } }),
    locale: t.expose('locale', { type: LocaleEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
