import { parseEnv } from '../env.js';
import { databaseOptions } from '../infra/bootstrap.js';
import { openDatabase } from '../infra/db.js';
import { migrate } from '../infra/migrate.js';

// `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded database in DATA_DIR.
const env = parseEnv(process.env, { cli: true });
const database = await openDatabase(databaseOptions(env, { poolMax: 1 }));
try {
  const { applied, modified } = await migrate(database);
  console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'No pending migrations.');
  if (modified.length) console.warn(`Warning: applied migrations edited since: ${modified.join(', ')}`);
} finally {
  await database.close();
}
process.exit(0);
