// A frontend app (or a partner) calling persisted operations by id over GET, revalidating with ETags.
// k6 run -e BASE_URL=http://127.0.0.1:4000 k6/scenarios/persisted-get.js
// Partners: add -e API_KEY=<partner key> -e MANIFEST=../../persisted/<client>.json (their own ids only).
import { check } from 'k6';
import { persistedGet } from '../lib/graphql.js';

export const options = {
  scenarios: {
    browse: { executor: 'constant-arrival-rate', rate: 200, timeUnit: '1s', duration: '2m', preAllocatedVUs: 20, maxVUs: 100 },
  },
  thresholds: {
    http_req_duration: ['p(95)<150'],
    http_req_failed: ['rate<0.01'],
    // Most answers come from the response cache: keep them far below the API target.
    'http_req_duration{name:UpcomingWorkshops}': ['p(95)<50'],
  },
};

// A manifest as the server loads it (graphql-codegen's `{"sha256:<hex>": document}` or Apollo's): name → id.
const manifest = JSON.parse(open(__ENV.MANIFEST || '../../persisted/web.json'));
const entries = Array.isArray(manifest.operations)
  ? manifest.operations.map((op) => [op.id, op.body])
  : Object.entries(manifest);
const ids = {};
for (const [id, document] of entries) {
  const name = /(?:query|mutation)\s+(\w+)/.exec(document)?.[1];
  if (name) ids[name] = id;
}

export default function () {
  const locale = Math.random() < 0.3 ? 'PL' : 'EN';
  const page = persistedGet(ids.UpcomingWorkshops, { first: 12, locale }, 'UpcomingWorkshops');
  check(page, { 'cacheable for anonymous callers': (r) => __ENV.API_KEY || /public, max-age=\d+/.test(r.headers['Cache-Control'] || '') });
  // A browser revalidating what it holds: the server answers 304 while the page has not changed.
  const etag = page.headers.Etag;
  if (etag) check(persistedGet(ids.UpcomingWorkshops, { first: 12, locale }, 'UpcomingWorkshops', etag), { 'revalidated (304)': (r) => r.status === 304 });
  if (Math.random() < 0.2) persistedGet(ids.Topics, { locale }, 'Topics');
}
