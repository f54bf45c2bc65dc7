import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real servers of our own for the fault tests (killed, frozen, stopped), on free loopback ports,
 * started and stopped by pid: never the shared ones.
 */

/** A port nobody listens on now (the kernel picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `check` every `intervalMs` until it holds; the clock is performance.now(), so a test that fakes Date can wait too. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000, intervalMs = 100): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

/** The process and its descendants (Postgres serves each connection from a child of the postmaster). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid …": comm may hold spaces, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree: number[] = [];
  const visit = (p: number) => {
    tree.push(p);
    for (const child of children.get(p) ?? []) visit(child);
  };
  visit(pid);
  return tree;
}

function signalTree(pid: number, signal: NodeJS.Signals) {
  for (const p of processTree(pid)) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  freeze(): void;
  thaw(): void;
  /** SIGKILL; `start` brings it back on the same port (empty). */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitFor('redis-server listening', () => canConnect(port), 10_000);
  };
  const exited = () => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  await start();
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid!;
    },
    freeze: () => child.kill('SIGSTOP'),
    thaw: () => child.kill('SIGCONT'),
    async kill() {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited();
    },
    start,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited();
    },
  };
  return server;
}

async function canConnect(port: number): Promise<boolean> {
  const { Socket } = await import('node:net');
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.connect(port, '127.0.0.1');
  });
}

export interface PostgresCluster {
  url: string;
  port: number;
  /** The server's log (with `log_statement: 'all'` in the settings: every statement it ran). */
  logFile: string;
  /** SIGSTOP to the postmaster and every backend: connections stay open, nothing answers. */
  freeze(): void;
  thaw(): void;
  /** pg_ctl stop (fast): connections are closed and new ones refused. */
  stop(): void;
  start(): void;
  destroy(): void;
}

export interface ClusterOptions {
  /** Server settings (`-c name=value`), e.g. `{ log_statement: 'all' }`. */
  settings?: Record<string, string>;
}

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).sort().at(-1) : undefined;
  if (!version) throw new Error('Postgres server binaries not found under /usr/lib/postgresql');
  return join(root, version, 'bin');
}

/** A folder for one server, and a runner for the server binaries (as the postgres user when we are root: initdb refuses root). */
function serverTools(): { dir: string; run: (tool: string, args: string[]) => void } {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'workshops-fault-pg-'));
  const asServer = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  if (asServer.length) chmodSync(dir, 0o777);
  const run = (tool: string, args: string[]) => {
    const [command, ...rest] = [...asServer, join(bin, tool), ...args];
    execFileSync(command!, rest, { stdio: 'ignore', timeout: 60_000 });
  };
  return { dir, run };
}

/** pg_ctl start/stop/freeze of a data folder on a port (a primary of our own, or a standby of one). */
function serveCluster(dir: string, run: (tool: string, args: string[]) => void, port: number, options: ClusterOptions): PostgresCluster {
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'log');
  const settings = Object.entries(options.settings ?? {}).map(([name, value]) => `-c ${name}=${value}`);
  const start = () =>
    run('pg_ctl', ['-D', dataDir, '-w', '-l', logFile, '-o', [`-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`, ...settings].join(' '), 'start']);
  const postmaster = () => Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    logFile,
    freeze: () => signalTree(postmaster(), 'SIGSTOP'),
    thaw: () => signalTree(postmaster(), 'SIGCONT'),
    stop: () => run('pg_ctl', ['-D', dataDir, '-w', '-m', 'fast', 'stop']),
    start,
    destroy() {
      try {
        if (existsSync(join(dataDir, 'postmaster.pid'))) {
          signalTree(postmaster(), 'SIGCONT');
          run('pg_ctl', ['-D', dataDir, '-w', '-m', 'immediate', 'stop']);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Removes the server's folder when it could not be made or started (nobody could destroy it then). */
function withFolder<T>(dir: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A throwaway cluster (initdb) of our own, trust auth, on a free port. */
export async function startPostgresCluster(options: ClusterOptions = {}): Promise<PostgresCluster> {
  const { dir, run } = serverTools();
  const port = await freePort();
  return withFolder(dir, () => {
    run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    return serveCluster(dir, run, port, options);
  });
}

/**
 * A streaming replica of `primary` (pg_basebackup -R: a hot standby that follows it), on a free port.
 * initdb's default pg_hba.conf trusts replication connections from loopback.
 */
export async function startStandby(primary: PostgresCluster, options: ClusterOptions = {}): Promise<PostgresCluster> {
  const { dir, run } = serverTools();
  const port = await freePort();
  return withFolder(dir, () => {
    run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', join(dir, 'data'), '-R', '-X', 'stream', '--no-sync', '--checkpoint=fast']);
    return serveCluster(dir, run, port, options);
  });
}

export interface PgBouncer {
  port: number;
  /** The same database as `url`, through the pooler. */
  through(url: string): string;
  stop(): Promise<void>;
}

/**
 * Debian's PgBouncer in front of the Postgres at `target` (every database name passes through), in
 * transaction mode, on a free loopback port. `connectQuery` runs on each new server connection (the
 * README's way to give single statements a statement timeout behind a pooler).
 */
export async function startPgBouncer(target: string, options: { poolSize?: number; connectQuery?: string } = {}): Promise<PgBouncer> {
  const binary = '/usr/sbin/pgbouncer';
  if (!existsSync(binary)) throw new Error('pgbouncer is not installed (apt-get install pgbouncer; .ci/run does)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'workshops-pgbouncer-'));
  const server = new URL(target);
  const user = decodeURIComponent(server.username || 'postgres');
  const connectQuery = options.connectQuery ? ` connect_query='${options.connectQuery.replaceAll("'", "''")}'` : '';
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}${connectQuery}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize ?? 20}`,
      'max_client_conn = 500',
      // Nothing is ignored: a client that sends a startup parameter PgBouncer does not know is refused.
      'ignore_startup_parameters =',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
    ].join('\n'),
  );
  // PgBouncer refuses to run as root.
  const asUser = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  if (asUser.length) execFileSync('chown', ['-R', 'postgres', dir]);
  const [command, ...args] = [...asUser, binary, join(dir, 'pgbouncer.ini')];
  const child = spawn(command!, args, { stdio: 'ignore' });
  await waitFor('pgbouncer listening', () => canConnect(port), 10_000);
  return {
    port,
    through(url) {
      const via = new URL(url);
      via.hostname = '127.0.0.1';
      via.port = String(port);
      return via.toString();
    },
    async stop() {
      // runuser's child is pgbouncer: signal the tree, by pid.
      signalTree(child.pid!, 'SIGTERM');
      if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
