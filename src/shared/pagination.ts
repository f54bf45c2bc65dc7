import { parseCursorConnectionArgs, type DefaultConnectionArguments } from '@pothos/plugin-relay';
import { Kind, type GraphQLResolveInfo, type SelectionNode } from 'graphql';
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

/** What a cursor connection's `resolve` is asked for (Pothos' parseCursorConnectionArgs). */
export interface CursorPageParams {
  /** Rows to fetch (page size + 1, to know whether there is another page). */
  limit: number;
  after?: string;
  before?: string;
  /** Scan from the far end (for `last`): the connection helper turns the page back around. */
  inverted: boolean;
}

/** An edge whose cursor is encoded when it is read (the `cursor` field selected), not when the page is built. */
class LazyEdge<Row, Node> {
  constructor(
    private readonly row: Row,
    readonly node: Node,
    private readonly toCursor: (row: Row) => string,
  ) {}

  get cursor(): string {
    return this.toCursor(this.row);
  }
}

/**
 * Pothos' resolveCursorConnection (same arguments, same page), with every cursor made only when it is
 * read: the edges' `cursor` and pageInfo's `startCursor`/`endCursor` are getters. Encoding a cursor is a
 * JSON string and base64, and the uncached workshops page built 120 that no one selected (~2 % of its
 * CPU). `toNode` maps a fetched row to the edge's node (default: the row itself).
 */
export async function resolveCursorConnection<Row, Node = Row>(
  options: { args: DefaultConnectionArguments; toCursor: (row: Row) => string; toNode?: (row: Row) => Node },
  resolve: (params: CursorPageParams) => Promise<readonly Row[]>,
) {
  const { before, after, limit, inverted, expectedSize, hasPreviousPage, hasNextPage } = parseCursorConnectionArgs(options);
  const rows = await resolve({ before, after, limit, inverted });
  const trimmed = rows.slice(0, expectedSize);
  if (inverted) trimmed.reverse();
  const toNode = options.toNode ?? ((row: Row) => row as unknown as Node);
  const edges = trimmed.map((row) => new LazyEdge(row, toNode(row), options.toCursor));
  // Without edges, both cursors are the one the client gave (as Pothos does).
  const given = options.args.after ?? options.args.before ?? '';
  return {
    edges,
    pageInfo: {
      get startCursor() {
        return edges.length > 0 ? edges[0]!.cursor : given;
      },
      get endCursor() {
        return edges.length > 0 ? edges[edges.length - 1]!.cursor : given;
      },
      hasPreviousPage: hasPreviousPage(rows.length),
      hasNextPage: hasNextPage(rows.length),
    },
  };
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
  totalCount: () => number | Promise<number>;
}

export function resolveTotalCount(connection: unknown): number | Promise<number> {
  return (connection as LazyTotalCount).totalCount();
}

/**
 * Whether the field being resolved selects `name` directly (through fragments too, deferred or not),
 * so a connection can fetch its count with its page. Only a shortcut: a count not fetched this way is
 * still counted lazily when resolved.
 */
export function selectsField(info: GraphQLResolveInfo, name: string): boolean {
  const seen = new Set<string>();
  const visit = (selections: readonly SelectionNode[]): boolean =>
    selections.some((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value === name;
      if (selection.kind === Kind.INLINE_FRAGMENT) return visit(selection.selectionSet.selections);
      const fragment = info.fragments[selection.name.value];
      if (!fragment || seen.has(fragment.name.value)) return false;
      seen.add(fragment.name.value);
      return visit(fragment.selectionSet.selections);
    });
  return info.fieldNodes.some((node) => node.selectionSet !== undefined && visit(node.selectionSet.selections));
}

