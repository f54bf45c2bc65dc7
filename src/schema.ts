import { GraphQLDeferDirective, GraphQLStreamDirective } from '@graphql-tools/utils';
import { lexicographicSortSchema, printSchema, specifiedDirectives } from 'graphql';
import { builder } from './builder.js';
import './modules/topics/index.js';
import './modules/workshops/index.js';
import './modules/questionnaires/index.js';
import './modules/subscribers/index.js';
import './modules/analytics/index.js';
import './modules/auth/index.js';
import './modules/cache/index.js';
import './modules/jobs/index.js';
import './modules/newsletters/index.js';
import './modules/live/index.js';
import './modules/audit/index.js';

/**
 * The whole API schema, sorted so the printed schema.graphql diffs cleanly. @defer and @stream are
 * declared here (the ones Yoga's defer-stream plugin would add at start-up), so schema.graphql, and
 * the clients generated from it, know them.
 */
export const schema = lexicographicSortSchema(builder.toSchema({ directives: [...specifiedDirectives, GraphQLDeferDirective, GraphQLStreamDirective] }));

export function schemaSDL(): string {
  return `${printSchema(schema)}\n`;
}
