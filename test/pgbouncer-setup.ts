import { ADMIN_URL } from './testkit/postgres.js';
import { startPgBouncer } from './testkit/processes.js';

/**
 * Global setup of the "pgbouncer" project (vitest.config.ts): one PgBouncer in transaction mode in front
 * of the suite's Postgres; its specs' apps connect through it (test/testkit/app.ts). Single statements
 * get their statement timeout from `connect_query` here, as the README's PgBouncer section says.
 */
export default async function setup() {
  const pgbouncer = await startPgBouncer(ADMIN_URL, { connectQuery: `SET statement_timeout = ${POOLER_STATEMENT_TIMEOUT_MS}` });
  process.env.WORKSHOPS_TEST_PGBOUNCER_PORT = String(pgbouncer.port);
  return () => pgbouncer.stop();
}

/** What `connect_query` sets; the test apps' own (per transaction) is 10 s. */
export const POOLER_STATEMENT_TIMEOUT_MS = 15_000;
