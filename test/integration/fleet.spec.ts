import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackground } from '../../src/background.js';
import { createJobSystem, type JobSystem } from '../../src/infra/jobs/index.js';
import { createLogger } from '../../src/infra/logger.js';
import { REFRESH_LOCK } from '../../src/modules/analytics/statistics-service.js';
import { startInstancePair, type InstancePair } from '../testkit/instance-pair.js';
import { waitFor } from '../testkit/processes.js';
import { backgroundEnv } from '../testkit/background.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = createLogger('silent');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Instances of one deployment on one Postgres and one Redis, joining and leaving: schedules run once
 * for the fleet, the statistics refresh takes its advisory lock on every instance. (Partition
 * maintenance taking turns under its lock: robustness.spec.ts; a killed worker's jobs taken over:
 * jobs-fault.spec.ts.)
 */
describe('a fleet of instances', () => {
  let pair: InstancePair;
  const systems: JobSystem[] = [];
  beforeAll(async () => {
    pair = await startInstancePair('fleet');
  });
  afterAll(async () => {
    await Promise.all(systems.map((jobs) => jobs.close()));
    const keys = await pair.redis.keys(`{${pair.namespace}:jobs}:*`); // test clean-up only
    if (keys.length) await pair.redis.del(...keys);
    await pair?.close();
  });

  const jobSystem = () => {
    const jobs = createJobSystem({ redis: REDIS_URL, namespace: pair.namespace, backoffMs: 20, lockMs: 5000, logger });
    systems.push(jobs);
    return jobs;
  };
  const maintenanceQueue = () => new Queue('maintenance', { connection: { url: REDIS_URL }, prefix: `{${pair.namespace}:jobs}` });

  it('runs a schedule once per slot for the whole fleet while instances join and leave', async () => {
    const runs: { instance: string; slot: string }[] = [];
    const join = async (instance: string) => {
      const jobs = jobSystem();
      jobs.work({ maintenance: { tick: { run: async (_data, { jobId }) => runs.push({ instance, slot: /:(\d+)$/.exec(jobId)![1]! }) } } }, ['maintenance']);
      // Every instance upserts the schedule at start, as startBackground does.
      await jobs.every('maintenance', 'tick', 150);
      return jobs;
    };
    const a = await join('a');
    await waitFor('a few runs on A alone', async () => runs.length >= 3, 10_000);
    const b = await join('b');
    const joined = runs.length;
    await waitFor('runs with both instances working', async () => runs.length >= joined + 6, 10_000);
    await a.close(); // A leaves
    const left = runs.length;
    await waitFor('runs after A left', async () => runs.length >= left + 3, 10_000);

    // One schedule however many instances upserted it, one run per slot, and the schedule outlives the instance that made it.
    const queue = maintenanceQueue();
    try {
      expect(await queue.getJobSchedulersCount()).toBe(1);
      await queue.removeJobScheduler('tick');
    } finally {
      await queue.close();
      await b.close();
    }
    expect(new Set(runs.map((run) => run.slot)).size).toBe(runs.length);
    expect(runs.slice(left).map((run) => run.instance)).toEqual(runs.slice(left).map(() => 'b'));
  });

  it('upserts the maintenance schedules once for the fleet, whichever instances start their background work', async () => {
    const env = backgroundEnv(pair.a);
    const backgrounds = [];
    const queue = maintenanceQueue();
    const schedules = async () => (await queue.getJobSchedulers()).map((scheduler) => scheduler.key).sort();
    try {
      backgrounds.push(await startBackground({ env, database: pair.a.database, services: pair.a.services, jobs: jobSystem(), logger }));
      const first = await schedules();
      expect(first).toEqual(expect.arrayContaining(['partitions', 'statistics-refresh']));
      // A second instance upserts the same schedules: each still exists once.
      backgrounds.push(await startBackground({ env, database: pair.b.database, services: pair.b.services, jobs: jobSystem(), logger }));
      expect(await schedules()).toEqual(first);
      expect(new Set(first).size).toBe(first.length);
    } finally {
      await queue.close();
      for (const background of backgrounds) await background.close();
    }
  });

  it('refreshes statistics on one instance at a time: while another holds the lock, every instance skips', async () => {
    const holder = new pg.Client({ connectionString: pair.a.databaseUrl });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [REFRESH_LOCK]);
      const before = await pair.a.services.statistics.asOf();
      await sleep(10); // a refresh now would move asOf past `before`
      expect(await Promise.all([pair.a.services.statistics.refresh(), pair.b.services.statistics.refresh()])).toEqual([false, false]);
      expect(await pair.b.services.statistics.asOf()).toEqual(before);
      await holder.query('SELECT pg_advisory_unlock($1)', [REFRESH_LOCK]);
      expect(await pair.b.services.statistics.refresh()).toBe(true);
      expect((await pair.a.services.statistics.asOf()).getTime()).toBeGreaterThan(before.getTime());
    } finally {
      await holder.end();
    }
  });
});
