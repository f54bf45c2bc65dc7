import pg from 'pg';
import { openDatabase } from '../../src/infra/db.js';
import { migrate } from '../../src/infra/migrate.js';
import type { PostgresCluster } from './processes.js';

/** The URL of `database` on a server of our own. */
export const databaseUrlOn = (server: PostgresCluster, database: string) => server.url.replace(/\/postgres$/, `/${database}`);

/** Creates `database` on `server` and migrates it (before a standby copies the primary); returns its URL. */
export async function createMigratedDatabase(server: PostgresCluster, database: string): Promise<string> {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${database}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrlOn(server, database);
  const setup = await openDatabase({ url, dataDir: '', poolMax: 2, statementTimeoutMs: 60_000 });
  try {
    await migrate(setup);
  } finally {
    await setup.close();
  }
  return url;
}
