import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from './db.js';

/** Prisma's own advisory lock id, so this runner and `prisma migrate deploy` never overlap. */
const PRISMA_MIGRATE_LOCK = 72707369;

export const MIGRATIONS_DIR = new URL('../../prisma/migrations/', import.meta.url).pathname;

interface Migration {
  name: string;
  script: string;
  checksum: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(dir, name, 'migration.sql'));
      return { name, script: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    }),
  );
}

export interface MigrateResult {
  applied: string[];
  /** Applied migrations whose file changed since (reported, not fatal, as Prisma does). */
  modified: string[];
}

/**
 * Applies pending Prisma migrations without the Prisma engine, writing the same
 * `_prisma_migrations` rows Prisma does, so `prisma migrate status/deploy` agree with it.
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<MigrateResult> {
  const migrations = await readMigrations(dir);
  // A maintenance session: migrations (and waiting for another replica's) outlast the request timeout.
  const session = await db.session({ maintenance: true });
  const result: MigrateResult = { applied: [], modified: [] };
  try {
    // One transaction per migration, each deciding under the lock what is left (another instance may
    // have applied some meanwhile). The lock is transaction-scoped, so it works behind a pooler in
    // transaction mode too, and it still excludes `prisma migrate deploy`, whose session lock has the same id.
    for (;;) {
      const failure = await session.transaction(async (tx) => {
        await tx.exec(`SET LOCAL statement_timeout = ${Math.floor(db.maintenanceTimeoutMs)}`);
        await tx.query('SELECT pg_advisory_xact_lock($1)', [PRISMA_MIGRATE_LOCK]);
        await tx.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
          "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
          "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
          "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`);
        const rows = await tx.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
          'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
        );
        const failed = rows.filter((r) => r.finished_at === null).map((r) => r.migration_name);
        if (failed.length > 0) {
          throw new Error(`Failed migrations in the database (${failed.join(', ')}); resolve them before applying new ones.`);
        }
        const done = new Map(rows.map((r) => [r.migration_name, r.checksum]));
        result.modified = migrations.filter((m) => done.has(m.name) && done.get(m.name) !== m.checksum).map((m) => m.name);
        const next = migrations.find((m) => !done.has(m.name));
        if (!next) return null;
        // A savepoint keeps the lock (and this transaction) when the script fails, to record the failure.
        await tx.exec('SAVEPOINT migration');
        try {
          await tx.exec(next.script);
        } catch (error) {
          await tx.exec('ROLLBACK TO SAVEPOINT migration');
          const message = error instanceof Error ? error.message : String(error);
          // Recorded unfinished, as Prisma does: later runs refuse to go on until it is resolved.
          await tx.query('INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs) VALUES ($1, $2, $3, $4)', [randomUUID(), next.checksum, next.name, message]);
          return { name: next.name, message };
        }
        await tx.query('INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count) VALUES ($1, $2, $3, now(), 1)', [randomUUID(), next.checksum, next.name]);
        result.applied.push(next.name);
        return undefined;
      });
      if (failure === null) return result;
      if (failure) throw new Error(`Migration ${failure.name} failed: ${failure.message}`);
    }
  } finally {
    session.release();
  }
}
