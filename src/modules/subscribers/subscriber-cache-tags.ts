import { cacheEntity, encodeGlobalId } from '../../shared/ids.js';

/**
 * What a change to a person can make stale in the response cache: the person wherever they appear
 * (and their own lists: enrollments, responses, even empty ones), their self-service view, and the
 * lists and counts of people. A new person (subscribe, enroll, submitResponse) changes the last two.
 */
export function subscriberCacheTags(id: string) {
  return [
    cacheEntity('Subscriber', id),
    { typename: 'MySubscription', id: encodeGlobalId('Subscriber', id) },
    { typename: 'Query.subscribers' },
    { typename: 'Query.subscriberSegments' },
  ];
}
