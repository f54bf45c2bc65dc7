import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';

/*
 * Read replicas (DATABASE_REPLICA_URLS). Why not @prisma/extension-read-replicas: its 0.5.0 fits Prisma 7
 * and driver adapters, but it picks a replica at random with no health check (a replica that is down or
 * minutes behind keeps getting reads, and they fail), and it sends every raw query to the primary, where
 * most of our list, search and analytics reads are $queryRaw. The router below uses the same mechanism
 * (a query extension on the primary's client that hands read operations outside transactions to a
 * replica's client) and adds round robin over the replicas that answer within the lag bound, fallback
 * to the primary, read-your-writes per request, and no reads from a replica older than a cache eviction.
 */

/**
 * Per-request routing state, in the GraphQL context (`ctx.reads`): reads may go to a replica until the
 * request writes (a mutation, a transaction, any write operation); from then on they go to the primary.
 */
export interface RequestReads {
  wrote: boolean;
}

const scope = new AsyncLocalStorage<RequestReads>();

/**
 * Runs `work` (a request's execution) with its routing state, which every Prisma call inside sees.
 * Prisma's promises run when awaited: await them inside `work`.
 */
export function withRequestReads<T>(reads: RequestReads, work: () => T): T {
  return scope.run(reads, work);
}

export interface ReplicaStatus {
  /** host:port/database, never credentials. */
  name: string;
  /** Answered the last probe (or query) as a standby. */
  up: boolean;
  /** Replay lag at the last probe; 0 when it had replayed everything it received; null when unknown. */
  lagMs: number | null;
  /** Gets reads now: up and within the lag bound. */
  usable: boolean;
}

interface Replica {
  name: string;
  pool: pg.Pool;
  prisma: PrismaClient;
  up: boolean;
  lagMs: number | null;
  /** Its data holds every commit made before this time (ms since the epoch), as of the last probe. */
  freshAsOf: number;
  /** Probed at least once (the first probe's finding is always reported). */
  probed: boolean;
}

/** WAL still in flight from the primary when a probe saw the replica caught up. */
const IN_FLIGHT_MARGIN_MS = 100;

/**
 * The lag query: replay lag is the age of the last replayed transaction, unless the replica has replayed
 * all it received (pg_last_wal_receive_lsn = pg_last_wal_replay_lsn, or behind it just after a restart):
 * then it is idle, not behind. Not streaming (receive NULL) and nothing replayed yet: unknown, no reads.
 */
const PROBE_SQL = `SELECT pg_is_in_recovery() AS standby,
  CASE WHEN NOT pg_is_in_recovery() THEN NULL
       WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
       ELSE (extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8 END AS lag_ms`;

export interface ReplicaSetOptions {
  /** A replica further behind than this gets no reads. @default 5000 */
  maxLagMs: number;
  /** How often each replica is probed. @default 500 */
  intervalMs?: number;
  /** "Down" errors (connection refused, timeouts…): the replica is skipped and the read retried on the primary. */
  isUnavailable: (error: unknown) => boolean;
  /** A replica changed state (down, up, lagging, caught up): for the log. */
  onChange?: (status: ReplicaStatus, error?: string) => void;
}

export class ReplicaSet {
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The last write this instance heard of (a cache eviction here or from another instance). */
  private lastWriteAt = 0;

  constructor(
    private readonly replicas: Replica[],
    private readonly options: ReplicaSetOptions,
  ) {}

  static named(url: string): string {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  }

  /**
   * A write was made (anywhere in the deployment): replicas that may not have replayed it yet get no
   * reads until a probe shows they have, so an answer cached after the eviction is never read from
   * before the write.
   */
  noteWrite(at = Date.now()): void {
    this.lastWriteAt = Math.max(this.lastWriteAt, at);
  }

  /** The next usable replica's client in turn, or null (then the primary reads). */
  pick(): PrismaClient | null {
    const count = this.replicas.length;
    for (let i = 0; i < count; i++) {
      const index = (this.next + i) % count;
      const replica = this.replicas[index]!;
      if (this.usable(replica) && replica.freshAsOf >= this.lastWriteAt) {
        this.next = (index + 1) % count;
        return replica.prisma;
      }
    }
    return null;
  }

  /** A query on this replica failed as "down": no reads until a probe finds it again. */
  markDown(prisma: PrismaClient, error: unknown): void {
    const replica = this.replicas.find((r) => r.prisma === prisma);
    if (replica) this.update(replica, { up: false, lagMs: null }, error);
  }

  isUnavailable(error: unknown): boolean {
    return this.options.isUnavailable(error);
  }

  status(): ReplicaStatus[] {
    return this.replicas.map((r) => ({ name: r.name, up: r.up, lagMs: r.lagMs, usable: this.usable(r) }));
  }

