import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGlobalId } from '../../src/shared/ids.js';
import { codesOf, dataOf, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';
import { startInstancePair, type InstancePair } from '../testkit/instance-pair.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROOT = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);

/** Writes made outside the app (SQL, a seed) reach no invalidation: operators flush the namespace. */
describe('flushing the response cache', () => {
  let pair: InstancePair;
  let a: TestApp;
  let b: TestApp;
  let redis: Redis;
  let namespace: string;

  beforeAll(async () => {
    pair = await startInstancePair('flush');
    ({ a, b, redis, namespace } = pair);
  });
  afterAll(() => pair?.close());

  const TITLE = `query ($id: ID!) { workshop(id: $id) { title } }`;
  const titles = async (id: string) => [dataOf(await a.gql(TITLE, { id })).workshop.title, dataOf(await b.gql(TITLE, { id })).workshop.title];
  /** A workshop both instances hold in their local tier, then renamed in SQL behind the cache's back. */
  async function renamedBehindTheCache(title: string): Promise<string> {
    const { id, slug } = await createWorkshop(a);
    expect(await titles(id)).toEqual([`Workshop ${slug}`, `Workshop ${slug}`]);
    await a.database.prisma.workshop.update({ where: { id: decodeGlobalId(id).id }, data: { titleEn: title } });
    expect(await titles(id)).toEqual([`Workshop ${slug}`, `Workshop ${slug}`]); // still cached
    return id;
  }
  const processEnv = (extra: Record<string, string> = {}) => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'test',
    TOKEN_SECRET: 't'.repeat(40),
    REDIS_URL,
    CACHE_NAMESPACE: namespace,
    ...extra,
  });

  it('flushResponseCache (ADMIN) drops every entry on every instance and says how many', async () => {
    const id = await renamedBehindTheCache('Fixed in SQL');
    expect(codesOf(await a.gql(`mutation { flushResponseCache { entries } }`, {}, { key: a.keys.editor }))).toEqual(['FORBIDDEN']);
    const flushed = dataOf(await a.gql(`mutation { flushResponseCache { namespace entries shared } }`, {}, { key: a.keys.admin })).flushResponseCache;
    expect(flushed).toMatchObject({ namespace, shared: true });
    expect(flushed.entries).toBeGreaterThan(0);
    expect(await redis.keys(`{${namespace}}:e:*`)).toEqual([]);
    expect(await titles(id)).toEqual(['Fixed in SQL', 'Fixed in SQL']);
  });

  it('npm run cache:flush does the same from outside', async () => {
    const id = await renamedBehindTheCache('Fixed by an import');
    const { stdout } = await run('npm', ['run', '-s', 'cache:flush'], { cwd: ROOT, env: processEnv() });
    expect(stdout).toContain(`flushed namespace "${namespace}"`);
    expect(await titles(id)).toEqual(['Fixed by an import', 'Fixed by an import']);
  }, 60_000);

  it('npm run seed flushes it after seeding', async () => {
    const count = async (app: TestApp) => dataOf(await app.gql(`{ workshops(first: 1, filter: { search: "kubernetes" }) { totalCount } }`)).workshops.totalCount;
    expect([await count(a), await count(b)]).toEqual([0, 0]);
    const { stdout } = await run('npm', ['run', '-s', 'seed', '--', '--profile=demo'], { cwd: ROOT, env: processEnv({ DATABASE_URL: a.databaseUrl! }) });
    expect(stdout).toContain(`response cache "${namespace}" flushed`);
    const seeded = await count(a);
    expect(seeded).toBeGreaterThan(0);
    expect(await count(b)).toBe(seeded);
  }, 120_000);
});
