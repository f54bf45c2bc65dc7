// Frontend traffic: mostly reads of published workshop pages, some enrollments.
// k6 run -e BASE_URL=http://127.0.0.1:4000 k6/scenarios/read-mostly.js
// Thresholds are the product targets: p95 < 150 ms, under 1 % errors.
import { graphql } from '../lib/graphql.js';

export const options = {
  scenarios: {
    browse: { executor: 'constant-arrival-rate', rate: 100, timeUnit: '1s', duration: '2m', preAllocatedVUs: 20, maxVUs: 100 },
  },
  thresholds: { http_req_duration: ['p(95)<150'], http_req_failed: ['rate<0.01'] },
};

const PAGE = `query ($after: String) { workshops(first: 20, after: $after) { edges { node { id slug title startsAt seatsLeft tags } } pageInfo { endCursor } } }`;
const ENROLL = `mutation ($input: EnrollInput!) { enroll(input: $input) { accepted } }`;

export function setup() {
  const ids = graphql(PAGE).json('data.workshops.edges').map((e) => e.node.id);
  return { ids };
}

export default function ({ ids }) {
  if (Math.random() < 0.02 && ids.length) {
    const workshopId = ids[Math.floor(Math.random() * ids.length)];
    graphql(ENROLL, { input: { workshopId, email: `k6-${__VU}-${__ITER}-${Date.now()}@example.com` } }, 'enroll');
  } else {
    graphql(PAGE, {}, 'workshops');
  }
}
