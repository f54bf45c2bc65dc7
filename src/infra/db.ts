import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';
import { lockDataDir } from './data-dir-lock.js';
import { ReplicaSet, replicaOf, routeReads, routeRowReads, type ReplicaStatus } from './replicas.js';
import { poolRowReader, registerRowReader, rowReaderOf } from './row-reader.js';
import { statementNames } from './statement-names.js';

export type Db = PrismaClient;

/**
 * One pooled connection, for transactions of several statements (maintenance, migrations). Behind a
 * pooler in transaction mode only a transaction stays on one server connection, so nothing relies on
 * session state: advisory locks are transaction-scoped (`pg_advisory_xact_lock`), timeouts `SET LOCAL`.
 */
export interface SqlSession {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs a multi-statement script (it may contain $$ bodies) as one simple-protocol call. */
  exec(script: string): Promise<void>;
  /**
   * Runs `work` in one transaction on this session: COMMIT when it resolves, ROLLBACK when it throws,
   * so a failed step never leaves the connection (the only one, when embedded) in an aborted
   * transaction. Embedded, nothing else runs on the database meanwhile.
   */
  transaction<T>(work: (tx: SqlSession) => Promise<T>): Promise<T>;
  release(): void;
}

/** How maintenance statements (migrations, partition moves, statistics refreshes) are bounded. */
export interface SessionOptions {
  /**
   * Maintenance: pg's client-side bound becomes `maintenanceTimeoutMs`. The server's timeout is raised
   * by `SET LOCAL statement_timeout` in each transaction, never for the session: behind a pooler in
   * transaction mode a session setting would stay on a server connection that others get next.
   */
  maintenance?: boolean;
}

/**
 * Every pool names its connections `workshops-api <instance id>` (application_name), so one instance
 * can see the others of its deployment in pg_stat_activity.
 */
export const APPLICATION_NAME = 'workshops-api';

export interface Database {
  /**
   * The client everything uses: writes and transactions on the primary; reads inside a request that
   * has not written on a replica when there is a usable one (src/infra/replicas.ts), else the primary.
   */
  prisma: Db;
  /** The primary alone (reads that must see the latest commit: API keys, jobs). */
  primary: Db;
  /**
   * Reads that prefer a replica even outside requests (dashboards, segment counts, metrics scrapes):
   * eventually consistent figures the primary need not serve. Still the primary once a request wrote.
   */
  reporting: Db;
  /** The read replicas (DATABASE_REPLICA_URLS), when there are any. */
  replicas?: ReplicaSet;
  kind: 'postgres' | 'embedded';
  /** The embedded instance, when there is one (tests dump it to start others quickly). */
  pglite?: PGlite;
  session(options?: SessionOptions): Promise<SqlSession>;
  /**
   * Maintenance work in one transaction of a maintenance session, with `SET LOCAL statement_timeout`
   * to the maintenance timeout: rolled back on any failure. Take advisory locks with
   * `pg_advisory_xact_lock` inside, so they end with the transaction.
   */
  maintenance<T>(work: (tx: SqlSession) => Promise<T>): Promise<T>;
  /** The statement timeout of maintenance work, in ms. */
  maintenanceTimeoutMs: number;
  /** Pool connections (Postgres only; the embedded database is one connection). */
  poolStats?(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… or undefined for the embedded database. */
  url?: string;
  /** Embedded data directory; 'memory://' keeps it in memory. */
  dataDir: string;
  poolMax: number;
  statementTimeoutMs: number;
  /**
   * Migrations, partition moves and statistics refreshes: they outgrow the request timeout at scale.
   * @default 600000 (10 min)
   */
  maintenanceTimeoutMs?: number;
  /**
   * Connecting, and waiting for a free pooled connection (pg-pool has one setting for both).
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * Client side bound on one query: the server's statement_timeout cannot fire on a frozen server.
   * @default statementTimeoutMs + 1000 (the server's own timeout fires first when it can)
   */
  queryTimeoutMs?: number;
  /** Called with every SQL statement Prisma sends and its duration (tests count them to prove batching; metrics time them). */
  onQuery?: (sql: string, durationMs: number) => void;
  /** Start an embedded database from a dump made with PGlite.dumpDataDir (tests). */
  loadDataDir?: Blob;
  /** Streaming replicas for reads (DATABASE_REPLICA_URLS). */
  replicaUrls?: string[];
  /** A replica further behind gets no reads (DATABASE_REPLICA_MAX_LAG_MS). @default 5000 */
  replicaMaxLagMs?: number;
  /** How often replicas are probed for health and lag. @default 500 */
  replicaCheckIntervalMs?: number;
  /** A replica went down, came back, fell behind or caught up. */
  onReplicaChange?: (status: ReplicaStatus, error?: string) => void;
  /**
   * The URLs point at a transaction-mode pooler (PgBouncer, DB_POOLER=pgbouncer): no session state.
   * The statement timeout is then set per transaction (SET LOCAL), not as a startup parameter, which
   * PgBouncer refuses; single statements get the server's default (see README "PgBouncer").
   */
  pooled?: boolean;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options) : openEmbedded(options);
}

