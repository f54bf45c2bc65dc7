import { resolveCursorConnection, type DefaultConnectionArguments } from '@pothos/plugin-relay';
import { ValidationError } from './errors.js';
import { UUID } from './ids.js';

/** Relay cursors for keyset pagination: the sort key and the id of the row, opaque to clients. */
export function encodeCursor(key: unknown, id: string): string {
  return Buffer.from(JSON.stringify([key instanceof Date ? key.toISOString() : key, id])).toString('base64url');
}

/**
 * The SQL type of a connection's sort key. Decoding checks the cursor's key fits it, so a forged or
 * foreign cursor is BAD_USER_INPUT rather than a failed SQL cast.
 */
export type SortKeyType = 'timestamptz' | 'real' | 'text';

export function decodeCursor(cursor: string, keyType: SortKeyType): { key: string | number; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[1] === 'string' && UUID.test(value[1])) {
      const key = sortKeyOf(value[0], keyType);
      if (key !== null) return { key, id: value[1] };
    }
  } catch {
    // handled below
  }
  throw new ValidationError('Invalid cursor', [{ path: 'after/before', message: 'is not a cursor from this connection' }]);
}

/** The key as Postgres will accept it for the type, or null. */
function sortKeyOf(key: unknown, keyType: SortKeyType): string | number | null {
  switch (keyType) {
    case 'timestamptz': {
      const at = typeof key === 'string' ? new Date(key) : null;
      return at && !Number.isNaN(at.getTime()) && at.getUTCFullYear() >= 1 && at.getUTCFullYear() <= 9999 ? at.toISOString() : null;
    }
    case 'real':
      return typeof key === 'number' && Number.isFinite(key) && Math.abs(key) <= 3.4e38 ? key : null;
    case 'text':
      return typeof key === 'string' && key.length <= 1000 && !key.includes('\u0000') ? key : null;
  }
}

/** Page sizes: `first`/`last` default to DEFAULT_PAGE_SIZE; above MAX_PAGE_SIZE is an error, not a silent cap. */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export function assertPageSize(args: { first?: number | null; last?: number | null }): void {
  for (const name of ['first', 'last'] as const) {
    const size = args[name];
    if (size != null && (size < 0 || size > MAX_PAGE_SIZE)) {
      throw new ValidationError(`"${name}" must be between 0 and ${MAX_PAGE_SIZE}`, [
        { path: name, message: `must be between 0 and ${MAX_PAGE_SIZE}` },
      ]);
    }
  }
}

/** Connections carry a lazy count, so `totalCount` costs a statement only when it is selected. */
export interface LazyTotalCount {
  totalCount: () => Promise<number>;
}

export function resolveTotalCount(connection: unknown): Promise<number> {
  return (connection as LazyTotalCount).totalCount();
}

/** Query cost of a connection: its selections count once per requested row. */
export function connectionComplexity(args: { first?: number | null; last?: number | null }) {
  return { field: 1, multiplier: Math.max(1, args.first ?? args.last ?? DEFAULT_PAGE_SIZE) };
}

/**
 * A Prisma filter for the rows strictly older (or newer) than a `(time, id)` cursor, for
 * connections ordered newest first by `field` then id.
 */
function timeKeyset(cursor: string | undefined, side: 'older' | 'newer', field: string): { OR?: Record<string, unknown>[] } {
  if (!cursor) return {};
  const { key, id } = decodeCursor(cursor, 'timestamptz');
  const at = new Date(key);
  const op = side === 'older' ? 'lt' : 'gt';
  return { OR: [{ [field]: { [op]: at } }, { [field]: at, id: { [op]: id } }] };
}

/** Groups rows by key, in the order of `keys` (DataLoader batches). */
export function groupByKey<T>(keys: readonly string[], rows: T[], keyOf: (row: T) => string | null): T[][] {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    if (key === null) continue;
    const list = groups.get(key);
    if (list) list.push(row);
    else groups.set(key, [row]);
  }
  return keys.map((key) => groups.get(key) ?? []);
}

export interface NewestFirstQuery {
  /** Cursor conditions: AND them with the connection's own filter. */
  cursorWhere: Record<string, unknown>[];
  orderBy: Record<string, 'asc' | 'desc'>[];
  take: number;
}

/**
 * A Relay page of rows ordered newest first by `field`, then id (keyset: stable under inserts).
 * `find` runs the query, adding the connection's own filter to `cursorWhere`.
 */
export function newestFirstPage<T extends { id: string }>(
  args: DefaultConnectionArguments,
  field: 'createdAt' | 'submittedAt',
  find: (query: NewestFirstQuery) => Promise<T[]>,
) {
  return resolveCursorConnection<Promise<T[]>>(
    { args, toCursor: (row) => encodeCursor((row as unknown as Record<string, Date>)[field], row.id) },
    ({ before, after, limit, inverted }) =>
      find({
        // In newest-first order "after" means older and "before" newer; `last` only flips the scan.
        cursorWhere: [timeKeyset(after, 'older', field), timeKeyset(before, 'newer', field)],
        orderBy: [{ [field]: inverted ? 'asc' : 'desc' }, { id: inverted ? 'asc' : 'desc' }],
        take: limit,
      }),
  );
}
