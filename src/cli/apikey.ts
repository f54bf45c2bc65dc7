import { parseArgs } from 'node:util';
import { EnvError, parseEnv, type Env } from '../env.js';
import { DataDirLockedError } from '../infra/data-dir-lock.js';
import { databaseOptions } from '../infra/bootstrap.js';
import { invalidateSharedCache } from '../infra/cache/flush-shared-cache.js';
import { openDatabase, type Database } from '../infra/db.js';
import { createLogger } from '../infra/logger.js';
import { apiKeyCacheEntity, createApiKey } from '../modules/auth/api-keys-service.js';
import { UUID } from '../shared/ids.js';

const USAGE = `Usage:
  npm run apikey -- create --role ADMIN|EDITOR|PARTNER --name <name> [--client <manifest name, PARTNER only>] [--expires <ISO time>]
  npm run apikey -- list
  npm run apikey -- revoke --id <key id>
Uses DATABASE_URL, or the embedded database in DATA_DIR (refused while a server holds it: use the API's
createApiKey / revokeApiKey / apiKeys as an ADMIN instead). Exit codes: 0 done, 1 failed, 2 usage.`;

/** A failure the operator can act on: printed as one line, no stack. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const usage = (message: string) => new CliError(`${message}\n\n${USAGE}`, 2);

/**
 * Tells running instances (through the shared cache's Redis channel) to forget the key's cached lookup,
 * so it is refused at once, as after `revokeApiKey`; without Redis, or when Redis cannot be reached,
 * instances stop accepting a key they had looked up within 30 s.
 */
async function announceRevocation(env: Env, id: string): Promise<string> {
  try {
    const announced = await invalidateSharedCache(env, createLogger('warn'), [apiKeyCacheEntity(id)]);
    return announced ? ' Running instances were told through Redis.' : ' No Redis: running instances that looked it up stop accepting it within 30 s.';
  } catch (error) {
    return ` Redis could not be told (${(error as Error).message}): running instances that looked it up stop accepting it within 30 s.`;
  }
}

async function run(env: Env, database: Database, command: string | undefined, values: Record<string, string | undefined>): Promise<string> {
  const db = database.prisma;
  switch (command) {
    case 'create': {
      const role = values.role?.toUpperCase();
      if (role !== 'ADMIN' && role !== 'EDITOR' && role !== 'PARTNER') throw usage('--role must be ADMIN, EDITOR or PARTNER');
      if (!values.name?.trim()) throw usage('--name is required');
      if (role === 'PARTNER' && !values.client) throw usage('--client is required for PARTNER keys');
      const expiresAt = values.expires ? new Date(values.expires) : null;
      if (expiresAt && (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now())) throw usage('--expires must be an ISO time in the future');
      const { key, id } = await createApiKey(db, { name: values.name.trim(), role, client: values.client ?? null, expiresAt });
      return `Created ${role} key "${values.name.trim()}" (id ${id}). It is shown once; store it now:\n\n${key}\n`;
    }
    case 'list': {
      const keys = await db.apiKey.findMany({ orderBy: { createdAt: 'asc' } });
      console.table(
        keys.map((k) => ({ id: k.id, name: k.name, role: k.role, client: k.client, prefix: k.prefix, lastUsedAt: k.lastUsedAt, expiresAt: k.expiresAt, revoked: Boolean(k.revokedAt) })),
      );
      return `${keys.length} key(s).`;
    }
    case 'revoke': {
      if (!values.id) throw usage('--id is required');
      if (!UUID.test(values.id)) throw new CliError(`No API key has the id "${values.id}" (ids are UUIDs; see \`npm run apikey -- list\`).`);
      const { count } = await db.apiKey.updateMany({ where: { id: values.id, revokedAt: null }, data: { revokedAt: new Date() } });
      if (count === 0 && !(await db.apiKey.findUnique({ where: { id: values.id } }))) throw new CliError(`No API key has the id "${values.id}".`);
      return count ? `Revoked ${values.id}.${await announceRevocation(env, values.id)}` : `${values.id} was already revoked.`;
    }
    default:
      throw usage(`Unknown command: ${command ?? '(none)'}`);
  }
}

let exitCode = 0;
let database: Database | undefined;
try {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { role: { type: 'string' }, name: { type: 'string' }, client: { type: 'string' }, id: { type: 'string' }, expires: { type: 'string' } },
  });
  const env = parseEnv(process.env, { cli: true });
  database = await openDatabase(databaseOptions(env, { poolMax: 1 }));
  console.log(await run(env, database, positionals[0], values));
} catch (error) {
  if (error instanceof CliError || error instanceof DataDirLockedError || error instanceof EnvError) {
    console.error(error.message);
    exitCode = error instanceof CliError ? error.exitCode : 1;
  } else if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(usage((error as Error).message).message);
    exitCode = 2;
  } else {
    console.error(`apikey failed: ${(error as Error).message}`);
    exitCode = 1;
  }
} finally {
  await database?.close().catch(() => {});
}
process.exit(exitCode);
