import type { Subscriber } from '../../generated/prisma/client.js';

/**
 * A subscriber row in raw SQL (see selectColumns), e.g. joined to the enrollments that name the person.
 * A module of its own, importing nothing at run time: the workshop loaders build their rows from it as
 * they load, and the subscriber modules import the workshop ones.
 */
export const SUBSCRIBER_COLUMNS = {
  id: 'id', email: 'email', name: 'name', locale: 'locale::text', status: 'status::text', topics: 'topics', preferences: 'preferences',
  source: 'source', confirmedAt: 'confirmed_at', unsubscribedAt: 'unsubscribed_at', erasedAt: 'erased_at', createdAt: 'created_at', updatedAt: 'updated_at',
} satisfies Record<keyof Subscriber, string>;
