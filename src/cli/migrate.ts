import { parseEnv } from '../env.js';
import { openDatabase } from '../infra/db.js';
import { migrate } from '../infra/migrate.js';

// `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded database in DATA_DIR.
const env = parseEnv(process.env, { cli: true });
const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.DATA_DIR, poolMax: 1, statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS, pooled: env.DB_POOLER === 'pgbouncer', maintenanceTimeoutMs: env.DB_MAINTENANCE_TIMEOUT_MS });
try {
  const { applied, modified } = await migrate(database);
  console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'No pending migrations.');
  if (modified.length) console.warn(`Warning: applied migrations edited since: ${modified.join(', ')}`);
} finally {
  await database.close();
}
process.exit(0);
