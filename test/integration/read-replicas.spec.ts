import { readFileSync, statSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRequestReads } from '../../src/infra/replicas.js';
import { decodeGlobalId } from '../../src/shared/ids.js';
import { dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';
import { startPostgresCluster, startStandby, waitFor, type PostgresCluster } from '../testkit/processes.js';
import { createMigratedDatabase, databaseUrlOn } from '../testkit/replication.js';

/**
 * A primary of our own with a streaming replica (pg_basebackup -R), both logging every statement: each
 * server's log says which one ran a request's reads. Replicas are probed only when a test asks
 * (`replicas.probe()`), so what the router knows is what the test set up.
 */
const LOGGED = { log_statement: 'all' };
const MAX_LAG_MS = 300;

let primary: PostgresCluster;
let standby: PostgresCluster;
let app: TestApp;
let direct: pg.Client;
let replicaUrl: string;


/** Statements (log lines, parameters included) naming `marker` that the server logged while `work` ran. */
async function statementsOn(servers: Record<'primary' | 'replica', PostgresCluster>, marker: string, work: () => Promise<unknown>): Promise<{ primary: number; replica: number }> {
  const sizes = { primary: statSync(servers.primary.logFile).size, replica: statSync(servers.replica.logFile).size };
  await work();
  // The logging collector writes after the statement returns: give it a moment to reach the file.
  await new Promise((resolve) => setTimeout(resolve, 150));
  const count = (server: 'primary' | 'replica') =>
    readFileSync(servers[server].logFile).subarray(sizes[server]).toString('utf8').split('\n').filter((line) => line.includes(marker)).length;
  return { primary: count('primary'), replica: count('replica') };
}

const servers = () => ({ primary, replica: standby });

/** Runs `work` while the replica receives the primary's WAL but replays none of it; replay resumes after. */
async function whileReplayPaused(work: () => Promise<void>): Promise<void> {
  const replica = new pg.Client({ connectionString: replicaUrl });
  await replica.connect();
  await replica.query('SELECT pg_wal_replay_pause()');
  try {
    await work();
  } finally {
    await replica.query('SELECT pg_wal_replay_resume()');
    await replica.end();
  }
}

const WORKSHOP = 'query ($id: ID!) { workshop(id: $id) { id title seatsLeft } }';

/** The replica has replayed everything the primary committed so far, and the router knows it. */
async function replicaCaughtUp(target: TestApp = app): Promise<void> {
  await target.database.replicas!.settled();
  const [{ lsn }] = (await direct.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows as [{ lsn: string }];
  const replica = new pg.Client({ connectionString: replicaUrl });
  await replica.connect();
  try {
    await waitFor('the replica replaying the primary', async () => (await replica.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn])).rows[0].done === true, 10_000);
  } finally {
    await replica.end();
  }
  await new Promise((resolve) => setTimeout(resolve, 150));
  // Just restarted, a replica reports no lag until it streams again.
  await waitFor('the router seeing the replica usable', async () => (await target.database.replicas!.probe(), target.database.replicas!.status()[0]!.usable), 10_000);
}

beforeAll(async () => {
  primary = await startPostgresCluster({ settings: LOGGED });
  await createMigratedDatabase(primary, 'workshops');
  standby = await startStandby(primary, { settings: LOGGED });
  replicaUrl = databaseUrlOn(standby, 'workshops');
  direct = new pg.Client({ connectionString: databaseUrlOn(primary, 'workshops') });
  await direct.connect();
  app = await startTestApp({
    databaseUrl: databaseUrlOn(primary, 'workshops'),
    databaseOptions: { replicaUrls: [replicaUrl], replicaMaxLagMs: MAX_LAG_MS, replicaCheckIntervalMs: 3_600_000, connectTimeoutMs: 1000 },
    // Every read reaches the database (a cached answer would read nothing).
    env: { RESPONSE_CACHE: 'false' },
  });
});

afterAll(async () => {
  await app?.close();
  await direct?.end();
  standby?.destroy();
  primary?.destroy();
});

