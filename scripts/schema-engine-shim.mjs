#!/usr/bin/env node
// Stands in for Prisma's native schema engine, which the CLI cannot download offline: it runs
// Prisma's wasm schema engine over driver adapters (pg for postgres:// URLs, PGlite for pglite:<dir>
// or pglite:memory). The CLI finds it through PRISMA_SCHEMA_ENGINE_BINARY (see package.json).
// Protocol and the fixes below: ../shared/PRISMA-OFFLINE.md, section 4.
import { mkdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';

const argv = process.argv.slice(2);
const option = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
// The CLI passes `--datamodels <file>` once per schema file (multi-file schemas repeat the flag).
const datamodelPaths = argv.flatMap((arg, i) => (arg === '--datamodels' && argv[i + 1] ? [argv[i + 1]] : []));
const datasource = JSON.parse(option('--datasource') ?? '{}');
const unmanagedIndexes = (process.env.PRISMA_UNMANAGED_INDEXES ?? '').split(',').map((s) => s.trim()).filter(Boolean);

const log = (level, message, fields = {}) =>
  process.stderr.write(`${JSON.stringify({ level, target: 'schema_engine::logger', fields: { message, ...fields } })}\n`);
// The CLI drops the first stderr line when it parses errors.
log('INFO', 'schema engine shim (wasm) starting');

// Fix: adapter-pg cannot deserialize pg_catalog "char" (OID 18) columns the describer reads; read them as text.
const addFields = pg.Result.prototype.addFields;
pg.Result.prototype.addFields = function (fields) {
  return addFields.call(this, fields.map((f) => (f.dataTypeID === 18 ? { ...f, dataTypeID: 25 } : f)));
};

const opened = [];

// The CLI acts on P-codes: only P1003 (database missing) from `can-connect-to-database` makes it
// run `create-database` (migrate deploy/dev on a new database). Adapter errors carry a `kind`, not a code.
const P_CODES = { AuthenticationFailed: 'P1000', DatabaseNotReachable: 'P1001', DatabaseDoesNotExist: 'P1003', DatabaseAccessDenied: 'P1010' };
function describeError(error) {
  const c = error?.cause ?? {};
  const message =
    c.kind === 'DatabaseNotReachable' ? `Can't reach database server at ${c.host}:${c.port}`
    : c.originalMessage ?? error?.message ?? String(error);
  return { message, code: P_CODES[c.kind] };
}

async function connect(url) {
  if (!url || url.startsWith('pglite:')) {
    const target = url ? url.slice('pglite:'.length) : 'memory';
    const dataDir = target === 'memory' || target === '' ? undefined : target;
    if (dataDir) mkdirSync(dataDir, { recursive: true }); // PGlite does not create parent folders
    const db = await PGlite.create({ dataDir, extensions: { unaccent, pg_trgm } });
    const adapter = await new PrismaPGlite(db).connect();
    // Fix: the PGlite adapter does not await exec(), so failed migrations looked applied.
    adapter.executeScript = async (script) => {
      try {
        await db.exec(script);
      } catch (error) {
        adapter.onError(error);
      }
    };
    opened.push({ adapter, close: () => db.close() });
    return adapter;
  }
  const adapter = await new PrismaPg({ connectionString: url }).connect();
  // Fix: adapter-pg splits scripts on ";", breaking $$ bodies; send the script whole instead.
  adapter.executeScript = async (script) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (error) {
      adapter.onError(error);
    }
  };
  opened.push({ adapter, close: () => {} });
  return adapter;
}

async function disposeAll() {
  for (const { adapter, close } of opened) {
    await adapter.dispose().catch(() => {});
    await close();
  }
}

// One-shot commands: `--datasource … cli can-connect-to-database | create-database`.
const cliIndex = argv.indexOf('cli');
if (cliIndex >= 0) {
  const command = argv[cliIndex + 1];
  try {
    if (command === 'can-connect-to-database') {
      const adapter = await connect(datasource.url);
      await adapter.queryRaw({ sql: 'SELECT 1', args: [], argTypes: [] });
    } else if (command === 'create-database') {
      if (datasource.url?.startsWith('postgres')) {
        const url = new URL(datasource.url);
        const name = decodeURIComponent(url.pathname.slice(1));
        url.pathname = '/postgres';
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
        await client.end();
      } else {
        await connect(datasource.url);
      }
    } else {
      throw new Error(`unsupported cli command: ${command}`);
    }
    await disposeAll();
    process.exit(0);
  } catch (error) {
    const { message, code } = describeError(error);
    log('ERROR', message, { error_code: code ?? 'P1001' });
    process.exit(1);
  }
}

// Load the wasm engine by hand: its main entry imports the .wasm as an ES module, which Node 20 cannot.
const bgUrl = import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
const { instance } = await WebAssembly.instantiate(readFileSync(new URL('./schema_engine_bg.wasm', bgUrl)), {
  './schema_engine_bg.js': bg,
});
bg.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start();

