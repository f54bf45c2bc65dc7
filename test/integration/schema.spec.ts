import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { buildSchema, parse, validate, type GraphQLInterfaceType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_EXAMPLE_QUERY } from '../../src/graphiql-example.js';
import { schemaSDL } from '../../src/schema.js';
import { NODE_TYPES } from '../../src/shared/ids.js';
import { createTestDatabase } from '../testkit/postgres.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Runs an npm script; resolves with its exit code and output instead of throwing. */
async function npmRun(args: string[], env: Record<string, string> = {}) {
  return promisify(execFile)('npm', ['run', '--silent', ...args], { cwd: ROOT, env: { ...process.env, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, output: `${stdout}\n${stderr}` }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: `${error.stdout}\n${error.stderr}` }),
  );
}

describe('generated artifacts and migrations', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  it('schema.graphql matches the Pothos schema (run `npm run schema` when this fails)', () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(schemaSDL());
  });

  it('decodes global ids of exactly the types that implement Node', () => {
    const schema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
    const node = schema.getType('Node') as GraphQLInterfaceType;
    expect([...NODE_TYPES].sort()).toEqual(schema.getImplementations(node).objects.map((type) => type.name).sort());
  });

  it("GraphiQL's opening query and the README's examples validate against schema.graphql", () => {
    const schema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const examples = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map(([, text]) => text!);
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const text of [GRAPHIQL_EXAMPLE_QUERY, ...examples]) {
      expect({ text, errors: validate(schema, parse(text)).map((e) => e.message) }).toEqual({ text, errors: [] });
    }
  });

  it('the k6 load scenarios send only documents that validate against schema.graphql', () => {
    const schema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
    const dir = new URL('../../k6/scenarios/', import.meta.url);
    const documents = readdirSync(dir).flatMap((file) =>
      [...readFileSync(new URL(file, dir), 'utf8').matchAll(/const (\w+) = `([^`]+)`/g)].map(([, name, text]) => ({ at: `${file} ${name}`, text: text! })),
    );
    expect(documents.length).toBeGreaterThanOrEqual(6);
    for (const { at, text } of documents) expect({ at, errors: validate(schema, parse(text)).map((e) => e.message) }).toEqual({ at, errors: [] });
  });

  it('prisma/schema.prisma and prisma/migrations agree (no drift)', async () => {
    // Exit code 0 = in sync, 2 = drift (the SQL that would fix it is printed).
    const result = await npmRun(['db:drift']);
    expect(result.output).not.toMatch(/CREATE|ALTER|DROP/);
    expect(result.code).toBe(0);
  }, 60_000);

  it("leaves Postgres 15 in the state Prisma's own migrate expects", async () => {
    // The test database was migrated by our runner (src/infra/migrate.ts); ask Prisma's engine.
    const result = await npmRun(['prisma', '--', 'migrate', 'status'], { DATABASE_URL: database.url });
    expect(result.output).toContain('Database schema is up to date!');
    expect(result.code).toBe(0);
  }, 60_000);
});
