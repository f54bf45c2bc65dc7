import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.js';
import './modules/topics/index.js';
import './modules/workshops/index.js';
import './modules/questionnaires/index.js';
import './modules/subscribers/index.js';
import './modules/analytics/index.js';
import './modules/auth/index.js';
import './modules/cache/index.js';

/** The whole API schema, sorted so the printed schema.graphql diffs cleanly. */
export const schema = lexicographicSortSchema(builder.toSchema());

export function schemaSDL(): string {
  return `${printSchema(schema)}\n`;
}
