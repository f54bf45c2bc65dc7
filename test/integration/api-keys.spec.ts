import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/infra/db.js';
import { migrate } from '../../src/infra/migrate.js';
import { ApiKeyAuthenticator } from '../../src/modules/auth/api-keys-service.js';
import { InvalidCredentialsError } from '../../src/shared/errors.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { startInstancePair, type InstancePair } from '../testkit/instance-pair.js';
import { waitFor } from '../testkit/processes.js';

const CREATE = `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id name role client prefix createdAt lastUsedAt expiresAt } } }`;
const REVOKE = `mutation ($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;
const LIST = `query ($all: Boolean) { apiKeys(includeRevoked: $all) { id name role client lastUsedAt expiresAt revokedAt } }`;
const WHO = `{ __typename }`;

describe('API keys over GraphQL', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ persisted: { acme: [CREATE, REVOKE, LIST] } });
  });
  afterAll(() => app?.close());

  it('authorization: only admins list, create and revoke keys', async () => {
    const created = dataOf(await app.gql(CREATE, { input: { name: 'matrix', role: 'EDITOR' } }, { key: app.keys.admin })).createApiKey;
    const callers = [
      { who: 'anonymous', options: {} },
      { who: 'partner', options: { key: app.keys.partner, persisted: true } },
      { who: 'editor', options: { key: app.keys.editor } },
    ];
    for (const { who, options } of callers) {
      const codes = [
        codesOf(await app.gql(LIST, {}, options)),
        codesOf(await app.gql(CREATE, { input: { name: 'x', role: 'ADMIN' } }, options)),
        codesOf(await app.gql(REVOKE, { id: created.apiKey.id }, options)),
      ];
      expect({ who, codes }).toEqual({ who, codes: [['FORBIDDEN'], ['FORBIDDEN'], ['FORBIDDEN']] });
    }
    // The node lookup of a key is null for non-admins, like a missing one.
    expect(dataOf(await app.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id: created.apiKey.id }, { key: app.keys.editor })).node).toBeNull();
    // The refused revocations changed nothing: the key still works.
    expect(codesOf(await app.gql(WHO, {}, { key: created.key }))).toEqual([]);
  });

  it('returns a new key once, validates input, records lastUsedAt at most once a minute, and revokes', async () => {
    const { key, apiKey } = dataOf(await app.gql(CREATE, { input: { name: 'ops', role: 'EDITOR' } }, { key: app.keys.admin })).createApiKey;
    expect(key).toMatch(/^wk_/);
    expect(apiKey).toMatchObject({ name: 'ops', role: 'EDITOR', client: null, prefix: key.slice(0, 10), lastUsedAt: null, expiresAt: null });
    const listed = async (all = false) => dataOf(await app.gql(LIST, { all }, { key: app.keys.admin })).apiKeys as any[];
    expect(JSON.stringify(await listed())).not.toContain(key);

    expect(codesOf(await app.gql(WHO, {}, { key }))).toEqual([]);
    const firstUse = (await app.database.prisma.apiKey.findUniqueOrThrow({ where: { id: rawId(apiKey.id) } })).lastUsedAt;
    expect(firstUse).toBeInstanceOf(Date);
    // Another request within the minute does not write again.
    expect(codesOf(await app.gql(WHO, {}, { key }))).toEqual([]);
    const statements = await app.statementsDuring(() => app.gql(WHO, {}, { key }));
    expect(statements.filter((sql) => /UPDATE .*api_keys/i.test(sql))).toEqual([]);
    expect((await listed()).find((k) => k.id === apiKey.id).lastUsedAt).toBe(firstUse!.toISOString());

    for (const input of [
      { name: 'p', role: 'PARTNER' },
      { name: 'e', role: 'EDITOR', client: 'acme' },
      { name: ' ', role: 'ADMIN' },
      { name: 'old', role: 'ADMIN', expiresAt: '2020-01-01T00:00:00Z' },
    ]) {
      expect(codesOf(await app.gql(CREATE, { input }, { key: app.keys.admin }))).toEqual(['BAD_USER_INPUT']);
    }

    const revoked = dataOf(await app.gql(REVOKE, { id: apiKey.id }, { key: app.keys.admin })).revokeApiKey;
    expect(revoked.revokedAt).not.toBeNull();
    expect(dataOf(await app.gql(REVOKE, { id: apiKey.id }, { key: app.keys.admin })).revokeApiKey.revokedAt).toBe(revoked.revokedAt);
    expect((await listed()).map((k) => k.id)).not.toContain(apiKey.id);
    expect((await listed(true)).map((k) => k.id)).toContain(apiKey.id);
    // A key never used before its revocation is refused at once too (used ones: see below).
    const unused = dataOf(await app.gql(CREATE, { input: { name: 'unused', role: 'EDITOR' } }, { key: app.keys.admin })).createApiKey;
    dataOf(await app.gql(REVOKE, { id: unused.apiKey.id }, { key: app.keys.admin }));
    await expect(app.gql(WHO, {}, { key: unused.key })).rejects.toThrow(/401.*UNAUTHENTICATED/s);
    const missing = await app.gql(REVOKE, { id: globalId('00000000-0000-4000-8000-000000000000') }, { key: app.keys.admin });
    expect(codesOf(missing)).toEqual(['NOT_FOUND']);
  });

  it('does not keep a lookup that was under way when a revocation was heard', async () => {
    const created = dataOf(await app.gql(CREATE, { input: { name: 'racing', role: 'EDITOR' } }, { key: app.keys.admin })).createApiKey;
    const authenticator = new ApiKeyAuthenticator(app.database.prisma);
    const underWay = authenticator.authenticate(`Bearer ${created.key}`);
    authenticator.forgetInvalidated([`ApiKey:${created.apiKey.id}`]); // heard while the row is being read
    expect((await underWay).kind).toBe('apiKey'); // read before the revocation: this request is answered
    // Revoked in the database, and this authenticator not told: only a cached lookup would still accept it.
    await app.database.prisma.apiKey.update({ where: { id: rawId(created.apiKey.id) }, data: { revokedAt: new Date() } });
    await expect(authenticator.authenticate(`Bearer ${created.key}`)).rejects.toThrow(InvalidCredentialsError);
  });

  it('an expired key is UNAUTHENTICATED, also when its lookup was cached before it expired', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const { key } = dataOf(await app.gql(CREATE, { input: { name: 'short', role: 'EDITOR', expiresAt } }, { key: app.keys.admin })).createApiKey;
    expect(codesOf(await app.gql(WHO, {}, { key }))).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await expect(app.gql(WHO, {}, { key })).rejects.toThrow(/401.*UNAUTHENTICATED/s);
  });
});

const cli = (args: string[], env: Record<string, string>) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/apikey.ts', ...args], { env: { ...process.env, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

describe('the key CLI', () => {
  let dataDir: string;
  let held: Database | undefined;
  beforeAll(() => {
    dataDir = join(mkdtempSync(join(tmpdir(), 'apikey-cli-')), 'pglite');
  });
  afterAll(async () => {
    await held?.close();
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
  });

  it('prints clear errors with non-zero exit codes, and refuses an embedded folder a live process holds', async () => {
    const env = { DATA_DIR: dataDir, DATABASE_URL: '', NODE_ENV: 'development' };
    const nope = await cli(['revoke', '--id', 'nope'], env);
    expect(nope.code).toBe(1);
    expect(nope.stderr).toContain('No API key has the id "nope"');
    expect(nope.stderr).not.toMatch(/at .*\.(ts|js):\d+|Prisma/);
    const unknown = await cli(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command: frobnicate');

    // As the server does: the embedded database opened in this (live) process holds the folder.
    held = await openDatabase({ dataDir, poolMax: 1, statementTimeoutMs: 5000 });
    await migrate(held);
    const refused = await cli(['create', '--role', 'ADMIN', '--name', 'ops'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`is in use by process ${process.pid}`);
    expect(refused.stdout).not.toContain('wk_');
    await held.close();
    held = undefined;
    const created = await cli(['create', '--role', 'ADMIN', '--name', 'ops'], env);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/wk_/);
  }, 300_000);
});

const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').split(':')[1]!;
const globalId = (uuid: string) => Buffer.from(`ApiKey:${uuid}`).toString('base64');

describe('API key revocation across instances', () => {
  let pair: InstancePair;
  beforeAll(async () => {
    pair = await startInstancePair('api-keys');
  });
  afterAll(() => pair?.close());

  it('refuses a revoked key at once on the instance that revoked it and within moments on the others, though both had its lookup cached', async () => {
    const { a, b } = pair;
    const created = dataOf(await a.gql(CREATE, { input: { name: 'soon revoked', role: 'EDITOR' } }, { key: a.keys.admin })).createApiKey;
    // Both instances have looked the key up (and would keep it for 30 s).
    for (const app of [a, b]) dataOf(await app.gql(WHO, {}, { key: created.key }));
    dataOf(await a.gql(REVOKE, { id: created.apiKey.id }, { key: a.keys.admin }));
    await expect(a.gql(WHO, {}, { key: created.key })).rejects.toThrow(/401.*UNAUTHENTICATED/s);
    // The other instance hears of it through Redis (the response cache's invalidation channel).
    await waitFor('the other instance refusing the revoked key', () => refuses(b, created.key), 3_000, 50);
    // Other keys stay valid.
    dataOf(await b.gql(WHO, {}, { key: b.keys.editor }));
  });

  it('tells running instances through Redis when the CLI revokes a key', async (context) => {
    const { a, b, namespace } = pair;
    if (!a.databaseUrl) return context.skip(); // the embedded database is held by the app: the CLI refuses it
    const created = dataOf(await a.gql(CREATE, { input: { name: 'revoked by the CLI', role: 'EDITOR' } }, { key: a.keys.admin })).createApiKey;
    for (const app of [a, b]) dataOf(await app.gql(WHO, {}, { key: created.key }));
    const revoked = await cli(['revoke', '--id', rawId(created.apiKey.id)], { DATABASE_URL: a.databaseUrl, REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', CACHE_NAMESPACE: namespace, NODE_ENV: 'development' });
    expect(revoked.stdout).toContain('Running instances were told through Redis.');
    for (const app of [a, b]) await waitFor('each instance refusing the key the CLI revoked', () => refuses(app, created.key), 3_000, 50);
  }, 60_000);
});

/** Whether `app` refuses `key` (401). */
const refuses = (app: TestApp, key: string) => app.gql(WHO, {}, { key }).then(() => false, (error: Error) => /401.*UNAUTHENTICATED/s.test(error.message));
