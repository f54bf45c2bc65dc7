// Clients reporting analytics events in batches, with retries that resend a batch (never counted twice).
// k6 run -e BASE_URL=http://127.0.0.1:4000 -e API_KEY=<partner or editor key> k6/scenarios/event-ingestion.js
// Without a key only WORKSHOP_VIEW and PAGE_VIEW are accepted (and the anonymous rate limit applies).
import { check } from 'k6';
import { graphql, uuid } from '../lib/graphql.js';

export const options = {
  scenarios: {
    ingest: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '2m', preAllocatedVUs: 10, maxVUs: 40 },
  },
  thresholds: { http_req_duration: ['p(95)<150'], http_req_failed: ['rate<0.01'], checks: ['rate>0.99'] },
};

const TRACK = `mutation ($events: [EventInput!]!) { trackEvents(events: $events) { accepted duplicates } }`;
const PAGE = `{ workshops(first: 50) { edges { node { id } } } }`;
const BATCH = Number(__ENV.BATCH || 100);

export function setup() {
  return { ids: graphql(PAGE, {}, 'setup').json('data.workshops.edges').map((e) => e.node.id) };
}

export default function ({ ids }) {
  const now = Date.now();
  const events = Array.from({ length: BATCH }, (_, i) => ({
    id: uuid(),
    type: i % 5 === 0 ? 'PAGE_VIEW' : 'WORKSHOP_VIEW',
    workshopId: i % 5 === 0 ? null : ids[Math.floor(Math.random() * ids.length)],
    occurredAt: new Date(now - Math.floor(Math.random() * 60_000)).toISOString(),
    channel: 'k6',
  }));
  const first = graphql(TRACK, { events }, 'trackEvents').json('data.trackEvents');
  check(first, { 'every new event accepted': (r) => r && r.accepted === BATCH });
  // A client retrying after a lost response: everything is a duplicate.
  if (Math.random() < 0.1) {
    const retry = graphql(TRACK, { events }, 'trackEvents-retry').json('data.trackEvents');
    check(retry, { 'a resent batch counts nothing twice': (r) => r && r.accepted === 0 && r.duplicates === BATCH });
  }
}
