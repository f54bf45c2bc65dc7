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

/** Models joined into a row, by the field that holds each: its columns and their prefix. */
export type JoinedModels = Record<string, [columns: ColumnMap, prefix: string]>;

/**
 * A model's row out of prefixed columns (`e.id`, `e.status`, …), with each joined model's row under its
 * field; null when the join found nothing (the id is null), for the model and each joined one. Built
 * once per shape as one object literal (`new Function` over our own column maps, never over input): a
 * literal with every field is one allocation in V8's fastest object shape, where setting the fields one
 * by one went through a shape per field and regrew the properties' store (100 enrollments with their
 * people: 150 → 60 µs and 42 → 25 KiB, README "Performance").
 */
export function rowBuilder<T>(columns: ColumnMap, prefix: string, joined: JoinedModels = {}): (row: Record<string, unknown>) => T | null {
  const read = (field: string, fieldPrefix: string) => `row[${JSON.stringify(fieldPrefix + field)}]`;
  const literal = (modelColumns: ColumnMap, modelPrefix: string, nested: string[] = []): string => {
    if (!('id' in modelColumns)) throw new Error('a joined model needs an id column');
    const fields = Object.keys(modelColumns).map((field) => `${JSON.stringify(field)}: ${read(field, modelPrefix)}`);
    return `(${read('id', modelPrefix)} == null ? null : { ${[...fields, ...nested].join(', ')} })`;
  };
  const nested = Object.entries(joined).map(([field, [joinedColumns, joinedPrefix]]) => `${JSON.stringify(field)}: ${literal(joinedColumns, joinedPrefix)}`);
  return new Function('row', `return ${literal(columns, prefix, nested)};`) as (row: Record<string, unknown>) => T | null;
}