/** Query cost of a connection: its selections count once per requested row. */
export function connectionComplexity(args: { first?: number | null; last?: number | null }) {
  return { field: 1, multiplier: Math.max(1, args.first ?? args.last ?? DEFAULT_PAGE_SIZE) };
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

export interface KeysetQuery {
  /** Cursor conditions: AND them with the connection's own filter. */
  cursorWhere: Record<string, unknown>[];
  orderBy: Record<string, unknown>[];
  take: number;
}

/** One order of a keyset connection: a column, then id to break ties (so pages never skip or repeat rows). */
export interface KeysetOrder {
  field: string;
  direction: 'asc' | 'desc';
  keyType: SortKeyType;
  /** A nullable column: rows without a value come after all others, in either direction. */
  nullable?: boolean;
  /**
   * Written into the cursor, so a cursor of one order is refused by another (an email is a valid text
   * key but no place in a date order). The default order has none, so its older cursors stay valid.
   */
  tag?: string;
}

/** Newest first by creation time: the default order of most lists. */
export const NEWEST_FIRST: KeysetOrder = { field: 'createdAt', direction: 'desc', keyType: 'timestamptz' };

function encodeKeysetCursor(order: KeysetOrder, key: unknown): (id: string) => string {
  const value = key instanceof Date ? key.toISOString() : (key ?? null);
  return (id) => Buffer.from(JSON.stringify(order.tag ? [value, id, order.tag] : [value, id])).toString('base64url');
}

function decodeKeysetCursor(cursor: string, order: KeysetOrder): { key: string | number | null; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === (order.tag ? 3 : 2) && value[2] === order.tag && typeof value[1] === 'string' && UUID.test(value[1])) {
      if (value[0] === null && order.nullable) return { key: null, id: value[1] };
      const key = sortKeyOf(value[0], order.keyType);
      if (key !== null) return { key, id: value[1] };
    }
  } catch {
    // handled below
  }
  throw new ValidationError('Invalid cursor', [{ path: 'after/before', message: 'is not a cursor from this connection and order' }]);
}

/**
 * A Prisma filter for the rows beyond a cursor (`towardsEnd`) or before it, in the order's page order
 * (nulls last).
 */
function keysetWhere(order: KeysetOrder, cursor: string | undefined, towardsEnd: boolean): Record<string, unknown> {
  if (!cursor) return {};
  const { key, id } = decodeKeysetCursor(cursor, order);
  const ascending = (order.direction === 'asc') === towardsEnd;
  const op = ascending ? 'gt' : 'lt';
  const at = key !== null && order.keyType === 'timestamptz' ? new Date(key) : key;
  const { field } = order;
  if (at === null) {
    // Among the rows without a value only id orders; every row with one comes before them.
    return towardsEnd ? { [field]: null, id: { [op]: id } } : { OR: [{ [field]: { not: null } }, { [field]: null, id: { [op]: id } }] };
  }
  const beyond: Record<string, unknown>[] = [{ [field]: { [op]: at } }, { [field]: at, id: { [op]: id } }];
  if (order.nullable && towardsEnd) beyond.push({ [field]: null });
  return { OR: beyond };
}

/**
 * A Relay page of rows in a keyset order (the order's column, then id): stable under inserts, and
 * `last`/`before` page backwards through the same order. `find` runs the query, adding the
 * connection's own filter to `cursorWhere`.
 */
export function keysetPage<T extends { id: string }>(args: DefaultConnectionArguments, order: KeysetOrder, find: (query: KeysetQuery) => Promise<T[]>) {
  const flip = (direction: 'asc' | 'desc') => (direction === 'asc' ? 'desc' : 'asc');
  return resolveCursorConnection<T>(
    { args, toCursor: (row) => encodeKeysetCursor(order, (row as unknown as Record<string, unknown>)[order.field])(row.id) },
    ({ before, after, limit, inverted }) => {
      const direction = inverted ? flip(order.direction) : order.direction;
      return find({
        cursorWhere: [keysetWhere(order, after, true), keysetWhere(order, before, false)],
        orderBy: [
          { [order.field]: order.nullable ? { sort: direction, nulls: inverted ? 'first' : 'last' } : direction },
          { id: direction },
        ],
        take: limit,
      });
    },
  );
}
