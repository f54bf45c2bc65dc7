/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query UpcomingWorkshops($first: Int = 12, $after: String, $tag: String, $search: String, $locale: Locale) {\n  workshops(\n    first: $first\n    after: $after\n    filter: {upcoming: true, tag: $tag, search: $search}\n    orderBy: STARTS_AT_ASC\n  ) {\n    totalCount\n    edges {\n      node {\n        ...WorkshopCard\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery WorkshopPage($slug: String!, $locale: Locale) {\n  workshopBySlug(slug: $slug) {\n    ...WorkshopCard\n    description(locale: $locale)\n    endsAt\n    location\n    onlineUrl\n    waitlistCount\n  }\n}\n\nquery Topics($locale: Locale) {\n  topics {\n    slug\n    name(locale: $locale)\n  }\n}\n\nmutation Enroll($input: EnrollInput!) {\n  enroll(input: $input) {\n    accepted\n  }\n}\n\nmutation CheckInWithMyCode($token: String!) {\n  checkInByToken(token: $token) {\n    id\n    status\n    checkedInAt\n  }\n}\n\nsubscription LiveSeats($id: ID!) {\n  workshopChanged(id: $id) {\n    id\n    status\n    seatsLeft\n    waitlistCount\n  }\n}\n\nmutation CancelMyEnrollment($id: ID!, $token: String!) {\n  cancelEnrollment(id: $id, token: $token) {\n    id\n    status\n  }\n}\n\nfragment WorkshopCard on Workshop {\n  id\n  slug\n  title(locale: $locale)\n  startsAt\n  timezone\n  topics {\n    slug\n    name(locale: $locale)\n  }\n  seatsLeft\n}": typeof types.UpcomingWorkshopsDocument,
};
const documents: Documents = {
    "query UpcomingWorkshops($first: Int = 12, $after: String, $tag: String, $search: String, $locale: Locale) {\n  workshops(\n    first: $first\n    after: $after\n    filter: {upcoming: true, tag: $tag, search: $search}\n    orderBy: STARTS_AT_ASC\n  ) {\n    totalCount\n    edges {\n      node {\n        ...WorkshopCard\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery WorkshopPage($slug: String!, $locale: Locale) {\n  workshopBySlug(slug: $slug) {\n    ...WorkshopCard\n    description(locale: $locale)\n    endsAt\n    location\n    onlineUrl\n    waitlistCount\n  }\n}\n\nquery Topics($locale: Locale) {\n  topics {\n    slug\n    name(locale: $locale)\n  }\n}\n\nmutation Enroll($input: EnrollInput!) {\n  enroll(input: $input) {\n    accepted\n  }\n}\n\nmutation CheckInWithMyCode($token: String!) {\n  checkInByToken(token: $token) {\n    id\n    status\n    checkedInAt\n  }\n}\n\nsubscription LiveSeats($id: ID!) {\n  workshopChanged(id: $id) {\n    id\n    status\n    seatsLeft\n    waitlistCount\n  }\n}\n\nmutation CancelMyEnrollment($id: ID!, $token: String!) {\n  cancelEnrollment(id: $id, token: $token) {\n    id\n    status\n  }\n}\n\nfragment WorkshopCard on Workshop {\n  id\n  slug\n  title(locale: $locale)\n  startsAt\n  timezone\n  topics {\n    slug\n    name(locale: $locale)\n  }\n  seatsLeft\n}": types.UpcomingWorkshopsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query UpcomingWorkshops($first: Int = 12, $after: String, $tag: String, $search: String, $locale: Locale) {\n  workshops(\n    first: $first\n    after: $after\n    filter: {upcoming: true, tag: $tag, search: $search}\n    orderBy: STARTS_AT_ASC\n  ) {\n    totalCount\n    edges {\n      node {\n        ...WorkshopCard\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery WorkshopPage($slug: String!, $locale: Locale) {\n  workshopBySlug(slug: $slug) {\n    ...WorkshopCard\n    description(locale: $locale)\n    endsAt\n    location\n    onlineUrl\n    waitlistCount\n  }\n}\n\nquery Topics($locale: Locale) {\n  topics {\n    slug\n    name(locale: $locale)\n  }\n}\n\nmutation Enroll($input: EnrollInput!) {\n  enroll(input: $input) {\n    accepted\n  }\n}\n\nmutation CheckInWithMyCode($token: String!) {\n  checkInByToken(token: $token) {\n    id\n    status\n    checkedInAt\n  }\n}\n\nsubscription LiveSeats($id: ID!) {\n  workshopChanged(id: $id) {\n    id\n    status\n    seatsLeft\n    waitlistCount\n  }\n}\n\nmutation CancelMyEnrollment($id: ID!, $token: String!) {\n  cancelEnrollment(id: $id, token: $token) {\n    id\n    status\n  }\n}\n\nfragment WorkshopCard on Workshop {\n  id\n  slug\n  title(locale: $locale)\n  startsAt\n  timezone\n  topics {\n    slug\n    name(locale: $locale)\n  }\n  seatsLeft\n}"): (typeof documents)["query UpcomingWorkshops($first: Int = 12, $after: String, $tag: String, $search: String, $locale: Locale) {\n  workshops(\n    first: $first\n    after: $after\n    filter: {upcoming: true, tag: $tag, search: $search}\n    orderBy: STARTS_AT_ASC\n  ) {\n    totalCount\n    edges {\n      node {\n        ...WorkshopCard\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery WorkshopPage($slug: String!, $locale: Locale) {\n  workshopBySlug(slug: $slug) {\n    ...WorkshopCard\n    description(locale: $locale)\n    endsAt\n    location\n    onlineUrl\n    waitlistCount\n  }\n}\n\nquery Topics($locale: Locale) {\n  topics {\n    slug\n    name(locale: $locale)\n  }\n}\n\nmutation Enroll($input: EnrollInput!) {\n  enroll(input: $input) {\n    accepted\n  }\n}\n\nmutation CheckInWithMyCode($token: String!) {\n  checkInByToken(token: $token) {\n    id\n    status\n    checkedInAt\n  }\n}\n\nsubscription LiveSeats($id: ID!) {\n  workshopChanged(id: $id) {\n    id\n    status\n    seatsLeft\n    waitlistCount\n  }\n}\n\nmutation CancelMyEnrollment($id: ID!, $token: String!) {\n  cancelEnrollment(id: $id, token: $token) {\n    id\n    status\n  }\n}\n\nfragment WorkshopCard on Workshop {\n  id\n  slug\n  title(locale: $locale)\n  startsAt\n  timezone\n  topics {\n    slug\n    name(locale: $locale)\n  }\n  seatsLeft\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;