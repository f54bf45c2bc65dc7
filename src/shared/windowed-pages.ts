import DataLoader from 'dataloader';
import { Prisma } from '../generated/prisma/client.js';
import type { Db } from '../infra/db.js';
import { decodeCursor, groupByKey, type CursorPageParams } from './pagination.js';

/** One connection page per parent, as resolveCursorConnection asks for it. */
export type WindowedPageArgs = CursorPageParams;

export interface WindowedPageSpec {
  table: string;
  /** Column holding the parent's id. */
  parent: string;
  /** Sort column (a timestamptz); ties break on id. */
  key: string;
  /** The select list, aliased to the row type's field names. */
  columns: Prisma.Sql;
  newestFirst: boolean;
}

/**
 * Loads a keyset page of child rows for every parent in a DataLoader batch in one statement: a window
 * function numbers each parent's rows in page order, so N parents cost N × limit rows, not every child
 * (the Prisma plugin's nested connections load all children and trim in JavaScript).
 */
export async function loadWindowedPages<T>(
  db: Db,
  spec: WindowedPageSpec,
  parentIds: readonly string[],
  args: WindowedPageArgs,
  where: Prisma.Sql[],
  parentOf: (row: T) => string,
): Promise<T[][]> {
  const parent = Prisma.raw(spec.parent);
  const key = Prisma.raw(spec.key);
  // In page order, "after" lies further along and "before" back towards the start.
  const keyset = (cursor: string, towardsEnd: boolean) => {
    const { key: at, id } = decodeCursor(cursor, 'timestamptz');
    const operator = Prisma.raw(towardsEnd === spec.newestFirst ? '<' : '>');
    return Prisma.sql`(${key}, id) ${operator} (${at}::timestamptz, ${id}::uuid)`;
  };
  const conditions = [Prisma.sql`${parent} = ANY(${[...parentIds]}::uuid[])`, ...where];
  if (args.after) conditions.push(keyset(args.after, true));
  if (args.before) conditions.push(keyset(args.before, false));
  const direction = Prisma.raw(spec.newestFirst !== args.inverted ? 'DESC' : 'ASC');
  const rows = await db.$queryRaw<(T & { pagePosition?: bigint })[]>`
    SELECT * FROM (
      SELECT ${spec.columns}, row_number() OVER (PARTITION BY ${parent} ORDER BY ${key} ${direction}, id ${direction}) AS "pagePosition"
      FROM ${Prisma.raw(spec.table)}
      WHERE ${Prisma.join(conditions, ' AND ')}
    ) page
    WHERE "pagePosition" <= ${args.limit}
    ORDER BY "pagePosition"`;
  for (const row of rows) delete row.pagePosition;
  return groupByKey(parentIds, rows, parentOf);
}

/** Per-request DataLoaders of pages (one value per parent), one per distinct page shape (size, cursors, filters). */
export function windowedPageLoaders<A extends WindowedPageArgs, P>(load: (parentIds: readonly string[], args: A) => Promise<P[]>) {
  const loaders = new Map<string, DataLoader<string, P>>();
  return (args: A): DataLoader<string, P> => {
    const shape = JSON.stringify(args);
    let loader = loaders.get(shape);
    if (!loader) {
      loader = new DataLoader((parentIds) => load(parentIds, args));
      loaders.set(shape, loader);
    }
    return loader;
  };
}
