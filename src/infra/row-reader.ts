import pg from 'pg';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { parseTimestamptz } from './pg-timestamptz.js';

/** Rows of one SQL read, keyed by column name, with the JavaScript types Prisma's $queryRaw gives. */
export type RowReader = <T>(sql: Prisma.Sql) => Promise<T[]>;

/**
 * Hot reads of many rows (the workshops page and its enrollment pages) go through pg directly: through
 * Prisma's $queryRaw each value was converted twice, by the driver adapter (a timestamp rewritten as a
 * string by two replaces) and by Prisma (a Date made of that string); the two were ~15 % of the uncached
 * page's profile and a sixth of its allocations (README "Performance"). The readers keep what Prisma
 * gave: the same statement names per connection (one generator per pool; none behind PgBouncer), the
 * same statement log and timings (onQuery), the same routing to replicas (src/infra/replicas.ts), and
 * Prisma's types where pg's defaults differ: int8 as BigInt, numeric as Prisma.Decimal, timestamp and
 * date (without time zone) as UTC; timestamptz is read without pg's regular expression (pg-timestamptz.ts).
 * The embedded database, and transactions, read through Prisma.
 */
const PRISMA_TYPES: pg.CustomTypesConfig = { getTypeParser: typeParser as pg.CustomTypesConfig['getTypeParser'] };

const INT8 = 20;
const NUMERIC = 1700;
const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const DATE = 1082;

function typeParser(oid: number, format?: string): (value: string) => unknown {
  if (format !== 'binary') {
    if (oid === INT8) return (value) => BigInt(value);
    if (oid === NUMERIC) return (value) => new Prisma.Decimal(value);
    if (oid === TIMESTAMPTZ) return parseTimestamptz;
    if (oid === TIMESTAMP) return (value) => new Date(`${value.replace(' ', 'T')}Z`);
    if (oid === DATE) return (value) => new Date(`${value}T00:00:00Z`);
  }
  return pg.types.getTypeParser(oid, format as 'text');
}

/** A reader over `pool`: `named` gives each statement its prepared name ('' for none), as the adapter's generator does. */
export function poolRowReader(pool: pg.Pool, options: { named?: (sql: string) => string; onQuery?: (sql: string, durationMs: number) => void }): RowReader {
  return async <T>(sql: Prisma.Sql) => {
    const text = sql.text;
    const started = performance.now();
    const name = options.named?.(text) || undefined;
    try {
      const result = await pool.query({ text, values: sql.values as unknown[], name, types: PRISMA_TYPES });
      return result.rows as T[];
    } finally {
      options.onQuery?.(text, performance.now() - started);
    }
  };
}

/** Each database client's reader (db.ts registers them); any other client (a transaction's) reads through Prisma. */
const readers = new WeakMap<object, RowReader>();

export function registerRowReader(client: PrismaClient, reader: RowReader): void {
  readers.set(client, reader);
}

/** `db`'s reader: its registered one, else Prisma's $queryRaw. */
export function rowReaderOf(db: PrismaClient): RowReader {
  return readers.get(db) ?? (<T>(sql: Prisma.Sql) => db.$queryRaw<T[]>(sql));
}

/** Reads `sql` as `db` would with $queryRaw: on the same database, routed the same way. */
export function readRows<T>(db: PrismaClient, sql: Prisma.Sql): Promise<T[]> {
  return rowReaderOf(db)<T>(sql);
}
