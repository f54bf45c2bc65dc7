import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGlobalId } from '../../src/shared/ids.js';
import { dataOf, startTestApp, uniqueSlug, type TestApp } from '../testkit/app.js';
import { createWorkshop, enroll } from '../testkit/factories.js';

interface Part {
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, any> }[];
  incremental?: { data?: Record<string, any>; items?: unknown[]; path: (string | number)[]; label?: string; errors?: unknown[] }[];
  hasNext?: boolean;
}

/** The JSON parts of a multipart/mixed response body (GraphQL incremental delivery over HTTP). */
function multipartParts(contentType: string, body: string): Part[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`not multipart: ${contentType}`);
  return body
    .split(`--${boundary}`)
    .map((chunk) => chunk.split('\r\n\r\n').slice(1).join('\r\n\r\n').trim())
    .filter((json) => json.startsWith('{'))
    .map((json) => JSON.parse(json) as Part);
}

/** Applies incremental parts onto the first one's data, as a client does. */
function merged(parts: Part[]): Record<string, any> {
  const data = structuredClone(parts[0]!.data ?? {});
  for (const part of parts.slice(1)) {
    for (const patch of part.incremental ?? []) {
      let target: any = data;
      for (const step of patch.path.slice(0, patch.items ? -1 : undefined)) target = target[step];
      if (patch.items) (target as unknown[]).push(...patch.items);
      else Object.assign(target, patch.data);
    }
  }
  return data;
}

const PAGE_DEFERRED = `query ($tag: String) { workshops(first: 5, filter: { tag: $tag }) { edges { node { id slug
  ... @defer(label: "seats") { enrollmentCount seatsLeft } } } } }`;
const PAGE_PLAIN = `query ($tag: String) { workshops(first: 5, filter: { tag: $tag }) { edges { node { id slug enrollmentCount seatsLeft } } } }`;

