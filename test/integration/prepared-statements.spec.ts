import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/infra/db.js';
import { statementNames } from '../../src/infra/statement-names.js';
import { createTestDatabase } from '../testkit/postgres.js';

/** The statements prepared on the pool's one connection that read `table`. */
async function preparedOn(database: Database, table: string): Promise<string[]> {
  const rows = await database.prisma.$queryRaw<{ name: string; statement: string }[]>`SELECT name, statement FROM pg_prepared_statements`;
  return rows.filter((row) => row.statement.includes(`"${table}"`)).map((row) => row.name);
}

describe('prepared statements', () => {
  let pg: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    pg = await createTestDatabase();
  });
  afterAll(() => pg?.drop());

  const open = (pooled: boolean) => openDatabase({ url: pg.url, dataDir: '', poolMax: 1, statementTimeoutMs: 5000, pooled });

  it('prepares each statement once per connection on a direct connection, and reuses it', async () => {
    const database = await open(false);
    try {
      for (let i = 0; i < 3; i++) expect(await database.prisma.topic.findMany({ where: { slug: `none-${i}` } })).toEqual([]);
      // One connection (poolMax 1): the same statement with other parameters is the one prepared statement.
      expect(await preparedOn(database, 'topics')).toHaveLength(1);
    } finally {
      await database.close();
    }
  });

  it('prepares nothing behind a transaction-mode pooler, where the next transaction may be on another server connection', async () => {
    const database = await open(true);
    try {
      await database.prisma.topic.findMany();
      expect(await preparedOn(database, 'topics')).toEqual([]);
    } finally {
      await database.close();
    }
  });

  it('names at most `max` distinct statements, the same SQL always alike', () => {
    const name = statementNames(2);
    const [a, b] = [name({ sql: 'SELECT 1' }), name({ sql: 'SELECT 2' })];
    expect(a).toMatch(/^w_[\w-]{27}$/);
    expect(b).not.toBe(a);
    expect(name({ sql: 'SELECT 1' })).toBe(a);
    expect(name({ sql: 'SELECT 3' })).toBe('');
  });
});