const factory = {
  provider: 'postgres',
  adapterName: 'schema-engine-shim',
  connect: () => connect(datasource.url),
  connectToShadowDb: () => connect(datasource.shadowDatabaseUrl ?? 'pglite:memory'),
};
// Surface wasm panics as error lines instead of a TypeError.
globalThis.PRISMA_WASM_PANIC_REGISTRY = { set_message: (message) => log('ERROR', `schema engine panic: ${message}`) };
// Commands like `migrate diff` pass their schemas as params and no --datamodels; the engine still wants one.
const datamodels = datamodelPaths.length
  ? datamodelPaths.map((path) => [path, readFileSync(path, 'utf8')])
  : [['schema.prisma', 'datasource db {\n  provider = "postgresql"\n}\n']];
// SchemaEngine.new connects to the datasource. If that fails, crashing here makes the CLI exit 0 silently
// (seen with `migrate diff --from-config-datasource` on an unreachable server), so answer every request with the error.
let engine, startError;
try {
  engine = await bg.SchemaEngine.new(
    { datamodels },
    (message) => log('INFO', String(message)),
    bindMigrationAwareSqlAdapterFactory(factory),
  );
} catch (error) {
  startError = error;
}

const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);

// Engine → CLI requests (only `print`), answered by the CLI with our own ids.
let nextOwnId = 1_000_000;
const awaitingCli = new Map();
function print(content) {
  const id = nextOwnId++;
  return new Promise((resolve) => {
    awaitingCli.set(id, resolve);
    send({ id, method: 'print', params: { content } });
  });
}

/** Removes the DropIndex steps for indexes written by hand (see PRISMA_UNMANAGED_INDEXES). */
function withoutUnmanagedDrops(script) {
  if (!script || unmanagedIndexes.length === 0) return { script, changed: false };
  let changed = false;
  let result = script;
  for (const name of unmanagedIndexes) {
    const pattern = new RegExp(`-- DropIndex\\s*\\nDROP INDEX (?:"[^"]+"\\.)?"${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}";\\s*\\n?`, 'g');
    const next = result.replace(pattern, '');
    changed ||= next !== result;
    result = next;
  }
  const empty = result.split('\n').every((line) => line.trim() === '' || line.trim().startsWith('--'));
  return { script: empty ? '-- This is an empty migration.\n' : result, changed, empty };
}

// Wasm evaluateDataLoss/createMigration get no shadow-db factory: they only work when an earlier diagnose cached the
// schema of exactly these migrations. When `migrate dev` has just applied pending ones, that cache misses
// ("shadow DB must be provided through an external factory"), so warm it with a read-only diagnose and retry.
async function withMigrationsCached(method, params) {
  try {
    return await engine[method](params);
  } catch (error) {
    if (!/must be provided through an external factory/.test(error?.message)) throw error;
    const { migrationsList, filters } = params;
    await engine.diagnoseMigrationHistory({ migrationsList, filters, optInToShadowDatabase: true });
    return engine[method](params);
  }
}

const handlers = {
  evaluateDataLoss: (params) => withMigrationsCached('evaluateDataLoss', params),
  getDatabaseVersion: () => engine.version(),
  async diff(params) {
    const result = await engine.diff(params);
    let { exitCode, stdout } = result;
    if (stdout) {
      const cleaned = withoutUnmanagedDrops(stdout);
      if (cleaned.changed && cleaned.empty) exitCode = 0;
      // The CLI prints nothing from the diff result itself; the text travels through `print`.
      await print(cleaned.script.replace(/\n$/, ''));
    }
    return { exitCode, stdout: null };
  },
  async createMigration(params) {
    const result = await withMigrationsCached('createMigration', params);
    if (result.migrationScript) result.migrationScript = withoutUnmanagedDrops(result.migrationScript).script;
    return result;
  },
};

async function handle(request) {
  const { id, method, params } = request;
  try {
    if (startError) throw startError;
    const handler = handlers[method] ?? (typeof engine[method] === 'function' ? (p) => engine[method](p ?? {}) : null);
    if (!handler) throw new Error(`The offline schema engine shim does not support "${method}".`);
    const result = await handler(params ?? {});
    send({ id, result: result ?? {} });
  } catch (error) {
    const { message, code } = describeError(error);
    log('ERROR', message);
    send({ id, error: { code: 4466, message, data: { is_panic: false, message, ...(code && { error_code: code }) } } });
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  const message = JSON.parse(line);
  if (message.method) {
    void handle(message);
  } else if (awaitingCli.has(message.id)) {
    awaitingCli.get(message.id)(message.result);
    awaitingCli.delete(message.id);
  }
});
// The CLI closes stdin when done; PGlite and pg would keep the process alive.
lines.on('close', async () => {
  await disposeAll();
  process.exit(0);
});
