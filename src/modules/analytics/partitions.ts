import type { Database, SqlSession } from '../../infra/db.js';

const PARENT = 'analytics.analytics_events';

/** Advisory lock id of partition maintenance: replicas starting together take turns. */
const PARTITIONS_LOCK = 4_242_002;

/** One maintenance transaction under the partitions lock; the other replica's changes are visible once it is held. */
function underLock<T>(database: Database, work: (tx: SqlSession) => Promise<T>): Promise<T> {
  return database.maintenance(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [PARTITIONS_LOCK]);
    return work(tx);
  });
}

async function partitionsOf(tx: SqlSession): Promise<string[]> {
  return (await tx.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '${PARENT}'::regclass`)).map((r) => r.name);
}

function monthStart(date: Date, offset = 0): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offset, 1));
}

export function partitionName(month: Date): string {
  return `analytics_events_y${month.getUTCFullYear()}m${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * Makes sure a monthly partition exists for every month from `from` to `monthsAhead` past `now`.
 * Rows that already landed in the default partition for such a month are moved into it first
 * (attaching would fail otherwise). All in one transaction: a failure leaves everything as it was.
 */
export async function ensurePartitions(database: Database, options: { from?: Date; monthsAhead: number; now?: Date }): Promise<string[]> {
  const now = options.now ?? new Date();
  return underLock(database, async (tx) => {
    const existing = new Set(await partitionsOf(tx));
    const created: string[] = [];
    for (let month = monthStart(options.from ?? now); month <= monthStart(now, options.monthsAhead); month = monthStart(month, 1)) {
      const name = partitionName(month);
      if (existing.has(name)) continue;
      const from = month.toISOString();
      const to = monthStart(month, 1).toISOString();
      await tx.exec(`CREATE TABLE analytics.${name} (LIKE ${PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await tx.exec(`WITH moved AS (DELETE FROM analytics.analytics_events_default WHERE occurred_at >= '${from}' AND occurred_at < '${to}' RETURNING *)
        INSERT INTO analytics.${name} SELECT * FROM moved`);
      await tx.exec(`ALTER TABLE ${PARENT} ATTACH PARTITION analytics.${name} FOR VALUES FROM ('${from}') TO ('${to}')`);
      created.push(name);
    }
    return created;
  });
}

/** Detaches monthly partitions that ended more than `retentionMonths` ago (kept as plain tables to archive or drop). */
export async function detachExpiredPartitions(database: Database, retentionMonths: number, now = new Date()): Promise<string[]> {
  const cutoff = monthStart(now, -retentionMonths);
  return underLock(database, async (tx) => {
    const detached: string[] = [];
    for (const name of await partitionsOf(tx)) {
      const match = /^analytics_events_y(\d{4})m(\d{2})$/.exec(name);
      if (!match) continue;
      const end = new Date(Date.UTC(Number(match[1]), Number(match[2]), 1));
      if (end <= cutoff) {
        await tx.exec(`ALTER TABLE ${PARENT} DETACH PARTITION analytics.${name}`);
        detached.push(name);
      }
    }
    return detached;
  });
}
