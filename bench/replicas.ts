/**
 * `npm run bench:replicas`: the share of reads a streaming replica serves, and that none of them is stale.
 * Starts a primary and a pg_basebackup standby of its own (Debian's Postgres binaries, free loopback ports,
 * both logging every statement), runs the app in-process against them and sends sequential requests:
 * pages of 20 workshops, with an update of one workshop's capacity every Nth request. Each server's log
 * says who ran each page's list query; every page is checked against the last capacity written.
 */
import { readFileSync, statSync } from 'node:fs';
import { dataOf, startTestApp } from '../test/testkit/app.js';
import { createWorkshop } from '../test/testkit/factories.js';
import { startPostgresCluster, startStandby, type PostgresCluster } from '../test/testkit/processes.js';
import { createMigratedDatabase, databaseUrlOn } from '../test/testkit/replication.js';

const OPS = Number(process.env.OPS ?? 400);
const PAGE = '{ workshops(first: 20) { edges { node { id title seatsLeft } } } }';
/** The list query's SQL (workshops-service) names its sort key: one line per page in a server's log. */
const LIST_SQL = 'AS "sortKey"';

const logged = (server: PostgresCluster, from: number) =>
  readFileSync(server.logFile).subarray(from).toString('utf8').split('\n').filter((line) => line.includes(LIST_SQL)).length;

async function run(primary: PostgresCluster, standby: PostgresCluster, options: { cache: boolean; writeEvery: number }) {
  const app = await startTestApp({
    databaseUrl: databaseUrlOn(primary, 'workshops'),
    databaseOptions: { replicaUrls: [databaseUrlOn(standby, 'workshops')] },
    env: { RESPONSE_CACHE: String(options.cache) },
  });
  try {
    const target = await createWorkshop(app, { capacity: 10, startsInDays: 1 });
    for (let i = 0; i < 5; i++) await createWorkshop(app);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const from = { primary: statSync(primary.logFile).size, replica: statSync(standby.logFile).size };
    let capacity = 10;
    let failed = 0;
    let stale = 0;
    let checked = 0;
    const started = Date.now();
    for (let i = 0; i < OPS; i++) {
      if (options.writeEvery && i % options.writeEvery === options.writeEvery - 1) {
        capacity = 10 + (i % 50);
        dataOf(await app.gql('mutation ($id: ID!, $c: Int!) { updateWorkshop(id: $id, input: { capacity: $c }) { id } }', { id: target.id, c: capacity }, { key: app.keys.editor }));
        continue;
      }
      const response = await app.gql<{ workshops: { edges: { node: { id: string; seatsLeft: number } }[] } }>(PAGE);
      if (response.errors) failed++;
      const seen = response.data?.workshops.edges.find((edge) => edge.node.id === target.id);
      if (seen) (checked++, seen.node.seatsLeft !== capacity && stale++);
    }
    const ms = Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const replica = logged(standby, from.replica);
    const onPrimary = logged(primary, from.primary);
    const share = (100 * replica) / Math.max(1, replica + onPrimary);
    const label = `cache ${options.cache ? 'on ' : 'off'}, ${options.writeEvery ? `1 write in ${options.writeEvery}` : 'no writes   '}`;
    console.log(`${label}: ${OPS} requests in ${ms} ms; list queries run: replica ${replica}, primary ${onPrimary} (replica share ${share.toFixed(1)} %); failed ${failed}, stale ${stale} of ${checked} pages`);
  } finally {
    await app.close();
  }
}

const primary = await startPostgresCluster({ settings: { log_statement: 'all' } });
let standby: PostgresCluster | undefined;
try {
  await createMigratedDatabase(primary, 'workshops');
  standby = await startStandby(primary, { settings: { log_statement: 'all' } });
  for (const writeEvery of [0, 20, 5]) await run(primary, standby, { cache: false, writeEvery });
  await run(primary, standby, { cache: true, writeEvery: 20 });
} finally {
  standby?.destroy();
  primary.destroy();
}
process.exit(0);
