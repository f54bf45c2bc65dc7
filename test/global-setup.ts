import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readMigrations } from '../src/infra/migrate.js';
import { migrate } from '../src/infra/migrate.js';
import { openDatabase } from '../src/infra/db.js';
import { urlFor, withAdmin } from './testkit/postgres.js';

const ROOT = new URL('..', import.meta.url).pathname;

/** Newest modification time of a file or, recursively, of a folder's files (0 when missing). */
function newest(path: string): number {
  try {
    const stat = statSync(path);
    if (!stat.isDirectory()) return stat.mtimeMs;
    return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newest(join(path, entry))));
  } catch {
    return 0;
  }
}

/**
 * `npm run build` when dist/ is missing or older than its sources, so the specs that start the
 * production server (`node dist/index.js`) run today's code, and a broken build fails the suite.
 */
async function buildWhenStale(): Promise<void> {
  const sources = Math.max(...['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => newest(join(ROOT, p))));
  if (newest(join(ROOT, 'dist/index.js')) > sources) return;
  await promisify(execFile)('npm', ['run', '--silent', 'build'], { cwd: ROOT }).catch((error: { stdout: string; stderr: string }) => {
    throw new Error(`npm run build failed:\n${error.stdout}${error.stderr}`);
  });
}

/**
 * The migrated embedded database as a PGlite dump in the temp folder (once per migration set and PGlite
 * version); embedded test apps load copies of it (test/testkit/embedded.ts).
 */
async function dumpEmbeddedTemplate(digest: string): Promise<string> {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string };
  const path = join(tmpdir(), `workshops-pglite-${digest}-${version}.tar.gz`);
  if (existsSync(path)) return path;
  const database = await openDatabase({ dataDir: 'memory://', poolMax: 1, statementTimeoutMs: 60_000 });
  try {
    await migrate(database);
    const dump = await database.pglite!.dumpDataDir('gzip');
    const partial = `${path}.${randomBytes(3).toString('hex')}`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, path);
  } finally {
    await database.close();
  }
  return path;
}

/**
 * Builds (once per migration set) a migrated template database on the real Postgres, and the embedded
 * one's dump; each test file clones one of them. Databases of this run are dropped at the end.
 */
export default async function setup() {
  // The build runs while the template database is prepared.
  const built = buildWhenStale();
  built.catch(() => {}); // awaited below; this only keeps an early failure from being unhandled
  const migrations = await readMigrations();
  const digest = createHash('sha256').update(migrations.map((m) => `${m.name}:${m.checksum}`).join('\n')).digest('hex').slice(0, 12);
  const template = `workshops_tpl_${digest}`;
  const prefix = `workshops_t_${randomBytes(3).toString('hex')}`;
  process.env.WORKSHOPS_TEST_TEMPLATE = template;
  process.env.WORKSHOPS_TEST_PREFIX = prefix;
  process.env.WORKSHOPS_PGLITE_TEMPLATE = await dumpEmbeddedTemplate(digest);

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

  await built;

  return async () => {
    await withAdmin(async (c) => {
      const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}%`]);
      for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    });
  };
}
