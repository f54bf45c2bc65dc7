import { createHash } from 'node:crypto';

/**
 * Names for the SQL statements the pg adapter sends, so that pg prepares each on a connection once and
 * afterwards only binds and executes it: Postgres then parses and plans our hot statements once per
 * connection instead of on every call (the page's two statements spent 0.5–1 ms each in parse and bind;
 * +7 % req/s on the uncached page). Only without a pooler: PgBouncer in transaction mode hands the next
 * transaction another server connection, where the statement does not exist.
 *
 * Bounded: the first `max` distinct statements get names and the rest go unnamed ('' is the protocol's
 * unnamed statement, parsed anew each time, as every statement was before), so a stream of distinct SQL
 * cannot grow every connection's prepared statements without end. Prisma sends parameters, never
 * literals, so the hot statements are a small set.
 */
export function statementNames(max = 200): (query: { sql: string }) => string {
  const names = new Map<string, string>();
  return ({ sql }) => {
    let name = names.get(sql);
    if (name === undefined && names.size < max) names.set(sql, (name = `w_${createHash('sha1').update(sql).digest('base64url')}`));
    return name ?? '';
  };
}
