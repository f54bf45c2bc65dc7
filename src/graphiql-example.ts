import type { GraphiQLOptions } from 'graphql-yoga';

/** What GraphiQL opens with: something useful to run straight away against the demo data. */
export const GRAPHIQL_EXAMPLE_QUERY = `# Upcoming published workshops with seats left. Try locale: PL, or filter: { search: "typescript" }.
# Editors: add the header  Authorization: Bearer <key>  (see the README) to see drafts and enrollments.
# Live seats (GraphiQL runs subscriptions over SSE): subscription { workshopChanged(id: "<id>") { seatsLeft waitlistCount } }
# Slow parts after the page: ... @defer { statistics { attendanceRate } }  (statistics need an API key).
query UpcomingWorkshops {
  workshops(first: 5, filter: { upcoming: true }, orderBy: STARTS_AT_ASC) {
    totalCount
    edges {
      node {
        id
        slug
        title(locale: EN)
        startsAt
        timezone
        capacity
        enrollmentCount
        waitlistCount
        seatsLeft
        tags
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;

/**
 * GraphiQL's page options. `defaultQuery` is what a first visit opens with (the browser test proves it
 * with render-graphiql 5.24.1's assets; older GraphiQL assets showed their welcome text instead, yoga
 * issue 3979). Unlike `query`, it does not replace a returning user's own tabs on every visit.
 */
export const GRAPHIQL_OPTIONS: GraphiQLOptions = { title: 'Workshops API', defaultQuery: GRAPHIQL_EXAMPLE_QUERY };

const pages = new Map<string, Promise<string>>();

/**
 * The GraphiQL page with its JS, CSS and editor workers inlined (@graphql-yoga/render-graphiql), so
 * it works without internet; Yoga's own page loads them from a CDN. The page is ~9 MB and the same
 * for every visit, so it is rendered once per set of options; the assets are loaded on the first visit,
 * so a server without GraphiQL (production) never holds them in memory.
 */
export function renderOfflineGraphiQL(options: GraphiQLOptions): Promise<string> {
  const key = JSON.stringify(options);
  let page = pages.get(key);
  if (page === undefined) {
    page = import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL(options));
    pages.set(key, page);
  }
  return page;
}
