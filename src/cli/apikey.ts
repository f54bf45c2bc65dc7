import { parseArgs } from 'node:util';
import { parseEnv } from '../env.js';
import { openDatabase } from '../infra/db.js';
import { createApiKey } from '../modules/auth/api-keys-service.js';

const USAGE = `Usage:
  npm run apikey -- create --role ADMIN|EDITOR|PARTNER --name <name> [--client <manifest name, PARTNER only>]
  npm run apikey -- list
  npm run apikey -- revoke --id <key id>
Uses DATABASE_URL, or the embedded database in DATA_DIR (stop the server first: PGlite allows one process).`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { role: { type: 'string' }, name: { type: 'string' }, client: { type: 'string' }, id: { type: 'string' } },
});

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(1);
}

const env = parseEnv();
const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.DATA_DIR, poolMax: 1, statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS });
const db = database.prisma;
try {
  switch (positionals[0]) {
    case 'create': {
      const role = values.role?.toUpperCase();
      if (role !== 'ADMIN' && role !== 'EDITOR' && role !== 'PARTNER') fail('--role must be ADMIN, EDITOR or PARTNER');
      if (!values.name) fail('--name is required');
      if (role === 'PARTNER' && !values.client) fail('--client is required for PARTNER keys');
      const { key, id } = await createApiKey(db, { name: values.name, role, client: values.client ?? null });
      console.log(`Created ${role} key "${values.name}" (id ${id}). It is shown once; store it now:\n\n${key}\n`);
      break;
    }
    case 'list': {
      const keys = await db.apiKey.findMany({ orderBy: { createdAt: 'asc' } });
      console.table(keys.map((k) => ({ id: k.id, name: k.name, role: k.role, client: k.client, prefix: k.prefix, revoked: Boolean(k.revokedAt) })));
      break;
    }
    case 'revoke': {
      if (!values.id) fail('--id is required');
      await db.apiKey.update({ where: { id: values.id }, data: { revokedAt: new Date() } });
      console.log(`Revoked ${values.id}.`);
      break;
    }
    default:
      fail(`Unknown command: ${positionals[0] ?? '(none)'}`);
  }
} finally {
  await database.close();
}
process.exit(0);
