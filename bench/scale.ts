/**
 * `npm run bench:scale`: 1 vs 2 API replicas behind nginx, on this machine. Each replica is the
 * compiled server (`node dist/index.js`, NODE_ENV=production; the npm script builds first) on
 * servers of the benchmark's own, on free loopback ports: a Postgres primary with a streaming replica
 * (pg_basebackup, DATABASE_REPLICA_URLS) and a redis-server. nginx (`command -v nginx || apt-get
 * install -y -qq nginx`) balances round robin. autocannon loads the upcoming-workshops page (the web
 * app's persisted query, anonymous) with the response cache on (cached) and off (uncached): req/s and
 * p95 for 1 and 2 replicas, the 2÷1 ratio, and the share of database transactions the read replica
 * served. Then writes through one API replica are read back through the other (stale reads must be 0).
 * On 2 cores expect little gain: the point is that nothing breaks and nothing goes stale. Loopback
 * only; each phase is bounded in time (DURATION_S) and connections (CONNECTIONS).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { openDatabase } from '../src/infra/db.js';
import { seedDemo } from '../src/infra/demo-seed.js';
import { createApiKey } from '../src/modules/auth/api-keys-service.js';
import { freePort, startPostgresCluster, startRedisServer, startStandby, type PostgresCluster } from '../test/testkit/processes.js';
import { createMigratedDatabase, databaseUrlOn } from '../test/testkit/replication.js';
import { p95 } from './lib.js';
import pg from 'pg';

const DURATION_S = Number(process.env.DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 16);
const WARMUP_S = 2;
const STALE_ROUNDS = 20;

const manifest = JSON.parse(readFileSync('persisted/web.json', 'utf8')) as Record<string, string>;
const idOf = (operation: string) => Object.entries(manifest).find(([, document]) => document.includes(`query ${operation}(`))![0];
const UPCOMING = idOf('UpcomingWorkshops');
const WORKSHOP_PAGE = idOf('WorkshopPage');

const stop = (child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });

async function startReplica(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/index.js'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}`;
  // LOG_LEVEL=warn hides the "ready" line: wait for /ready instead.
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`replica exited with ${code}`))));
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await Promise.race([fetch(`${url}/ready`).then((r) => r.ok, () => false), exited]);
    if (ok) return { url, child };
    if (Date.now() > deadline) throw new Error(`replica not ready within 60 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** nginx in the foreground with its own prefix folder: one server per upstream set, round robin. */
