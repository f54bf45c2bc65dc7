#!/usr/bin/env node
// The peer of `npm run bench` (PEER=postgraphile): PostGraphile v5 in production mode over the benchmark's
// database, loopback only.
//
//   node serve.mjs --db URL [--schema public] [--port 0] [--pool 10]
//
// Amber preset, no GraphiQL, no watch mode, no websockets, 100 KiB bodies. Every column may filter and
// order (the Amber default allows only columns that lead an index), so it answers the same page as our
// API over a schema it was not designed for. Prints `postgraphile: listening on URL` once the schema is
// built, and `postgraphile: sql-count on URL`: a second loopback server whose GET answers how many SQL
// statements the pg driver has sent so far (bench/peer.ts counts a request's statements with it).
// Stops on SIGTERM/SIGINT.
import { createServer } from 'node:http';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const connectionString = opt('--db', process.env.DATABASE_URL);
const schemas = String(opt('--schema', 'public')).split(',');
const port = Number(opt('--port', 0));
const poolMax = Number(opt('--pool', 10));
const host = '127.0.0.1';
if (!connectionString) {
  console.error('serve: --db URL is required');
  process.exit(2);
}

// Counting costs one increment per statement; the driver's query() is where every statement goes.
let statements = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(...rest) {
  statements++;
  return query.apply(this, rest);
};

const pgl = postgraphile({
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString, schemas, poolConfig: { max: poolMax } })],
  grafserv: { port, host, graphqlPath: '/graphql', graphiql: false, graphiqlOnGraphQLGET: false, graphqlOverGET: false, watch: false, websockets: false, maxRequestLength: 100_000 },
  grafast: { explain: false },
  disablePlugins: ['PgIndexBehaviorsPlugin'],
});
const serv = pgl.createServ(grafserv);
const server = createServer();
const counter = createServer((_req, res) => res.end(String(statements)));

async function stop() {
  setTimeout(() => process.exit(1), 5000).unref();
  server.close();
  server.closeAllConnections();
  counter.close();
  await serv.release().catch(() => {});
  await pgl.release().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

await pgl.getSchema(); // introspect and build before announcing the URL
await serv.addTo(server);
const listen = (s) => new Promise((resolve) => s.listen(s === server ? port : 0, host, () => resolve(s.address().port)));
console.log(`postgraphile: sql-count on http://${host}:${await listen(counter)}/`);
console.log(`postgraphile: listening on http://${host}:${await listen(server)}/graphql`);
