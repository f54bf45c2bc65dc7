// Editors and partners opening analytics dashboards (answers come from the materialized statistics).
// k6 run -e BASE_URL=http://127.0.0.1:4000 -e API_KEY=<editor key> k6/scenarios/dashboards.js
// Best against the year profile: npm run seed -- --profile=year (see README "Analytics").
import { graphql, lastDays } from '../lib/graphql.js';

export const options = {
  scenarios: {
    dashboards: { executor: 'constant-arrival-rate', rate: 50, timeUnit: '1s', duration: '2m', preAllocatedVUs: 10, maxVUs: 50 },
  },
  thresholds: {
    http_req_duration: ['p(95)<150'],
    http_req_failed: ['rate<0.01'],
    // The product plan allows 500 ms for analytics over a year; we read pre-aggregated views.
    'http_req_duration{name:dashboard}': ['p(95)<100'],
  },
};

const DASHBOARD = `query ($range: DateRangeInput!, $year: DateRangeInput!) { analytics {
  statsAsOf
  overview(range: $range) { views enrollments cancellations conversion newsletterOpens newsletterClicks }
  timeseries(metric: VIEWS, interval: WEEK, range: $year) { bucket value }
  topWorkshops(metric: ENROLLMENTS, range: $range, limit: 10) { value workshop { id slug title statistics { views enrollments nps averageRating } } }
} }`;
const WORKSHOP = `query ($id: ID!, $year: DateRangeInput!) { workshop(id: $id) {
  statistics { views enrollments waitlisted cancellations attendanceRate conversion responses averageRating nps statsAsOf }
} analytics { timeseries(metric: VIEWS, interval: DAY, range: $year, workshopId: $id) { bucket value } } }`;

export function setup() {
  const top = graphql(DASHBOARD, { range: lastDays(90), year: lastDays(365) }, 'dashboard').json('data.analytics.topWorkshops') || [];
  return { ids: top.map((t) => t.workshop && t.workshop.id).filter(Boolean) };
}

export default function ({ ids }) {
  const days = [7, 30, 90][Math.floor(Math.random() * 3)];
  graphql(DASHBOARD, { range: lastDays(days), year: lastDays(365) }, 'dashboard');
  if (ids.length) graphql(WORKSHOP, { id: ids[Math.floor(Math.random() * ids.length)], year: lastDays(365) }, 'workshop-statistics');
}
