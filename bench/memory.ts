/**
 * `npm run bench:memory`: resident memory of the compiled server (`node dist/index.js`, run `npm run
 * build` first), idle and after LOAD_S seconds of load, started as the production image starts it
 * (NODE_OPTIONS_BENCH: comma-separated node flags, default the Dockerfile CMD's), on a real Postgres (SETUPS=postgres) and on the embedded (SETUPS=embedded)
 * default. Loopback only; each load phase is bounded in time and connections.
 * Targets (issue: operations): < 200 MiB idle on Postgres, < 250 MiB after 60 s of load.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createScratchDatabase } from './lib.js';

const LOAD_S = Number(process.env.LOAD_S ?? 60);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 10);
/** Which servers to measure: `postgres`, `embedded` or both (comma-separated). */
const SETUPS = (process.env.SETUPS ?? 'postgres,embedded').split(',');
const NODE_FLAGS = (process.env.NODE_OPTIONS_BENCH ?? readFileSync('Dockerfile', 'utf8').match(/CMD \["node", (.*), "dist\/index\.js"\]/)?.[1] ?? '')
  .split(',')
  .map((flag) => flag.trim().replace(/^"|"$/g, ''))
  .filter(Boolean);

/** The uncached main page: each request runs the resolvers and SQL (the cache would hide the server's allocation). */
const PAGE = `{ workshops(first: 20, filter: { upcoming: true }) { totalCount edges { node { id slug title startsAt capacity enrollmentCount waitlistCount seatsLeft tags } } } }`;

const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

/** VmRSS and VmHWM (peak) of a process, in KiB. */
function residentKib(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

async function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, [...NODE_FLAGS, 'dist/index.js'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', LOG_LEVEL: 'info', RESPONSE_CACHE: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 120 s:\n${output}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready at (http:\/\/[^/\s"]+)\/graphql/.exec(output);
      if (match?.[1]) (clearTimeout(timer), resolve(match[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`exited with ${code}:\n${output}`))));
  });
  return { child, baseUrl, stop: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))) };
}

async function measure(label: string, env: Record<string, string>) {
  const server = await startServer(env);
  try {
    // Let start-up work (migrations check, statistics refresh) finish before calling it idle.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const idle = residentKib(server.child.pid!);
    const result = await autocannon({
      url: `${server.baseUrl}/graphql`,
      method: 'POST',
      connections: CONNECTIONS,
      duration: LOAD_S,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: PAGE }),
    });
    const loaded = residentKib(server.child.pid!);
    console.log(
      `${label.padEnd(26)} idle ${mib(idle.rss).padStart(8)}   after ${LOAD_S} s load ${mib(loaded.rss).padStart(8)}   peak ${mib(loaded.peak).padStart(8)}   ${result.requests.average.toFixed(0)} req/s, errors ${result.errors + result.non2xx}`,
    );
  } finally {
    await server.stop();
  }
}

const scratch = await createScratchDatabase('workshops_bench_memory');
const dataDir = mkdtempSync(join(tmpdir(), 'workshops-bench-pglite-'));
try {
  console.log(`node ${NODE_FLAGS.join(' ') || '(no flags)'} dist/index.js; autocannon ${CONNECTIONS} connections, uncached page, loopback only\n`);
  // Relaxed (not production): the anonymous ad-hoc page and lifted rate limits; the code paths are production's.
  if (SETUPS.includes('postgres')) await measure('Postgres', {
    DATABASE_URL: scratch.url,
    TOKEN_SECRET: 'bench-memory-token-secret-0123456789abcdef',
    DEVELOPMENT_RELAXATIONS: 'true',
    SEED_DEMO: 'true',
  });
  if (SETUPS.includes('embedded')) await measure('embedded default', { DATA_DIR: join(dataDir, 'pglite') });
  console.log('\ntargets: Postgres < 200 MiB idle, < 250 MiB after 60 s of load; embedded < 300 MiB');
} finally {
  await scratch.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
