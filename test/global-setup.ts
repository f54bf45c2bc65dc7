import { createHash, randomBytes } from 'node:crypto';
import { readMigrations } from '../src/infra/migrate.js';
import { migrate } from '../src/infra/migrate.js';
import { openDatabase } from '../src/infra/db.js';
import { urlFor, withAdmin } from './testkit/postgres.js';

/**
 * Builds (once per migration set) a migrated template database on the real Postgres; each test
 * file clones it. Databases of this run are dropped at the end.
 */
export default async function setup() {
  const migrations = await readMigrations();
  const digest = createHash('sha256').update(migrations.map((m) => `${m.name}:${m.checksum}`).join('\n')).digest('hex').slice(0, 12);
  const template = `workshops_tpl_${digest}`;
  const prefix = `workshops_t_${randomBytes(3).toString('hex')}`;
  process.env.WORKSHOPS_TEST_TEMPLATE = template;
  process.env.WORKSHOPS_TEST_PREFIX = prefix;

  const exists = await withAdmin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [template])).rowCount === 1);
  if (!exists) {
    const building = `${template}_build_${randomBytes(3).toString('hex')}`;
    await withAdmin((c) => c.query(`CREATE DATABASE "${building}"`));
    const database = await openDatabase({ url: urlFor(building), dataDir: '', poolMax: 2, statementTimeoutMs: 60_000 });
    try {
      await migrate(database);
    } finally {
      await database.close();
    }
    await withAdmin(async (c) => {
      try {
        await c.query(`ALTER DATABASE "${building}" RENAME TO "${template}"`);
      } catch {
        // Another run built the same template meanwhile.
        await c.query(`DROP DATABASE IF EXISTS "${building}"`);
      }
    });
  }

  return async () => {
    await withAdmin(async (c) => {
      const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}%`]);
      for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    });
  };
}