function createPrisma(adapter: SqlDriverAdapterFactory, onQuery?: (sql: string, durationMs: number) => void): Db {
  if (!onQuery) return new PrismaClient({ adapter });
  const prisma = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  prisma.$on('query', (event) => onQuery(event.query, event.duration));
  return prisma as unknown as Db;
}

function createPool(url: string, options: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolMax,
    // A startup parameter: a pooler refuses it (and would not keep it per client anyway).
    ...(options.pooled ? {} : { statement_timeout: options.statementTimeoutMs }),
    // A database that stops answering gives fast errors (then 503) instead of requests that hang.
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    query_timeout: options.queryTimeoutMs ?? options.statementTimeoutMs + 1000,
    keepAlive: true,
    application_name: `${APPLICATION_NAME} ${randomBytes(4).toString('hex')}`,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}

/**
 * The pg adapter. Direct, its statements are prepared once per connection (see statementNames); pooled
 * (a pooler in transaction mode), they are unnamed, so nothing prepared outlives a transaction, and every
 * transaction starts with its own statement timeout.
 */
function adapterFor(pool: pg.Pool, options: DatabaseOptions, named: ((query: { sql: string }) => string) | null): SqlDriverAdapterFactory {
  if (named) return new PrismaPg(pool, { statementNameGenerator: named });
  const factory = new PrismaPg(pool);
  const timeout = { sql: `SET LOCAL statement_timeout = ${Math.floor(options.statementTimeoutMs)}`, args: [], argTypes: [] };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    async connect(): Promise<SqlDriverAdapter> {
      const adapter = await factory.connect();
      const start = adapter.startTransaction.bind(adapter);
      adapter.startTransaction = async (isolationLevel) => {
        const tx = await start(isolationLevel);
        try {
          await tx.executeRaw(timeout);
        } catch (error) {
          await tx.executeRaw({ sql: 'ROLLBACK', args: [], argTypes: [] }).catch(() => {});
          await tx.rollback();
          throw error;
        }
        return tx;
      };
      return adapter;
    },
  };
}

