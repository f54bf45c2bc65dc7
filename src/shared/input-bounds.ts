/**
 * Bounds on the shape of input values (GraphQL variables, JSON scalar values), checked by an
 * iterative walk before anything walks them recursively (graphql-js coercion, JSON.stringify, our
 * validators): 80 KB of `[[[…]]]` overflowed the stack and came back as INTERNAL_SERVER_ERROR.
 */
export interface InputBounds {
  /** Nesting of lists and objects; the deepest input type of the schema needs 6. */
  depth: number;
  /** Values in total (every list item, object field and scalar counts one). */
  values: number;
}

/** GraphQL variables of one request (500 events of trackEvents take about 5,000). */
export const VARIABLE_BOUNDS: InputBounds = { depth: 32, values: 20_000 };

/** One JSON scalar value (event properties, subscriber settings: small, flat documents). */
export const JSON_SCALAR_BOUNDS: InputBounds = { depth: 10, values: 1_000 };

export interface InputShape {
  /** Which bound was exceeded, if any (the walk stops there). */
  exceeded?: 'depth' | 'values';
  /** A string (value or object key) with a NUL character in it. */
  nul: boolean;
}

/** Walks `value` without recursion, stopping at the first exceeded bound. */
export function inspectInput(value: unknown, bounds: InputBounds): InputShape {
  const pending: [unknown, number][] = [[value, 0]];
  let seen = 0;
  let nul = false;
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (++seen > bounds.values) return { exceeded: 'values', nul };
    if (typeof item === 'string') {
      nul ||= item.includes('\u0000');
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    if (depth >= bounds.depth) return { exceeded: 'depth', nul };
    if (Array.isArray(item)) {
      for (const child of item) pending.push([child, depth + 1]);
    } else {
      for (const [key, child] of Object.entries(item)) {
        nul ||= key.includes('\u0000');
        pending.push([child, depth + 1]);
      }
    }
  }
  return { nul };
}
