import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './processes.js';

const run = promisify(execFile);

export interface ClusterNodeProcess {
  port: number;
  pid: number;
}

export interface RedisClusterProcesses {
  /** `host:port,…` of every node, as REDIS_CLUSTER_NODES takes it. */
  nodesEnv: string;
  nodes: { host: string; port: number }[];
  /** Ports of the nodes that are masters now (this changes with a failover). */
  masters(): Promise<number[]>;
  /** Which master port serves a key now (CLUSTER KEYSLOT, then CLUSTER SLOTS). */
  masterOf(key: string): Promise<number>;
  /** Keys matching `pattern` on one node (SCAN; a test's look at where data landed). */
  keysOn(port: number, pattern: string): Promise<string[]>;
  /** A replica of `masterPort` takes over (CLUSTER FAILOVER on it, graceful); resolves when the cluster is ok again. Returns the new master's port. */
  failover(masterPort: number): Promise<number>;
  /** SIGKILLs a node by pid; resolves once its replica has taken over (after the node timeout) and the cluster is ok. */
  kill(port: number): Promise<void>;
  /** Waits until every node reports cluster_state:ok and every master's slots are served. */
  healthy(): Promise<void>;
  stop(): Promise<void>;
}

/** Failure detection: a master silent this long is failed over to its replica (Redis' default is 15 s). */
const NODE_TIMEOUT_MS = 1000;

/**
 * A real Redis Cluster of `masters` masters with `replicas` replicas each, from redis-server
 * processes on free loopback ports, formed with `redis-cli --cluster create`, stopped by pid.
 * Start one per spec file: forming takes a second or two.
 */
export async function startRedisCluster(options: { masters?: number; replicas?: number } = {}): Promise<RedisClusterProcesses> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'workshops-redis-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < masters * (1 + replicas); i++) ports.push(await freePort());
  const children = new Map<number, ChildProcess>();
  for (const port of ports) {
    const child = spawn(
      'redis-server',
      [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
        // Replicas sync at once (the default waits 5 s for more replicas to join a diskless sync).
        '--repl-diskless-sync-delay', '0',
      ],
      { stdio: 'ignore' },
    );
    children.set(port, child);
  }
  const cli = async (port: number, ...args: string[]) => (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })).stdout;
  /** One command on one node, over a short-lived plain connection (never the cluster client under test). */
  const admin = async <T>(port: number, work: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      await redis.connect();
      return await work(redis);
    } finally {
      redis.disconnect();
    }
  };
  const stop = async () => {
    await Promise.all(
      [...children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  const alive = () => ports.filter((port) => children.get(port)!.exitCode === null && children.get(port)!.signalCode === null);
  /** CLUSTER SLOTS as one live node sees it: [start, end, masterPort][]. */
  const slots = async (): Promise<[number, number, number][]> => {
    const ranges = await admin(alive()[0]!, (redis) => redis.cluster('SLOTS'));
    return ranges.map(([start, end, master]) => [start, end, master![1]]);
  };
  const healthy = () =>
    waitFor(
      'the Redis cluster to be healthy',
      async () => {
        for (const port of alive()) {
          if (!(await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
        }
        const ranges = await slots();
        return ranges.reduce((sum, [start, end]) => sum + end - start + 1, 0) === 16384;
      },
      30_000,
    );
  try {
    await Promise.all(ports.map((port) => waitFor(`redis-server on ${port}`, async () => (await cli(port, 'PING')).trim() === 'PONG', 10_000)));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 60_000 });
    await healthy();
    // A replica must be in sync before it can take over.
    await waitFor(
      'replicas in sync',
      async () => {
        for (const port of ports) {
          const info = await cli(port, 'INFO', 'replication');
          if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false;
        }
        return true;
      },
      30_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const masterPorts = async () => [...new Set((await slots()).map(([, , port]) => port))].sort();
  return {
    nodesEnv: ports.map((port) => `127.0.0.1:${port}`).join(','),
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    masters: masterPorts,
    async masterOf(key) {
      const slot = Number(await admin(alive()[0]!, (redis) => redis.cluster('KEYSLOT', key)));
      return (await slots()).find(([start, end]) => slot >= start && slot <= end)![2];
    },
    async keysOn(port, pattern) {
      return admin(port, async (redis) => {
        const found: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          found.push(...keys);
          cursor = next;
        } while (cursor !== '0');
        return found;
      });
    },
    async failover(masterPort) {
      const replica = await (async () => {
        for (const port of alive()) {
          const info = await cli(port, 'INFO', 'replication');
          if (info.includes('role:slave') && info.includes(`master_port:${masterPort}`) && info.includes('master_link_status:up')) return port;
        }
        throw new Error(`no replica of ${masterPort} in sync`);
      })();
      await cli(replica, 'CLUSTER', 'FAILOVER');
      await waitFor('the failover', async () => (await masterPorts()).includes(replica) && !(await masterPorts()).includes(masterPort), 30_000);
      await healthy();
      return replica;
    },
    async kill(port) {
      const child = children.get(port)!;
      const wasMaster = (await masterPorts()).includes(port);
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
      // The others notice after the node timeout; then its replica takes its slots.
      if (wasMaster) await waitFor('the killed master to be replaced', async () => !(await masterPorts()).includes(port), 30_000);
      await healthy();
    },
    healthy,
    stop,
  };
}
