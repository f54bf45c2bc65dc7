/** What GraphiQL opens with: something useful to run straight away against the demo data. */
export const GRAPHIQL_EXAMPLE_QUERY = `# Upcoming published workshops with seats left. Try locale: PL, or filter: { search: "typescript" }.
# Editors: add the header  Authorization: Bearer <key>  (see the README) to see drafts and enrollments.
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
