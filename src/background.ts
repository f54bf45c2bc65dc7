import type { Env } from './env.js';
import { maintainPartitions } from './infra/bootstrap.js';
import type { Database } from './infra/db.js';
import type { JobHandlers, JobSystem } from './infra/jobs/index.js';
import type { Logger } from './infra/logger.js';
import { fileTransport, smtpTransport, type MailTransport } from './infra/mail/transports.js';
import { deliverNotificationHandler, DELIVER_NOTIFICATION, OutboxRelay } from './modules/notifications/outbox.js';
import { newsletterJobHandlers, TrackingSigner } from './modules/newsletters/newsletter-jobs.js';
import { alertJobHandlers } from './modules/notifications/alerts.js';
import type { Services } from './services.js';
import { TokenSigner } from './shared/tokens.js';

const DAY_MS = 24 * 3600_000;
const RESCHEDULE_MS = 10 * 60_000;
/** Unconfirmed enrollments are released within a minute of their hold running out. */
const HOLD_SWEEP_MS = 60_000;

/** SMTP when configured, else .eml files in MAIL_DIR (production refuses to start without saying which: see env.ts). */
export function mailTransport(env: Env): MailTransport {
  return env.MAIL_TRANSPORT === 'smtp' ? smtpTransport(env.SMTP_URL!, env.MAIL_FROM, env.SMTP_POOL_SIZE) : fileTransport(env.MAIL_DIR, env.MAIL_FROM);
}

/** Every job the app knows, by queue and name: the same handlers with or without Redis. */
export function jobHandlers(deps: { env: Env; database: Database; services: Services; jobs: JobSystem; transport: MailTransport; logger: Logger }): JobHandlers {
  const { env, database, services, jobs, transport, logger } = deps;
  const tokens = new TokenSigner(env.TOKEN_SECRET);
  return {
    mail: {
      [DELIVER_NOTIFICATION]: deliverNotificationHandler({ db: database.prisma, transport, tokens, publicUrl: env.PUBLIC_URL, claimMs: env.JOB_LOCK_MS }),
    },
    newsletters: newsletterJobHandlers({ db: database.prisma, jobs, transport, tokens, tracking: new TrackingSigner(env.TOKEN_SECRET), publicUrl: env.PUBLIC_URL, claimMs: env.JOB_LOCK_MS }),
    alerts: alertJobHandlers({ db: database.prisma, jobs, publicUrl: env.PUBLIC_URL, webhook: env.ALERT_WEBHOOK_URL && env.WEBHOOK_SECRET ? { url: env.ALERT_WEBHOOK_URL, secret: env.WEBHOOK_SECRET } : undefined }),
    maintenance: {
      'statistics-refresh': { run: () => services.statistics.refresh() },
      partitions: { run: () => maintainPartitions(env, database, logger) },
      'enrollment-holds': { run: async () => ({ released: await services.enrollments.releaseExpiredHolds() }) },
    },
  };
}

/**
 * The background work of a process that runs workers (the API with WORKERS=inline, or `npm run
 * worker`): the job workers, the outbox relay, and the maintenance schedule. With Redis the schedule
 * is a BullMQ job scheduler, one for the fleet however many instances upsert it; without, timers in
 * this process (there is only one). Resolves with the closer for the graceful shutdown.
 */
export async function startBackground(deps: { env: Env; database: Database; services: Services; jobs: JobSystem; logger: Logger }): Promise<{ name: string; close(): Promise<void> }> {
  const { env, database, services, jobs, logger } = deps;
  const transport = mailTransport(env);
  jobs.work(jobHandlers({ ...deps, transport }));
  const relay = new OutboxRelay(database.prisma, jobs, { pollMs: env.OUTBOX_POLL_MS, requeueAfterMs: env.OUTBOX_REQUEUE_AFTER_MS, claimMs: env.JOB_LOCK_MS }, logger);
  relay.start();
  const timers: NodeJS.Timeout[] = [];
  if (jobs.kind === 'bullmq') {
    const schedule = () =>
      Promise.all([
        jobs.every('maintenance', 'statistics-refresh', env.STATS_REFRESH_INTERVAL_MS),
        jobs.every('maintenance', 'partitions', DAY_MS),
        jobs.every('maintenance', 'enrollment-holds', HOLD_SWEEP_MS),
      ]);
    await schedule().catch((e: Error) => logger.warn({ err: e.message }, 'maintenance schedule: Redis did not answer (retrying)'));
    // Upserting is idempotent; again every 10 minutes, so a Redis that lost its data gets the schedule back.
    const reschedule = setInterval(() => void schedule().catch(() => {}), RESCHEDULE_MS);
    reschedule.unref();
    timers.push(reschedule);
  } else {
    services.statistics.start();
    // In-process `every` is this process's timer (there is only one process).
    await jobs.every('maintenance', 'enrollment-holds', HOLD_SWEEP_MS);
    const partitions = setInterval(() => void maintainPartitions(env, database, logger).catch((e) => logger.warn({ err: (e as Error).message }, 'partition maintenance failed')), DAY_MS);
    partitions.unref();
    timers.push(partitions);
  }
  logger.info({ jobs: jobs.kind, mail: transport.kind, ...(transport.kind === 'file' ? { mailDir: env.MAIL_DIR } : {}) }, 'background workers started');
  return {
    name: 'background workers',
    async close() {
      // Stop making work, then let running jobs finish (BullMQ's worker.close waits for them), then the transport.
      for (const timer of timers) clearInterval(timer);
      services.statistics.stop();
      await relay.stop();
      await jobs.close();
      transport.close();
    },
  };
}