describe('read replicas', () => {
  it('serves the reads of queries from the replica, none from the primary', async () => {
    const workshop = await createWorkshop(app);
    await replicaCaughtUp();
    const uuid = decodeGlobalId(workshop.id).id;
    const counts = await statementsOn(servers(), uuid, async () => {
      for (let i = 0; i < 10; i++) expect(dataOf(await app.gql(WORKSHOP, { id: workshop.id })).workshop.id).toBe(workshop.id);
    });
    expect(counts.primary).toBe(0);
    expect(counts.replica).toBeGreaterThanOrEqual(10);
  });

  it('serves the workshops page and its enrollment pages, read through pg directly, from the replica', async () => {
    const marker = `replica-page-${Date.now()}`;
    const workshop = await createWorkshop(app, { titleEn: `Page ${marker}` });
    await replicaCaughtUp();
    const page = `query ($search: String!) { workshops(first: 5, filter: { search: $search }) { totalCount edges { node { id enrollments(first: 2) { totalCount } } } } }`;
    const uuid = decodeGlobalId(workshop.id).id;
    // The page's statement names the search text; its enrollment pages' statement, the workshop's id.
    const read = async () => {
      const { workshops } = dataOf(await app.gql<{ workshops: { edges: { node: { id: string } }[] } }>(page, { search: marker }, { key: app.keys.editor }));
      expect(workshops.edges.map((edge) => edge.node.id)).toEqual([workshop.id]);
    };
    const byText = await statementsOn(servers(), marker, read);
    const byId = await statementsOn(servers(), uuid, read);
    expect([byText.primary, byId.primary]).toEqual([0, 0]);
    expect(Math.min(byText.replica, byId.replica)).toBeGreaterThanOrEqual(1);
  });

  it('runs a mutation, and the reads of its answer, on the primary', async () => {
    const workshop = await createWorkshop(app);
    await replicaCaughtUp();
    const uuid = decodeGlobalId(workshop.id).id;
    const counts = await statementsOn(servers(), uuid, async () => {
      const updated = dataOf(await app.gql(`mutation ($id: ID!) { updateWorkshop(id: $id, input: { capacity: 42 }) { id capacity seatsLeft } }`, { id: workshop.id }, { key: app.keys.editor }));
      expect(updated.updateWorkshop).toMatchObject({ capacity: 42, seatsLeft: 42 });
    });
    expect(counts.primary).toBeGreaterThan(0);
    expect(counts.replica).toBe(0);
  });

  it('reads what the request wrote from the primary (read-your-writes), and only then', async () => {
    const workshop = await createWorkshop(app);
    await replicaCaughtUp();
    const uuid = decodeGlobalId(workshop.id).id;
    // The replica stops replaying: a read of this request's write from there would see the old capacity.
    await whileReplayPaused(async () => {
      const db = app.database.prisma;
      const reads = { wrote: false };
      const before = await statementsOn(servers(), uuid, () => withRequestReads(reads, async () => await db.workshop.findUnique({ where: { id: uuid } })));
      expect(before).toEqual({ primary: 0, replica: 1 });
      let capacity = 0;
      const after = await statementsOn(servers(), uuid, () =>
        withRequestReads(reads, async () => {
          await db.workshop.update({ where: { id: uuid }, data: { capacity: 77 } });
          capacity = (await db.workshop.findUnique({ where: { id: uuid } }))!.capacity;
        }),
      );
      expect(capacity).toBe(77);
      expect(after.replica).toBe(0);
      expect(after.primary).toBeGreaterThanOrEqual(2);
      expect(reads.wrote).toBe(true);
    });
  });

  it('keeps reads off a replica within the lag bound until it has replayed the last write, then goes back to it', async () => {
    // An instance that tolerates a minute of lag: only the replay of the write can keep its reads away.
    const patient = await startTestApp({
      databaseUrl: databaseUrlOn(primary, 'workshops'),
      databaseOptions: { replicaUrls: [replicaUrl], replicaMaxLagMs: 60_000, replicaCheckIntervalMs: 3_600_000 },
      env: { RESPONSE_CACHE: 'false' },
    });
    const replica = new pg.Client({ connectionString: replicaUrl });
    await replica.connect();
    try {
      const workshop = await createWorkshop(patient);
      await replicaCaughtUp(patient);
      const uuid = decodeGlobalId(workshop.id).id;
      await replica.query('SELECT pg_wal_replay_pause()');
      dataOf(await patient.gql(`mutation ($id: ID!) { updateWorkshop(id: $id, input: { capacity: 11 }) { id } }`, { id: workshop.id }, { key: patient.keys.editor }));
      await patient.database.replicas!.settled();
      expect(patient.database.replicas!.status()[0]).toMatchObject({ up: true, usable: true });
      // Another request after the write: the replica (up, within the bound) has not replayed it; the primary answers.
      const right = await statementsOn(servers(), uuid, async () => expect(dataOf(await patient.gql(WORKSHOP, { id: workshop.id })).workshop.seatsLeft).toBe(11));
      expect(right).toMatchObject({ replica: 0 });
      expect(right.primary).toBeGreaterThan(0);
      await replica.query('SELECT pg_wal_replay_resume()');
      await replicaCaughtUp(patient);
      const later = await statementsOn(servers(), uuid, async () => expect(dataOf(await patient.gql(WORKSHOP, { id: workshop.id })).workshop.seatsLeft).toBe(11));
      expect(later.primary).toBe(0);
      expect(later.replica).toBeGreaterThan(0);
    } finally {
      await replica.query('SELECT pg_wal_replay_resume()');
      await replica.end();
      await patient.close();
    }
  });

  it('serves segment counts and the statistics age from the replica, outside requests too', async () => {
    await replicaCaughtUp();
    const segments = await statementsOn(servers(), 'GROUP BY s.status', async () => {
      expect(dataOf(await app.gql('{ subscriberSegments(groupBy: [STATUS]) { count } }', {}, { key: app.keys.editor })).subscriberSegments).toBeInstanceOf(Array);
    });
    expect(segments).toEqual({ primary: 0, replica: 1 });
    // The metrics scrape reads the statistics age outside any request: still the replica's job.
    const age = await statementsOn(servers(), 'FROM analytics.refreshes', () => app.services.statistics.asOf());
    expect(age).toEqual({ primary: 0, replica: 1 });
    // Request-less reads of the main client (jobs) stay on the primary.
    const job = await statementsOn(servers(), 'FROM analytics.refreshes', () => app.database.prisma.$queryRaw`SELECT count(*) FROM analytics.refreshes`);
    expect(job).toEqual({ primary: 1, replica: 0 });
  });

  it('skips a replica that lags past DATABASE_REPLICA_MAX_LAG_MS and reports its lag', async () => {
    const workshop = await createWorkshop(app);
    await replicaCaughtUp();
    const uuid = decodeGlobalId(workshop.id).id;
    await whileReplayPaused(async () => {
      // A write the app does not know of (no eviction): only the measured lag can keep reads away.
      await direct.query('UPDATE workshops SET location = $1 WHERE id = $2', ['Kraków', uuid]);
      await new Promise((resolve) => setTimeout(resolve, MAX_LAG_MS + 200));
      await app.database.replicas!.probe();
      const [status] = app.database.replicas!.status();
      expect(status).toMatchObject({ up: true, usable: false });
      expect(status!.lagMs).toBeGreaterThan(MAX_LAG_MS);
      const metrics = await (await app.yoga.fetch('http://localhost/metrics')).text();
      expect(metrics).toMatch(/^db_replica_up\{replica="127\.0\.0\.1:\d+\/workshops"\} 0$/m);
      const lag = Number(/^db_replica_lag_seconds\{replica="[^"]+"\} (\S+)$/m.exec(metrics)?.[1]);
      expect(lag).toBeGreaterThan(MAX_LAG_MS / 1000);
      const counts = await statementsOn(servers(), uuid, async () => expect(dataOf(await app.gql('query ($id: ID!) { workshop(id: $id) { location } }', { id: workshop.id })).workshop.location).toBe('Kraków'));
      expect(counts).toMatchObject({ replica: 0 });
      expect(counts.primary).toBeGreaterThan(0);
    });
    await replicaCaughtUp();
    expect(app.database.replicas!.status()[0]).toMatchObject({ usable: true, lagMs: 0 });
  });

  it('falls back to the primary when the replica stops, with no failed request, and is ready all along', async () => {
    const workshop = await createWorkshop(app);
    await replicaCaughtUp();
    const uuid = decodeGlobalId(workshop.id).id;
    standby.stop();
    try {
      // The router still believes in the replica: the first read finds it down and is answered by the primary.
      const counts = await statementsOn({ primary, replica: primary }, uuid, async () => {
        for (let i = 0; i < 10; i++) expect(dataOf(await app.gql(WORKSHOP, { id: workshop.id })).workshop.id).toBe(workshop.id);
      });
      expect(counts.primary).toBeGreaterThanOrEqual(10);
      expect(app.database.replicas!.status()[0]).toMatchObject({ up: false, usable: false });
      const ready = await app.yoga.fetch('http://localhost/ready');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', database: 'up', replicas: [{ up: false, usable: false }] });
    } finally {
      standby.start();
    }
    await replicaCaughtUp();
    const back = await statementsOn(servers(), uuid, () => app.gql(WORKSHOP, { id: workshop.id }));
    expect(back.primary).toBe(0);
    expect(back.replica).toBeGreaterThan(0);
  });
});
