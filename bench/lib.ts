/** Shared by the benchmarks: a database of their own, and the figures they print. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Any database on the benchmark's Postgres with the right to CREATE DATABASE. */
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function asAdmin(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** A new empty database named `<prefix>_<random>`; `drop` removes it, connections and all. */
export async function createScratchDatabase(prefix: string): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(3).toString('hex')}`;
  await asAdmin(`CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => asAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** Of timings sorted ascending. */
export const median = (ms: number[]) => ms[Math.floor(ms.length / 2)]!;
export const p95 = (ms: number[]) => ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.95))]!;
