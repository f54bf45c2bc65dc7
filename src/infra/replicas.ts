import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import type { RowReader } from './row-reader.js';

/*
 * Read replicas (DATABASE_REPLICA_URLS). Why not @prisma/extension-read-replicas: its 0.5.0 fits Prisma 7
 * and driver adapters, but it picks a replica at random with no health check (a replica that is down or
 * minutes behind keeps getting reads, and they fail), and it sends every raw query to the primary, where
 * most of our list, search and analytics reads are $queryRaw. The router below uses the same mechanism
 * (a query extension on the primary's client that hands read operations outside transactions to a
 * replica's client) and adds round robin over the replicas that answer within the lag bound, fallback
 * to the primary, read-your-writes per request, and no reads from a replica that has not replayed the
 * last write this instance heard of (so the response cache never stores an answer older than its eviction).
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
  /** WAL position it had replayed at the last probe. */
  replayedLsn: bigint;
  /** Probed at least once (the first probe's finding is always reported). */
  probed: boolean;
}

/** Least time between two look-ups of the primary's WAL position (each costs a query there and a probe per replica). */
const CATCH_UP_SPACING_MS = 10;

/** A pg_lsn ('16/B374D848') as a number, to compare. */
function lsnValue(lsn: string | null): bigint {
  if (!lsn) return 0n;
  const [high = '0', low = '0'] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/**
 * The lag query: replay lag is the age of the last replayed transaction, unless the replica has replayed
 * all it received (pg_last_wal_receive_lsn = pg_last_wal_replay_lsn, or behind it just after a restart):
 * then it is idle, not behind. Not streaming (receive NULL) and nothing replayed yet: unknown, no reads.
 */
const PROBE_SQL = `SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replayed,
  CASE WHEN NOT pg_is_in_recovery() THEN NULL
       WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
       ELSE (extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8 END AS lag_ms`;

export interface ReplicaSetOptions {
  /** A replica further behind than this gets no reads. @default 5000 */
  maxLagMs: number;
  /** How often each replica is probed. @default 500 */
  intervalMs?: number;
  /** The primary's current WAL position (pg_current_wal_lsn()), read after a write. */
  primaryLsn: () => Promise<string>;
  /** "Down" errors (connection refused, timeouts…): the replica is skipped and the read retried on the primary. */
  isUnavailable: (error: unknown) => boolean;
  /** A replica changed state (down, up, lagging, caught up): for the log. */
  onChange?: (status: ReplicaStatus, error?: string) => void;
}

export class ReplicaSet {
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Writes this instance heard of (cache evictions, its own and other instances'), and how many the LSN covers. */
  private writesNoted = 0;
  private writesCovered = 0;
  /** Replicas must have replayed this far (the primary's WAL position after the last write heard of). */
  private requiredLsn = 0n;
  private catchingUp: Promise<void> | null = null;
  private catchUpAgain = false;

  constructor(
    private readonly replicas: Replica[],
    private readonly options: ReplicaSetOptions,
  ) {}

  static named(url: string): string {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  }

  /**
   * A write was made (anywhere in the deployment: called on every eviction of the response cache). Until
   * a replica is seen to have replayed the primary's WAL up to where it was after that write, it gets no
   * reads, so an answer read (and cached) after the eviction never comes from before the write.
   */
  noteWrite(): void {
    this.writesNoted++;
    void this.catchUp();
  }

  /** Resolves when the last write heard of has been looked up and the replicas probed since (tests). */
  async settled(): Promise<void> {
    while (this.catchingUp) await this.catchingUp;
  }

  /** Reads the primary's WAL position, then probes the replicas; one at a time, once more if writes came meanwhile. */
  private catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    this.catchingUp = (async () => {
      let startedAt = 0;
      do {
        // Under a stream of writes, one look-up per spacing covers all of them: reads meanwhile go to the primary.
        const wait = startedAt + CATCH_UP_SPACING_MS - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        startedAt = Date.now();
        this.catchUpAgain = false;
        const covering = this.writesNoted;
        try {
          const lsn = lsnValue(await this.options.primaryLsn());
          if (lsn > this.requiredLsn) this.requiredLsn = lsn;
          this.writesCovered = covering;
        } catch {
          // The primary did not answer: replicas stay unused for reads until a later look-up succeeds.
        }
        await this.probe();
      } while (this.catchUpAgain);
    })().finally(() => (this.catchingUp = null));
    return this.catchingUp;
  }

  /** The next usable replica's client in turn, or null (then the primary reads). */
  pick(): PrismaClient | null {
    if (this.writesCovered < this.writesNoted) return null;
    const count = this.replicas.length;
    for (let i = 0; i < count; i++) {
      const index = (this.next + i) % count;
      const replica = this.replicas[index]!;
      if (this.usable(replica) && replica.replayedLsn >= this.requiredLsn) {
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
    return this.replicas.map((replica) => this.statusOf(replica));
  }

  private statusOf(replica: Replica): ReplicaStatus {
    return { name: replica.name, up: replica.up, lagMs: replica.lagMs, usable: this.usable(replica) };
  }

  /** Probes every replica once (at start, on the interval, and by tests that want a fresh view). */
  async probe(): Promise<void> {
    await Promise.all(
      this.replicas.map(async (replica) => {
        try {
          const { rows } = await replica.pool.query<{ standby: boolean; replayed: string | null; lag_ms: number | null }>({ text: PROBE_SQL, query_timeout: 1000 } as pg.QueryConfig);
          const row = rows[0]!;
          // A promoted replica no longer receives the primary's writes: reading from it would go back in time.
          if (!row.standby) return this.update(replica, { up: false, lagMs: null }, new Error('not a standby (promoted?)'));
          const lagMs = row.lag_ms === null ? null : Math.max(0, row.lag_ms);
          const replayed = lsnValue(row.replayed);
          if (replayed > replica.replayedLsn) replica.replayedLsn = replayed;
          this.update(replica, { up: true, lagMs });
        } catch (error) {
          this.update(replica, { up: false, lagMs: null }, error);
        }
      }),
    );
  }

  start(): void {
    // A write whose WAL position could not be read (the primary was down) is looked up again on the next round.
    const round = () => (this.writesCovered < this.writesNoted ? this.catchUp() : this.probe());
    const loop = () => {
      this.timer = setTimeout(() => void round().finally(loop), this.options.intervalMs ?? 500);
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
      this.options.onChange?.(this.statusOf(replica), error === undefined ? undefined : error instanceof Error ? error.message : String(error));
    }
  }
}

export function replicaOf(name: string, pool: pg.Pool, prisma: PrismaClient): Replica {
  return { name, pool, prisma, up: false, lagMs: null, replayedLsn: 0n, probed: false };
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
        return runOn(replica, operation).catch((error: unknown) => (noteReplicaFailure(replicas, replica, reads, error), query(args)));
      },
    },
  }) as unknown as PrismaClient;
}

/**
 * A read is safe to repeat: no request fails because a replica did. The primary answers whatever went
 * wrong there (down, a write refused as read-only, a row not replayed yet); this notes what it tells.
 */
function noteReplicaFailure(replicas: ReplicaSet, replica: PrismaClient, reads: RequestReads | undefined, error: unknown): void {
  if (isReadOnlyRefusal(error) && reads) reads.wrote = true;
  if (replicas.isUnavailable(error)) replicas.markDown(replica, error);
}

/**
 * The same routing for the row readers (src/infra/row-reader.ts), whose statements are all reads
 * outside transactions: a replica's reader inside a request that has not written, else the primary's.
 */
export function routeRowReads(primary: RowReader, replicas: ReplicaSet, readerOf: (replica: PrismaClient) => RowReader): RowReader {
  return <T>(sql: Prisma.Sql) => {
    const reads = scope.getStore();
    if (!reads || reads.wrote) return primary<T>(sql);
    const replica = replicas.pick();
    if (!replica) return primary<T>(sql);
    return readerOf(replica)<T>(sql).catch((error: unknown) => (noteReplicaFailure(replicas, replica, reads, error), primary<T>(sql)));
  };
}