  /** Probes every replica once (at start, on the interval, and by tests that want a fresh view). */
  async probe(): Promise<void> {
    await Promise.all(
      this.replicas.map(async (replica) => {
        const startedAt = Date.now();
        try {
          const { rows } = await replica.pool.query<{ standby: boolean; lag_ms: number | null }>({ text: PROBE_SQL, query_timeout: 1000 } as pg.QueryConfig);
          const row = rows[0]!;
          // A promoted replica no longer receives the primary's writes: reading from it would go back in time.
          if (!row.standby) return this.update(replica, { up: false, lagMs: null }, new Error('not a standby (promoted?)'));
          const lagMs = row.lag_ms === null ? null : Math.max(0, row.lag_ms);
          this.update(replica, { up: true, lagMs });
          if (lagMs !== null) replica.freshAsOf = Math.max(replica.freshAsOf, startedAt - lagMs - IN_FLIGHT_MARGIN_MS);
        } catch (error) {
          this.update(replica, { up: false, lagMs: null }, error);
        }
      }),
    );
  }

  start(): void {
    const loop = () => {
      this.timer = setTimeout(() => void this.probe().finally(loop), this.options.intervalMs ?? 500);
      this.timer.unref();
    };
    loop();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await Promise.all(this.replicas.map(async (r) => (await r.prisma.$disconnect(), await r.pool.end())));
  }

  private usable(replica: Replica): boolean {
    return replica.up && replica.lagMs !== null && replica.lagMs <= this.options.maxLagMs;
  }

  private update(replica: Replica, next: { up: boolean; lagMs: number | null }, error?: unknown): void {
    const wasUsable = this.usable(replica);
    const wasUp = replica.up;
    const first = !replica.probed;
    replica.probed = true;
    replica.up = next.up;
    replica.lagMs = next.lagMs;
    if (first || wasUsable !== this.usable(replica) || wasUp !== replica.up) {
      const [status] = this.status().filter((s) => s.name === replica.name);
      this.options.onChange?.(status!, error === undefined ? undefined : error instanceof Error ? error.message : String(error));
    }
  }
}

export function replicaOf(name: string, pool: pg.Pool, prisma: PrismaClient): Replica {
  return { name, pool, prisma, up: false, lagMs: null, freshAsOf: 0, probed: false };
}

/** Read operations: what a replica may answer (outside transactions). */
const READS = new Set(['findFirst', 'findFirstOrThrow', 'findMany', 'findUnique', 'findUniqueOrThrow', 'groupBy', 'aggregate', 'count', '$queryRaw', '$queryRawUnsafe']);

/** Postgres refused a write on a standby ("cannot execute … in a read-only transaction"). */
const READ_ONLY_SQLSTATE = '25006';

function isReadOnlyRefusal(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 8; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (code === READ_ONLY_SQLSTATE || (typeof message === 'string' && message.includes('read-only transaction'))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

type Operation = { model?: string; operation: string; args: any; query: (args: any) => Promise<unknown>; __internalParams?: { transaction?: unknown } };

function runOn(client: PrismaClient, { model, operation, args }: Operation): Promise<unknown> {
  const target = client as any;
  if (operation === '$queryRaw') return target.$queryRaw(new Prisma.Sql(args.strings, args.values));
  if (operation === '$queryRawUnsafe') return target.$queryRawUnsafe(...(args as unknown[]));
  const delegate = target[model!.charAt(0).toLowerCase() + model!.slice(1)];
  return delegate[operation](args);
}

/**
 * The primary's client, routing reads to a replica when the current request (if any) has not written.
 * `outsideRequests`: whether reads made outside a request (jobs, metrics scrapes) may use a replica too;
 * false keeps background work, which writes what it reads, on the primary.
 */
export function routeReads(primary: PrismaClient, replicas: ReplicaSet, options: { outsideRequests: boolean }): PrismaClient {
  return primary.$extends({
    query: {
      $allOperations(operation: Operation) {
        const { args, query } = operation;
        const reads = scope.getStore();
        // The extension API's own marker of a call inside $transaction (the published extension reads it too).
        if (operation.__internalParams?.transaction || !READS.has(operation.operation)) {
          if (reads) reads.wrote = true;
          return query(args);
        }
        if (reads ? reads.wrote : !options.outsideRequests) return query(args);
        const replica = replicas.pick();
        if (!replica) return query(args);
        // A read is safe to repeat: no request fails because a replica did. The primary answers
        // whatever went wrong there (down, a write refused as read-only, a row not replayed yet).
        return runOn(replica, operation).catch((error: unknown) => {
          if (isReadOnlyRefusal(error) && reads) reads.wrote = true;
          if (replicas.isUnavailable(error)) replicas.markDown(replica, error);
          return query(args);
        });
      },
    },
  }) as unknown as PrismaClient;
}
