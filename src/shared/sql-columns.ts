import { Prisma } from '../generated/prisma/client.js';

/**
 * A model's columns for raw SQL, aliased to the Prisma field names, so a raw row has the shape (and,
 * through the driver adapter, the JavaScript types) of the model's row: `field: 'db_column'`, with
 * `::text` for enum columns (Prisma returns enums as strings). Each map `satisfies Record<keyof Model,
 * string>`, so a field added to the model and not to its map fails the type check, and batching.spec
 * compares raw rows with Prisma's.
 */
export type ColumnMap = Record<string, string>;

/** `alias.column AS "field", …`, each field optionally prefixed (`s.email AS "s.email"`) for a join. */
export function selectColumns(columns: ColumnMap, alias: string, prefix = ''): Prisma.Sql {
  return Prisma.raw(
    Object.entries(columns)
      .map(([field, column]) => `${alias}.${column} AS "${prefix}${field}"`)
      .join(', '),
  );
}

/** The row of a joined model out of prefixed columns (null when the join found nothing: its id is null). */
export function takePrefixed<T>(row: Record<string, unknown>, columns: ColumnMap, prefix: string): T | null {
  const keys = prefixedKeys(columns, prefix);
  if (row[keys[0]![1]] == null) return null;
  const out: Record<string, unknown> = {};
  for (const [field, key] of keys) out[field] = row[key];
  return out as T;
}

/** [field, prefixed column name] pairs, id first, built once per map and prefix (rows are many). */
const keyCache = new Map<ColumnMap, Map<string, [string, string][]>>();
function prefixedKeys(columns: ColumnMap, prefix: string): [string, string][] {
  let byPrefix = keyCache.get(columns);
  if (!byPrefix) keyCache.set(columns, (byPrefix = new Map()));
  let keys = byPrefix.get(prefix);
  if (!keys) {
    if (!('id' in columns)) throw new Error('a joined model needs an id column');
    const fields = ['id', ...Object.keys(columns).filter((field) => field !== 'id')];
    byPrefix.set(prefix, (keys = fields.map((field) => [field, `${prefix}${field}`])));
  }
  return keys;
}
