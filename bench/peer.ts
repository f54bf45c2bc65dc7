/**
 * `npm run bench:peer` (the first part of `npm run bench`): our compiled server, started as production
 * starts it, on the year profile (600 workshops, 15,000 enrollments), and with PEER=postgraphile
 * PostGraphile 5.1.5 (bench/peer, installed there on demand) over the same database, loaded with the same
 * tool and settings in the same run, rounds interleaved, medians:
 *   (a) `{ __typename }`: the ceiling of each stack, and of graphql-yoga alone (bench/yoga-bare.mjs)
 *   (c) ours: the web app's persisted UpcomingWorkshops page as an anonymous GET, response cache on (hits),
 *       as the bench's client asks (no compression) and as browsers do (Accept-Encoding: gzip, deflate, br)
 *   (b) the page, uncached: 20 published workshops by start time with totalCount, each with its first 5
 *       enrollments with the person's email and their totalCount (ours: an ADMIN key, response cache off)
 * the SQL statements one request of (b) costs, each server process's CPU time per request of (a), (b) and
 * (c) over each measured round (medians, like req/s), and our server's RSS after all of its load.
 * Settings: ROUNDS (3), DURATION_S (8) after WARMUP_S (2), CONNECTIONS (10); BENCH_DATABASE_URL: an
 * already seeded database (default: a new one on BENCH_ADMIN_DATABASE_URL's server, seeded, dropped after);
 * REDIS_URL: given to our servers (rate limits and cache tiers there, as in production), else none.
 * Loopback only; every load phase is bounded in time and connections.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createScratchDatabase, median } from './lib.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DURATION_S = Number(process.env.DURATION_S ?? 8);
const WARMUP_S = Number(process.env.WARMUP_S ?? 2);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 10);
const PEER = process.env.PEER ?? '';
const REDIS_URL = process.env.REDIS_URL ?? '';
if (!(ROUNDS >= 1 && ROUNDS <= 9 && DURATION_S > 0 && DURATION_S <= 60 && WARMUP_S <= 30 && CONNECTIONS >= 1 && CONNECTIONS <= 100)) {
  throw new Error('ROUNDS 1–9, DURATION_S ≤ 60, WARMUP_S ≤ 30, CONNECTIONS 1–100');
}
if (PEER && PEER !== 'postgraphile') throw new Error(`PEER=${PEER}: only postgraphile is known`);

const TYPENAME = { query: '{ __typename }' };
/** (b) in our API's words (bench/peer/queries/page.graphql is the same page in PostGraphile's). */
const OUR_PAGE = {
  query: `query WorkshopPage { workshops(first: 20, filter: { status: PUBLISHED }) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id slug title status startsAt capacity enrollments(first: 5) { totalCount edges { node { id status createdAt subscriber { email } } } } } } } }`,
};
/** What browsers send with every request: hits are then served compressed (br). */
const BROWSER_ENCODINGS = 'gzip, deflate, br';
const PEER_PAGE = { query: readFileSync('bench/peer/queries/page.graphql', 'utf8') };
const SECRET = 'bench-peer-token-secret-0123456789abcdef';
const METRICS_TOKEN = 'bench-peer-metrics-token-0123456789abcdef';
const NODE_FLAGS = (readFileSync('Dockerfile', 'utf8').match(/CMD \["node", (.*), "dist\/index\.js"\]/)?.[1] ?? '')
  .split(',')
  .map((flag) => flag.trim().replace(/^"|"$/g, ''))
  .filter(Boolean);

