import type { z } from 'zod';
import { ValidationError } from './errors.js';

/** Parses input with a zod schema; every problem becomes one entry of `extensions.fields`. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, root = 'input'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields = result.error.issues.map((issue) => ({
    path: [root, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw new ValidationError(`Invalid ${root}: ${fields.map((f) => `${f.path} ${f.message}`).join('; ')}`, fields);
}

/**
 * An optional input with a default for creation: absent or null becomes `fallback`. (A zod
 * `.default()` would also fill the field in `.partial()` update schemas and wipe stored values.)
 */
export function withDefault<S extends z.ZodType>(schema: S, fallback: z.output<S>) {
  return schema.nullish().transform((value) => (value ?? fallback) as z.output<S>);
}