describe('@defer and @stream over HTTP', () => {
  let app: TestApp;
  let server: Server;
  let url: string;
  const tag = uniqueSlug('defer');
  beforeAll(async () => {
    app = await startTestApp();
    server = createServer(app.yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    await app.database.prisma.topic.upsert({ where: { slug: tag }, create: { slug: tag, nameEn: tag }, update: {} });
    for (let i = 0; i < 3; i++) await createWorkshop(app, { tags: [tag] });
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await app?.close();
  });

  async function post(query: string, variables: Record<string, unknown>, accept: string, key?: string) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: await response.text() };
  }
  const multipart = 'multipart/mixed; deferSpec=20220824, application/json';

  it('sends the page first and the deferred fields after it, in parts that add up to the plain answer', async () => {
    const response = await post(PAGE_DEFERRED, { tag }, multipart);
    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^multipart\/mixed/);
    const parts = multipartParts(response.contentType, response.body);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts[0]!.hasNext).toBe(true);
    expect(parts[0]!.data!.workshops.edges).toHaveLength(3);
    expect(parts[0]!.data!.workshops.edges[0].node.enrollmentCount).toBeUndefined();
    expect(parts.at(-1)!.hasNext).toBe(false);
    expect(parts.slice(1).flatMap((p) => p.incremental ?? []).every((patch) => patch.label === 'seats')).toBe(true);
    const plain = dataOf(await app.gql(PAGE_PLAIN, { tag }));
    expect(merged(parts)).toEqual(plain);
  });

  it('streams a list item by item with @stream', async () => {
    const { id } = await createWorkshop(app, { tags: [tag, 'graphql', 'testing'] });
    const response = await post(`query ($id: ID!) { workshop(id: $id) { slug tags @stream(initialCount: 1) } }`, { id }, multipart);
    const parts = multipartParts(response.contentType, response.body);
    expect(parts[0]!.data!.workshop.tags).toHaveLength(1);
    expect(merged(parts).workshop.tags).toEqual([tag, 'graphql', 'testing']);
  });

  it('delivers over Server-Sent Events too', async () => {
    const response = await post(PAGE_DEFERRED, { tag }, 'text/event-stream');
    expect(response.contentType).toMatch(/^text\/event-stream/);
    const events = response.body.split('\n').filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6)) as Part).filter((p) => p.data || p.incremental);
    expect(events.length).toBeGreaterThan(1);
    expect(merged(events)).toEqual(dataOf(await app.gql(PAGE_PLAIN, { tag })));
  });

  it('counts deferred fragments in the cost limit: refused before anything runs or is sent', async () => {
    // 100 workshops × 100 enrollments is far over the anonymous limit (2,000); only the deferred part is costly.
    const nested = `enrollments(first: 100) { edges { node { id status } } }`;
    for (const query of [
      `{ workshops(first: 100) { edges { node { id ... @defer { ${nested} } } } } }`,
      // A root field inside a deferred fragment resolves only after the first part was sent: still refused up front.
      `{ __typename ... @defer { workshops(first: 100) { edges { node { id ${nested} } } } } }`,
      `{ workshops(first: 100) @stream(initialCount: 1) { edges { node { id ${nested} } } } }`.replace('workshops(first: 100) @stream(initialCount: 1) { edges', 'workshops(first: 100) { edges @stream(initialCount: 1)'),
    ]) {
      let response: Awaited<ReturnType<typeof post>>;
      const statements = await app.statementsDuring(async () => {
        response = await post(query, {}, multipart);
      });
      expect(response!.contentType, query).not.toMatch(/multipart/);
      const body = JSON.parse(response!.body) as Part;
      expect(body.errors?.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COMPLEX']);
      expect(body.errors![0]!.message).toMatch(/exceeds the limit of 2000/);
      expect(body.data ?? null).toBeNull();
      expect(statements).toEqual([]);
    }
  });

  it('caches the merged answer of a deferred query, serves it to multipart clients, and evicts it by entities seen only in deferred parts', async () => {
    const workshop = await createWorkshop(app, { tags: [tag] });
    const questionnaire = await app.database.prisma.questionnaire.create({
      data: { workshopId: decodeGlobalId(workshop.id).id, kind: 'PRE_WORKSHOP', titleEn: 'Before we start', status: 'OPEN' },
    });
    const query = `query ($id: ID!) { workshop(id: $id) { slug ... @defer { enrollmentCount questionnaires { id title } } } }`;
    const first = await post(query, { id: workshop.id }, multipart);
    const firstData = merged(multipartParts(first.contentType, first.body));
    expect(firstData.workshop.questionnaires).toEqual([{ id: expect.any(String), title: 'Before we start' }]);

    let again: Awaited<ReturnType<typeof post>>;
    const statements = await app.statementsDuring(async () => {
      again = await post(query, { id: workshop.id }, multipart);
    });
    expect(statements).toEqual([]);
    expect(again!.status).toBe(200);
    const cachedParts = again!.contentType.startsWith('multipart') ? multipartParts(again!.contentType, again!.body) : [JSON.parse(again!.body) as Part];
    expect(merged(cachedParts)).toEqual(firstData);
    expect(cachedParts.at(-1)!.hasNext ?? false).toBe(false);

    // The questionnaire appears only in the deferred part: renaming it must still evict the entry.
    dataOf(
      await app.gql(`mutation ($id: ID!, $input: UpdateQuestionnaireInput!) { updateQuestionnaire(id: $id, input: $input) { id } }`, {
        id: firstData.workshop.questionnaires[0].id,
        input: { title: { en: 'Before we begin' } },
      }, { key: app.keys.editor }),
    );
    // So must a change of the deferred count.
    dataOf(await enroll(app, workshop.id, `defer-${questionnaire.id.slice(0, 8)}@example.com`));
    const after = await post(query, { id: workshop.id }, multipart);
    const afterData = merged(multipartParts(after.contentType, after.body));
    expect(afterData.workshop).toMatchObject({ enrollmentCount: 1, questionnaires: [{ title: 'Before we begin' }] });
  });

  it('answers a deferred query for a client that accepts only JSON without failing', async () => {
    const response = await post(PAGE_DEFERRED, { tag }, 'application/json');
    expect(response.status).toBeLessThan(500);
    expect(response.body).not.toMatch(/stack|INTERNAL_SERVER_ERROR/);
  });
});
