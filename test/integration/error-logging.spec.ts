import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';
import { codesOf, startTestApp, type GraphQLResponse, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

interface LogLine {
  level: number;
  msg?: string;
  err?: { stack?: string };
  [key: string]: unknown;
}

/** pino's numeric levels. */
const ERROR = 50;

describe('error logging', () => {
  let app: TestApp;
  const lines: LogLine[] = [];
  beforeAll(async () => {
    const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
    app = await startTestApp({ logger, env: { LIMITS: JSON.stringify({ anonymous: { requestsPerMinute: 50 } }) } });
  });
  afterAll(() => app?.close());

  const during = async (work: () => Promise<unknown>): Promise<LogLine[]> => {
    const start = lines.length;
    await work();
    return lines.slice(start);
  };

  it('logs expected client errors below error level and without stacks', async () => {
    const { id } = await createWorkshop(app, { capacity: 1 });
    const seen: string[] = [];
    const logged = await during(async () => {
      const cases: [string, Record<string, unknown>, string | undefined][] = [
        ['query ($s: String!) { workshopBySlug(slug: $s) { id } }', { s: 'x\u0000' }, undefined],
        ['mutation ($id: ID!) { enroll(input: { workshopId: $id, email: "not-an-email", name: "X" }) { enrollment { id } } }', { id }, undefined],
        ['mutation ($id: ID!) { publishWorkshop(id: $id) { id } }', { id: 'V29ya3Nob3A6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw' }, app.keys.editor],
        ['mutation ($id: ID!) { publishWorkshop(id: $id) { id } }', { id }, undefined],
        ['mutation ($id: ID!) { createApiKey(input: { name: "x", role: ADMIN }) { key } }', { id }, app.keys.editor],
        [`{ ${Array.from({ length: 100 }, (_, i) => `a${i}: topics { slug }`).join(' ')} }`, {}, undefined],
        ['{ nope }', {}, undefined],
        ['{', {}, undefined],
      ];
      for (const [query, variables, key] of cases) seen.push(...codesOf(await app.gql(query, variables, { key })));
      const slug = (await createWorkshop(app)).slug;
      await createWorkshop(app, { slug }).catch((error: Error) => seen.push(/"CONFLICT"/.test(error.message) ? 'CONFLICT' : error.message));
      seen.push(...codesOf(await app.gql('{ __typename }', {}, { key: 'wsk_not-a-real-key' }).catch(() => ({ errors: [{ message: '', extensions: { code: 'UNAUTHENTICATED' } }] }))));
      for (let i = 0; i <= 50; i++) {
        const response = await app.yoga.fetch('http://localhost/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
        if (response.status === 429) {
          seen.push('RATE_LIMITED');
          break;
        }
      }
    });
    expect(new Set(seen)).toEqual(new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'FORBIDDEN', 'QUERY_TOO_COMPLEX', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED', 'UNAUTHENTICATED', 'RATE_LIMITED', 'CONFLICT']));
    expect(logged.filter((line) => line.level >= ERROR)).toEqual([]);
    expect(JSON.stringify(logged)).not.toMatch(/"stack"|\n\s+at /);
  });

  it('logs an unexpected failure at error level, with its stack, and masks it for the client', async () => {
    // A failure no client can cause: the table behind `topics` is gone (in this spec's own database).
    await app.database.prisma.$executeRawUnsafe('ALTER TABLE topics RENAME TO topics_gone');
    try {
      let response: GraphQLResponse | undefined;
      const logged = await during(async () => {
        response = await app.gql(`{ t${Date.now()}: topics { slug } }`, {}, { key: app.keys.editor });
      });
      expect(codesOf(response!)).toEqual(['INTERNAL_SERVER_ERROR']);
      const errors = logged.filter((line) => line.level >= ERROR);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.err?.stack).toMatch(/topics/);
    } finally {
      await app.database.prisma.$executeRawUnsafe('ALTER TABLE topics_gone RENAME TO topics');
    }
  });
});