interface Server {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** Starts a process and waits (≤ 120 s) for a line announcing its URL; `extra` captures more lines. */
async function startProcess(command: string, args: string[], env: Record<string, string>, pattern: RegExp, extra?: RegExp): Promise<Server & { extra?: string }> {
  const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const found = await new Promise<{ url: string; extra?: string }>((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGTERM'), reject(new Error(`no start within 120 s:\n${output}`))), 120_000);
    let started = false;
    const onData = (chunk: Buffer) => {
      if (started) return; // drained, not kept: the access log under load
      output += chunk.toString();
      const url = pattern.exec(output)?.[1];
      if (url && (!extra || extra.test(output))) (started = true, clearTimeout(timer), resolve({ url, extra: extra?.exec(output)?.[1] }));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`exited with ${code}:\n${output}`))));
  });
  return {
    child,
    ...found,
    stop: () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')))),
  };
}

function startOurs(databaseUrl: string, responseCache: boolean, mailDir: string) {
  return startProcess(process.execPath, [...NODE_FLAGS, 'dist/index.js'], {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    TOKEN_SECRET: SECRET,
    PORT: '0',
    PUBLIC_URL: 'http://127.0.0.1',
    MAIL_TRANSPORT: 'file',
    MAIL_DIR: mailDir,
    LOG_LEVEL: 'info', // production's: an access-log line per request
    RESPONSE_CACHE: String(responseCache),
    METRICS_TOKEN,
    STATS_REFRESH_DEBOUNCE_MS: '0',
    OUTBOX_POLL_MS: '600000', // nothing to send; keeps the statement counts free of polling
    // No request or cost budget in the way: the load is one client (production's code paths, lifted numbers).
    LIMITS: JSON.stringify(Object.fromEntries(['anonymous', 'editor'].map((tier) => [tier, { requestsPerMinute: 100_000_000, costPerMinute: 2_000_000_000 }]))),
    ...(REDIS_URL ? { REDIS_URL } : {}),
  }, /ready at (http:\/\/[^\s"]+\/graphql)/);
}

interface Load {
  rps: number;
  p50: number;
  p95: number;
  errors: number;
  /** The server process's CPU time per response over the measured seconds (ms). */
  cpuMs: number;
}

interface Target {
  url: string;
  method?: 'GET' | 'POST';
  body?: unknown;
  headers?: Record<string, string>;
}

/** autocannon's options for a target: loopback only, CONNECTIONS connections. */
function loadOptions(target: Target) {
  const { hostname } = new URL(target.url);
  if (!/^127\.|^localhost$|^\[::1\]$/.test(hostname)) throw new Error(`refusing non-loopback target ${hostname}`);
  return {
    url: target.url,
    method: target.method ?? 'POST',
    connections: CONNECTIONS,
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...target.headers },
    ...(target.body ? { body: JSON.stringify(target.body) } : {}),
  };
}

/**
 * One bounded load of the server process `pid`: WARMUP_S unmeasured, then DURATION_S measured; latency per
 * response (ms), and the process's CPU time per response over the measured seconds.
 */
async function load(pid: number, target: Target): Promise<Load> {
  const options = loadOptions(target);
  if (WARMUP_S > 0) await autocannon({ ...options, duration: WARMUP_S });
  const latencies: number[] = [];
  const cpuBefore = cpuMs(pid);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ ...options, duration: DURATION_S }, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
  const cpuPerResponse = (cpuMs(pid) - cpuBefore) / latencies.length;
  latencies.sort((x, y) => x - y);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? NaN;
  return { rps: latencies.length / DURATION_S, p50: at(0.5), p95: at(0.95), errors: result.errors + result.non2xx, cpuMs: cpuPerResponse };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Record<string, any>> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const json = (await response.json()) as Record<string, any>;
  if (!response.ok || json.errors) throw new Error(`${url}: HTTP ${response.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

/** Statements per request, from a counter read before and after `n` requests sent one at a time. */
async function statementsPer(count: () => Promise<number>, request: () => Promise<unknown>, n = 10): Promise<number> {
  await request(); // caches warm (the API key, prepared plans)
  const before = await count();
  for (let i = 0; i < n; i++) await request();
  return Math.round(((await count()) - before) / n);
}

/** Our server's statements so far: every statement Prisma sent, from /metrics. */
async function ourStatements(url: string): Promise<number> {
  const text = await (await fetch(url.replace(/\/graphql$/, '/metrics'), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  return [...text.matchAll(/^db_query_duration_seconds_count\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

const TICK_MS = 1000 / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100);

/** CPU time a process has used (user + system, /proc/<pid>/stat fields 14 and 15), in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

const residentMib = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

function seed(url: string) {
  console.log('seeding the year profile (600 workshops, 15,000 enrollments) …');
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', '--profile=year', '--events=12'], {
    env: { ...process.env, DATABASE_URL: url, TOKEN_SECRET: SECRET, REDIS_URL: '' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (run.status !== 0) throw new Error('seeding failed');
}

function adminKey(url: string): string {
  const run = spawnSync(process.execPath, ['dist/cli/apikey.js', 'create', '--role', 'ADMIN', '--name', 'bench-peer'], {
    env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: url, TOKEN_SECRET: SECRET },
    encoding: 'utf8',
  });
  const key = /^(wk_\S+)$/m.exec(run.stdout)?.[1];
  if (!key) throw new Error(`no key created: ${run.stdout}${run.stderr}`);
  return key;
}

function ensurePeerInstalled() {
  if (existsSync('bench/peer/node_modules/postgraphile')) return;
  console.log('installing bench/peer (PostGraphile 5.1.5) …');
  const run = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: 'bench/peer', stdio: ['ignore', 'ignore', 'inherit'] });
  if (run.status !== 0) throw new Error('npm ci in bench/peer failed');
}

const fixed = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—');
const medianOf = (loads: Load[]): Load => ({
  rps: median(loads.map((l) => l.rps).sort((x, y) => x - y)),
  p50: median(loads.map((l) => l.p50).sort((x, y) => x - y)),
  p95: median(loads.map((l) => l.p95).sort((x, y) => x - y)),
  errors: loads.reduce((sum, l) => sum + l.errors, 0),
  // Interleaved with the peer's rounds like req/s, and steadier on a shared machine.
  cpuMs: median(loads.map((l) => l.cpuMs).sort((x, y) => x - y)),
});

async function main() {
  const scratch = process.env.BENCH_DATABASE_URL ? null : await createScratchDatabase('workshops_bench_peer');
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? scratch!.url;
  const mailDir = mkdtempSync(join(tmpdir(), 'workshops-bench-mail-'));
  const servers: Server[] = [];
  try {
    if (scratch) seed(databaseUrl);
    // Each server is stopped in `finally` from the moment it runs.
    const uncached = await startOurs(databaseUrl, false, mailDir); // first: it applies pending migrations
    servers.push(uncached);
    const cached = await startOurs(databaseUrl, true, mailDir);
    servers.push(cached);
    const admin = { authorization: `Bearer ${adminKey(databaseUrl)}` };
    // The framework's own ceiling: graphql-yoga alone, no schema to speak of, no plugins.
    const bare = await startProcess(process.execPath, ['bench/yoga-bare.mjs'], { NODE_ENV: 'production' }, /listening on (http:\/\/\S+\/graphql)/);
    servers.push(bare);
    let peer: (Server & { extra?: string }) | null = null;
    if (PEER) {
      ensurePeerInstalled();
      peer = await startProcess(process.execPath, ['bench/peer/serve.mjs', '--db', databaseUrl], { NODE_ENV: 'production', GRAPHILE_ENV: 'production' },
        /listening on (http:\/\/\S+\/graphql)/, /sql-count on (http:\/\/\S+)/);
      servers.push(peer);
    }

    // The anonymous persisted GET of the web app's main page (persisted/web.json), as browsers send it.
    const manifest = JSON.parse(readFileSync('persisted/web.json', 'utf8')) as Record<string, string>;
    const documentId = Object.keys(manifest).find((id) => /query UpcomingWorkshops\b/.test(manifest[id]!));
    if (!documentId) throw new Error('no UpcomingWorkshops in persisted/web.json');
    const cachedGet = `${cached.url}?documentId=${encodeURIComponent(documentId)}&variables=${encodeURIComponent(JSON.stringify({ first: 20 }))}`;

    // Every target answers cleanly before it is loaded.
    const ourPage = await post(uncached.url, OUR_PAGE, admin);
    if (ourPage.data.workshops.edges.length !== 20) throw new Error('our page is not 20 workshops');
    // The web app sends the CSRF header on every request (README "Security").
    const csrf = { 'x-graphql-csrf': '1' };
    const hit = await fetch(cachedGet, { headers: { accept: 'application/json', ...csrf } });
    if (!hit.ok) throw new Error(`cached GET: HTTP ${hit.status} ${await hit.text()}`);
    // The same size of page as (b): an empty one would measure the stack, not serving a page.
    const upcoming = ((await hit.json()) as { data: { workshops: { edges: unknown[] } } }).data.workshops.edges.length;
    if (upcoming !== 20) throw new Error(`the cached GET page has ${upcoming} workshops, not 20 (reseed: the year profile's last workshops are upcoming)`);
    if (peer) await post(peer.url, PEER_PAGE);

    const sql = {
      ours: await statementsPer(() => ourStatements(uncached.url), () => post(uncached.url, OUR_PAGE, admin)),
      peer: peer ? await statementsPer(async () => Number(await (await fetch(peer.extra!)).text()), () => post(peer.url, PEER_PAGE)) : NaN,
    };

    const started = Date.now();
    const load0 = loadavg()[0]!;
    const runs: Record<string, Load[]> = { peerA: [], peerB: [], bareA: [], oursA: [], oursCached: [], oursCachedBrowser: [], oursB: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      process.stderr.write(`round ${round}/${ROUNDS} …\n`);
      if (peer) {
        runs.peerA!.push(await load(peer.child.pid!, { url: peer.url, body: TYPENAME }));
        runs.peerB!.push(await load(peer.child.pid!, { url: peer.url, body: PEER_PAGE }));
      }
      runs.bareA!.push(await load(bare.child.pid!, { url: bare.url, body: TYPENAME }));
      runs.oursA!.push(await load(uncached.child.pid!, { url: uncached.url, body: TYPENAME, headers: admin }));
      runs.oursCached!.push(await load(cached.child.pid!, { url: cachedGet, method: 'GET', headers: csrf }));
      runs.oursCachedBrowser!.push(await load(cached.child.pid!, { url: cachedGet, method: 'GET', headers: { ...csrf, 'accept-encoding': BROWSER_ENCODINGS } }));
      runs.oursB!.push(await load(uncached.child.pid!, { url: uncached.url, body: OUR_PAGE, headers: admin }));
    }
    const loadedSeconds = Math.round((Date.now() - started) / 1000);
    const rss = { uncached: residentMib(uncached.child.pid!), cached: residentMib(cached.child.pid!) };
    const m = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.length ? medianOf(v) : null])) as Record<string, Load | null>;
    const cpu = Object.fromEntries(Object.entries(m).map(([k, load]) => [k, load?.cpuMs ?? NaN])) as Record<'peerA' | 'peerB' | 'bareA' | 'oursA' | 'oursCached' | 'oursCachedBrowser' | 'oursB', number>;
    const ratio = (ours: number | undefined, theirs: number | undefined) => (ours && theirs ? fixed(ours / theirs, 2) : '—');
    const times = (ours: number, theirs: number) => (ours && theirs ? `${fixed(ours / theirs, 1)}×` : '—');

    console.log(`\nautocannon, ${CONNECTIONS} connections, ${DURATION_S} s after ${WARMUP_S} s warm-up, median of ${ROUNDS} rounds; loopback; ` +
      `load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores; ours: node ${NODE_FLAGS.join(' ')} dist/index.js, ` +
      `production, ${REDIS_URL ? 'Redis' : 'no Redis'}\n`);
    const rows: [string, string, string, string][] = [
      ['', peer ? 'PostGraphile 5.1.5' : 'PostGraphile (PEER=postgraphile)', 'ours', 'ours ÷ peer'],
      ['(a) `{ __typename }` req/s', fixed(m.peerA?.rps ?? NaN), fixed(m.oursA!.rps), ratio(m.oursA!.rps, m.peerA?.rps)],
      ['(a) `{ __typename }` on graphql-yoga alone (no plugins) req/s', '', fixed(m.bareA!.rps), ratio(m.bareA!.rps, m.peerA?.rps)],
      ['(c) cached persisted GET page req/s (÷ peer\'s (a))', '', fixed(m.oursCached!.rps), ratio(m.oursCached!.rps, m.peerA?.rps)],
      ['(c) p50 / p95 ms', '', `${fixed(m.oursCached!.p50, 1)} / ${fixed(m.oursCached!.p95, 1)}`, ''],
      [`(c) as browsers ask (Accept-Encoding: ${BROWSER_ENCODINGS}) req/s`, '', fixed(m.oursCachedBrowser!.rps), ratio(m.oursCachedBrowser!.rps, m.peerA?.rps)],
      ['(b) the page, uncached, req/s', fixed(m.peerB?.rps ?? NaN), fixed(m.oursB!.rps), ratio(m.oursB!.rps, m.peerB?.rps)],
      ['(b) p50 / p95 ms', m.peerB ? `${fixed(m.peerB.p50, 1)} / ${fixed(m.peerB.p95, 1)}` : '—', `${fixed(m.oursB!.p50, 1)} / ${fixed(m.oursB!.p95, 1)}`, ''],
      ['SQL statements for (b)', fixed(sql.peer), fixed(sql.ours), ''],
      ['CPU ms per request (a) (ours ÷ peer: times the CPU)', fixed(cpu.peerA, 3), fixed(cpu.oursA, 3), times(cpu.oursA, cpu.peerA)],
      ['CPU ms per request (a), graphql-yoga alone', '', fixed(cpu.bareA, 3), times(cpu.bareA, cpu.peerA)],
      ['CPU ms per request (c)', '', fixed(cpu.oursCached, 3), times(cpu.oursCached, cpu.peerA)],
      ['CPU ms per request (c) as browsers ask', '', fixed(cpu.oursCachedBrowser, 3), times(cpu.oursCachedBrowser, cpu.peerA)],
      ['CPU ms per request (b)', fixed(cpu.peerB, 2), fixed(cpu.oursB, 2), times(cpu.oursB, cpu.peerB)],
      [`RSS after ${loadedSeconds} s of the run (uncached / cached server)`, '', `${fixed(rss.uncached)} / ${fixed(rss.cached)} MiB`, ''],
      ['errors (all loads)', fixed((m.peerA?.errors ?? 0) + (m.peerB?.errors ?? 0)), fixed(m.oursA!.errors + m.oursCached!.errors + m.oursCachedBrowser!.errors + m.oursB!.errors), ''],
    ];
    const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const [i, row] of rows.entries()) {
      console.log(`| ${row.map((cell, j) => cell.padEnd(widths[j]!)).join(' | ')} |`);
      if (i === 0) console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
    }
    console.log(`\nper round, req/s: ${Object.entries(runs).filter(([, v]) => v.length).map(([k, v]) => `${k} ${v.map((l) => fixed(l.rps)).join(', ')}`).join('; ')}`);
    console.log('targets: (b) ≥ 1.0 × peer and p95 < 25 ms; SQL ≤ 3; (c) and (a) ≥ 0.5 × peer\'s (a); RSS < 250 MiB');
  } finally {
    for (const server of servers) await server.stop();
    rmSync(mailDir, { recursive: true, force: true });
    await scratch?.drop();
  }
}

await main();