async function startNginx(upstreams: string[][]): Promise<{ urls: string[]; child: ChildProcess; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'workshops-bench-nginx-'));
  chmodSync(dir, 0o777); // workers run as nobody under root
  for (const temp of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, temp), { mode: 0o777 });
  const ports = await Promise.all(upstreams.map(() => freePort()));
  const servers = upstreams.map(
    (set, i) => `
  upstream api${i} { ${set.map((url) => `server ${new URL(url).host};`).join(' ')} keepalive 64; }
  server {
    listen 127.0.0.1:${ports[i]};
    location / {
      proxy_pass http://api${i};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }`,
  );
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
${servers.join('\n')}
}
`,
  );
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  const deadline = Date.now() + 10_000;
  while (!(await fetch(`${urls[0]}/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`nginx did not start:\n${readFileSync(join(dir, 'error.log'), 'utf8')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { urls, child, dir };
}

interface Figures {
  rps: number;
  p95: number;
  errors: number;
  /** Of the database transactions meanwhile, the share the read replica ran (null: none ran). */
  replicaShare: number | null;
}

const DATABASE = 'workshops_bench_scale';

/** Committed transactions in the benchmark's database on one server (a standby counts its own). */
async function transactions(server: PostgresCluster): Promise<number> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [DATABASE]);
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** One load phase: a warm-up, then DURATION_S of measurement; p95 from every response's own time. */
async function load(base: string, servers: { primary: PostgresCluster; standby: PostgresCluster }): Promise<Figures> {
  const options = {
    url: `${base}/graphql`,
    method: 'POST' as const,
    connections: CONNECTIONS,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ documentId: UPCOMING, variables: { first: 12 } }),
  };
  // autocannon counts statuses only: first check the page answers with data.
  if (!(await gql(base, JSON.parse(options.body))).workshops) throw new Error('the page answered without workshops');
  await autocannon({ ...options, duration: WARMUP_S });
  // Statistics reach pg_stat_database when a backend reports them (at most once a second, or when idle).
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const before = await Promise.all([transactions(servers.primary), transactions(servers.standby)]);
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ ...options, duration: DURATION_S }, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on('response', (_client, _status, _bytes, ms) => times.push(ms));
  });
  times.sort((x, y) => x - y);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const [primary, standby] = (await Promise.all([transactions(servers.primary), transactions(servers.standby)])).map((n, i) => n - before[i]!);
  return { rps: result.requests.average, p95: p95(times), errors: result.errors + result.non2xx + result.timeouts, replicaShare: primary! + standby! > 0 ? standby! / (primary! + standby!) : null };
}

async function gql(base: string, body: object, key?: string): Promise<any> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { data?: any; errors?: unknown[] };
  if (response.status !== 200 || json.errors) throw new Error(`HTTP ${response.status}: ${JSON.stringify(json.errors)}`);
  return json.data;
}

/** Writes a workshop's title through one replica and reads the (cached) workshop page through the other, both ways. */
async function staleReads(replicas: string[], editorKey: string, slug: string, id: string): Promise<number> {
  let stale = 0;
  for (let round = 0; round < STALE_ROUNDS; round++) {
    const [writer, reader] = round % 2 ? [replicas[1]!, replicas[0]!] : [replicas[0]!, replicas[1]!];
    const page = () => gql(reader, { documentId: WORKSHOP_PAGE, variables: { slug } }).then((data) => data.workshopBySlug.title as string);
    await page(); // cached on the reader before the write
    const title = `Scale round ${round} ${randomBytes(2).toString('hex')}`;
    await gql(writer, { query: `mutation ($id: ID!, $input: UpdateWorkshopInput!) { updateWorkshop(id: $id, input: $input) { id } }`, variables: { id, input: { title: { en: title } } } }, editorKey);
    if ((await page()) !== title) stale++;
  }
  return stale;
}

async function main() {
  if (spawnSync('sh', ['-c', 'command -v nginx']).status !== 0) {
    console.error('nginx is not installed: command -v nginx || apt-get install -y -qq nginx');
    process.exit(1);
  }
  const primary = await startPostgresCluster();
  const servers: { destroy(): void }[] = [primary];
  const redis = await startRedisServer();
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  try {
    const inDatabase = (server: PostgresCluster) => databaseUrlOn(server, DATABASE);
    const database = await openDatabase({ url: await createMigratedDatabase(primary, DATABASE), dataDir: '', poolMax: 4, statementTimeoutMs: 60_000 });
    let editorKey: string;
    let workshop: { id: string; slug: string };
    try {
      await seedDemo(database.prisma);
      editorKey = (await createApiKey(database.prisma, { name: 'bench editor', role: 'EDITOR' })).key;
      const row = await database.prisma.workshop.findFirstOrThrow({ where: { status: 'PUBLISHED', deletedAt: null, startsAt: { gt: new Date() } }, select: { id: true, slug: true } });
      workshop = { id: Buffer.from(`Workshop:${row.id}`).toString('base64'), slug: row.slug };
    } finally {
      await database.close();
    }
    // The standby starts from a base backup of the seeded primary, then follows it.
    const standby = await startStandby(primary);
    servers.push(standby);
    const mailDir = mkdtempSync(join(tmpdir(), 'workshops-bench-mail-'));
    dirs.push(mailDir);
    const common = {
      NODE_ENV: 'production',
      DATABASE_URL: inDatabase(primary),
      DATABASE_REPLICA_URLS: inDatabase(standby),
      REDIS_URL: redis.url,
      TOKEN_SECRET: randomBytes(32).toString('hex'),
      PUBLIC_URL: 'http://127.0.0.1',
      MAIL_TRANSPORT: 'file',
      MAIL_DIR: mailDir,
      MIGRATE_ON_START: 'false',
      CACHE_NAMESPACE: `bench-scale-${randomBytes(3).toString('hex')}`,
      // nginx is the one trusted hop; every request comes from one address, so lift the per-IP rate.
      TRUST_PROXY: 'loopback',
      LIMITS: JSON.stringify({ anonymous: { requestsPerMinute: 100_000_000, costPerMinute: 1_000_000_000 } }),
    };

    console.log(`autocannon: ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per phase, through nginx (1 worker), loopback only\n`);
    const results: Record<string, [Figures, Figures]> = {};
    let stale = 0;
    for (const cached of [true, false]) {
      const replicas = await Promise.all([startReplica({ ...common, RESPONSE_CACHE: String(cached) }), startReplica({ ...common, RESPONSE_CACHE: String(cached) })]);
      children.push(...replicas.map((replica) => replica.child));
      const nginx = await startNginx([[replicas[0].url], replicas.map((replica) => replica.url)]);
      children.push(nginx.child);
      dirs.push(nginx.dir);
      const one = await load(nginx.urls[0]!, { primary, standby });
      const two = await load(nginx.urls[1]!, { primary, standby });
      results[cached ? 'cached page (upcoming workshops)' : 'uncached page (cache off)'] = [one, two];
      if (cached) stale = await staleReads(replicas.map((replica) => replica.url), editorKey, workshop.slug, workshop.id);
      await stop(nginx.child, 'SIGQUIT');
      await Promise.all(replicas.map((replica) => stop(replica.child)));
    }

    const cell = (f: Figures) => `${f.rps.toFixed(0).padStart(6)} req/s  p95 ${f.p95.toFixed(0).padStart(4)} ms  replica ${f.replicaShare === null ? '  —' : (f.replicaShare * 100).toFixed(0).padStart(3)} %`;
    console.log(`${''.padEnd(34)} ${'1 API replica'.padEnd(38)} ${'2 API replicas'.padEnd(38)} 2÷1`);
    let errors = 0;
    for (const [name, [one, two]] of Object.entries(results)) {
      console.log(`${name.padEnd(34)} ${cell(one).padEnd(38)} ${cell(two).padEnd(38)} ${(two.rps / one.rps).toFixed(2)}`);
      errors += one.errors + two.errors;
    }
    console.log('\n(replica %: of the database transactions during the phase, the share the streaming replica ran)');
    console.log(`\nerrors (non-2xx, socket errors, timeouts): ${errors} (target 0)`);
    console.log(`stale reads: ${stale} of ${STALE_ROUNDS} (a title written through one replica, the cached page read through the other; target 0)`);
    if (errors > 0 || stale > 0) process.exitCode = 1;
  } finally {
    for (const child of children.reverse()) await stop(child);
    await redis.stop();
    for (const server of servers.reverse()) server.destroy();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(process.exitCode ?? 0);