/** A pool's Prisma client and row reader (src/infra/row-reader.ts), sharing its statement names. */
function clientOf(pool: pg.Pool, options: DatabaseOptions): Db {
  const named = options.pooled ? null : statementNames();
  const client = createPrisma(adapterFor(pool, options, named), options.onQuery);
  registerRowReader(client, poolRowReader(pool, { named: named ? (sql) => named({ sql }) : undefined, onQuery: options.onQuery }));
  return client;
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const pool = createPool(url, options);
  const primary = clientOf(pool, options);
  let replicas: ReplicaSet | undefined;
  if (options.replicaUrls?.length) {
    replicas = new ReplicaSet(
      options.replicaUrls.map((replicaUrl) => {
        const replicaPool = createPool(replicaUrl, options);
        return replicaOf(ReplicaSet.named(replicaUrl), replicaPool, clientOf(replicaPool, options));
      }),
      {
        maxLagMs: options.replicaMaxLagMs ?? 5000,
        intervalMs: options.replicaCheckIntervalMs,
        primaryLsn: async () => (await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn,
        isUnavailable: isDatabaseUnavailable,
        onChange: options.onReplicaChange,
      },
    );
    // Replicas that answer get reads from the first request on; one that is down is no reason not to start.
    await replicas.probe();
    replicas.start();
  }
  const prisma = replicas ? routeReads(primary, replicas, { outsideRequests: false }) : primary;
  const reporting = replicas ? routeReads(primary, replicas, { outsideRequests: true }) : primary;
  if (replicas) registerRowReader(prisma, routeRowReads(rowReaderOf(primary), replicas, rowReaderOf));
  const maintenanceTimeoutMs = options.maintenanceTimeoutMs ?? DEFAULT_MAINTENANCE_TIMEOUT_MS;
  const database: Database = {
    prisma,
    primary,
    reporting,
    replicas,
    kind: 'postgres',
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    maintenanceTimeoutMs,
    async session(sessionOptions = {}) {
      const client = await pool.connect();
      const maintenance = sessionOptions.maintenance === true;
      // pg's own bound (query_timeout) would cut a long maintenance statement before the server's timeout.
      const bound = maintenance ? { query_timeout: maintenanceTimeoutMs + 1000 } : {};
      const run = (text: string, params?: unknown[]) => client.query({ text, values: params, ...bound });
      let broken = false;
      const session: SqlSession = {
        query: async (text, params) => (await run(text, params)).rows,
        exec: async (script) => void (await run(script)),
        transaction: async (work) => {
          await run('BEGIN');
          try {
            const result = await work(session);
            await run('COMMIT');
            return result;
          } catch (error) {
            // A connection that cannot even roll back is closed on release (below).
            await run('ROLLBACK').catch(() => (broken = true));
            throw error;
          }
        },
        release: () => client.release(broken),
      };
      return session;
    },
    maintenance: (work) => maintenanceTransaction(database, work),
    async close() {
      await replicas?.close();
      await primary.$disconnect();
      await pool.end();
    },
  };
  return database;
}

const DEFAULT_MAINTENANCE_TIMEOUT_MS = 600_000;

async function maintenanceTransaction<T>(database: Database, work: (tx: SqlSession) => Promise<T>): Promise<T> {
  const session = await database.session({ maintenance: true });
  try {
    return await session.transaction(async (tx) => {
      await tx.exec(`SET LOCAL statement_timeout = ${Math.floor(database.maintenanceTimeoutMs)}`);
      return work(tx);
    });
  } finally {
    session.release();
  }
}

async function openEmbedded(options: DatabaseOptions): Promise<Database> {
  const inMemory = options.dataDir.startsWith('memory://');
  if (!inMemory) mkdirSync(options.dataDir, { recursive: true });
  // One process per folder (two PGlite instances on one folder can corrupt it): the server and the key CLI both lock it.
  const unlock = inMemory ? () => {} : lockDataDir(options.dataDir);
  const pglite = await PGlite.create({
    dataDir: inMemory ? undefined : options.dataDir,
    loadDataDir: options.loadDataDir,
    extensions: { unaccent, pg_trgm },
  }).catch((error: unknown) => {
    unlock();
    throw error;
  });
  const prisma = createPrisma(new PrismaPGlite(pglite), options.onQuery);
  const direct: SqlSession = {
    query: async (text, params) => (await pglite.query(text, params)).rows as never[],
    exec: async (script) => void (await pglite.exec(script)),
    // PGlite's own transactions hold the database: Prisma's queries wait until COMMIT or ROLLBACK.
    transaction: (work) =>
      pglite.transaction((tx) => {
        const inside: SqlSession = {
          query: async (text, params) => (await tx.query(text, params)).rows as never[],
          exec: async (script) => void (await tx.exec(script)),
          transaction: () => Promise.reject(new Error('already in a transaction')),
          release: () => {},
        };
        return work(inside);
      }),
    release: () => {},
  };
  const database: Database = {
    prisma,
    primary: prisma,
    reporting: prisma,
    kind: 'embedded',
    pglite,
    maintenanceTimeoutMs: options.maintenanceTimeoutMs ?? DEFAULT_MAINTENANCE_TIMEOUT_MS,
    // PGlite is one connection: a "session" is the database itself. Migrations run before serving.
    session: async () => direct,
    maintenance: (work) => maintenanceTransaction(database, work),
    async close() {
      await prisma.$disconnect();
      await pglite.close();
      unlock();
    },
  };
  return database;
}

/** Prisma's codes for "cannot reach / lost / timed out waiting for the database". */
const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** What the pg adapter reports for the same (DriverAdapterError's cause.kind). */
const UNAVAILABLE_ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** pg's own timeouts and lost connections (plain Errors without a code). */
const UNAVAILABLE_MESSAGE = /Query read timeout|Connection terminated|timeout exceeded when trying to connect|Can't reach database server|Server has closed the connection|Code: `(08|57P)/;

/**
 * Whether an error means "the database is down or not answering" (retry later) rather than a bug:
 * it is then answered 503 SERVICE_UNAVAILABLE. Walks the chain of wrapped errors (GraphQL, Prisma, adapter).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 8; depth++) {
    const { code, kind, message } = current as { code?: unknown; kind?: unknown; message?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_PRISMA_CODES.has(code) || /^(08|57P)/.test(code) || ['53300', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code))) return true;
    if (typeof kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(kind)) return true;
    if (kind === 'postgres' && typeof code === 'string' && /^(08|57P)/.test(code)) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return true;
    const next = current as { originalError?: unknown; cause?: unknown };
    current = next.originalError ?? next.cause;
  }
  return false;
}
