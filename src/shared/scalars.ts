import { GraphQLScalarType, Kind } from 'graphql';
import { ValidationError } from './errors.js';
import { inspectInput, JSON_SCALAR_BOUNDS } from './input-bounds.js';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_8601.test(value) || Number.isNaN(Date.parse(value))) {
    throw new ValidationError('DateTime must be an ISO 8601 string with a time zone, e.g. 2026-05-01T09:00:00Z');
  }
  return new Date(value);
}

/** ISO 8601 instants; always serialized in UTC. */
export const DateTimeResolver = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An instant as an ISO 8601 string, serialized in UTC (e.g. 2026-05-01T09:00:00.000Z).',
  serialize: (value) => (value instanceof Date ? value : new Date(value as string)).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new ValidationError('DateTime must be a string');
    return parseDateTime(ast.value);
  },
});

function boundedJson(value: unknown): unknown {
  const { exceeded } = inspectInput(value, JSON_SCALAR_BOUNDS);
  if (exceeded === 'depth') throw new ValidationError(`JSON values may be nested at most ${JSON_SCALAR_BOUNDS.depth} levels deep`);
  if (exceeded === 'values') throw new ValidationError(`JSON values may hold at most ${JSON_SCALAR_BOUNDS.values} values`);
  return value;
}

/**
 * Arbitrary JSON values (free-form settings, data exports), bounded in depth and size
 * (JSON_SCALAR_BOUNDS) before any recursive walk: literals are read with a depth counter.
 */
export const JSONResolver = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: boundedJson,
  parseLiteral: (ast) => {
    const literal = (node: typeof ast, depth: number): unknown => {
      if (depth > JSON_SCALAR_BOUNDS.depth) throw new ValidationError(`JSON values may be nested at most ${JSON_SCALAR_BOUNDS.depth} levels deep`);
      switch (node.kind) {
        case Kind.STRING:
        case Kind.BOOLEAN:
          return node.value;
        case Kind.INT:
        case Kind.FLOAT:
          return Number(node.value);
        case Kind.NULL:
          return null;
        case Kind.LIST:
          return node.values.map((item) => literal(item, depth + 1));
        case Kind.OBJECT:
          return Object.fromEntries(node.fields.map((f) => [f.name.value, literal(f.value, depth + 1)]));
        default:
          throw new ValidationError('JSON literals cannot use variables inside');
      }
    };
    return boundedJson(literal(ast, 0));
  },
});
