import type { Db } from '../../infra/db.js';
import type { JobHandler, JobSystem } from '../../infra/jobs/index.js';
import type { Logger } from '../../infra/logger.js';
import type { MailTransport } from '../../infra/mail/transports.js';
import type { Locale } from '../../shared/locale.js';
import type { TokenSigner } from '../../shared/tokens.js';
import { publishJob } from './alerts.js';
import { MailLinks, render } from './templates.js';

/** The `mail` job that sends one outbox row; its job id is `outbox-<row id>`. */
export const DELIVER_NOTIFICATION = 'deliver-notification';

export interface OutboxOptions {
  /** How often the relay looks for unsent rows. */
  pollMs: number;
  /** An enqueued row still unsent this long after is enqueued again (the queue lost it, e.g. Redis restarted empty). */
  requeueAfterMs: number;
  /** How long a worker owns a row it is sending (the queue's visibility timeout); after that another may take it over. */
  claimMs: number;
  /** Rows enqueued per poll. */
  batch?: number;
}

/**
 * The relay half of the transactional outbox: rows are written in the same transaction as the change
 * that causes them (subscribe, enroll…); this enqueues unsent ones as `mail` jobs, at least once and
 * de-duplicated by row id. `FOR UPDATE SKIP LOCKED` lets several relays (instances, workers) share
 * the work; the row's `enqueued_at` is written in the same transaction as the enqueue succeeded.
 * Published workshops whose instant alerts are due (`alerts_due_at`, set by the publish) get their
 * fan-out job the same way, so a Redis outage at publish time delays alerts instead of losing them.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly jobs: JobSystem,
    private readonly options: OutboxOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.poll()
        .catch((e: Error) => this.logger.warn({ err: e.message }, 'outbox relay: enqueue failed (retrying)'))
        .finally(() => {
          if (this.stopped) return;
          this.timer = setTimeout(tick, this.options.pollMs);
          this.timer.unref();
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Enqueues one batch of due rows and due alert fan-outs; returns how many. */
  async poll(): Promise<number> {
    return (await this.enqueueDueAlerts()) + (await this.enqueueDueMail());
  }

  /**
   * Workshop rows are not locked here (enrollments lock them, and an enqueue may wait on a slow
   * Redis): two relays may both enqueue a fan-out, which its job id de-duplicates. The mark is cleared
   * only if no newer publish set it again meanwhile.
   */
  private async enqueueDueAlerts(): Promise<number> {
    const due = await this.db.$queryRaw<{ id: string; dueAt: Date }[]>`
      SELECT id, alerts_due_at AS "dueAt" FROM workshops WHERE alerts_due_at IS NOT NULL ORDER BY alerts_due_at LIMIT ${this.options.batch ?? 500}`;
    if (due.length === 0) return 0;
    await this.jobs.enqueue('alerts', due.map((w) => publishJob(w.id)));
    await this.db.$executeRaw`
      UPDATE workshops w SET alerts_due_at = NULL
      FROM unnest(${due.map((w) => w.id)}::uuid[], ${due.map((w) => w.dueAt)}::timestamptz[]) AS d(id, due_at)
      WHERE w.id = d.id AND w.alerts_due_at = d.due_at`;
    return due.length;
  }

  private async enqueueDueMail(): Promise<number> {
    const batch = this.options.batch ?? 500;
    return this.db.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM notifications_outbox
        WHERE sent_at IS NULL AND failed_at IS NULL
          AND (enqueued_at IS NULL OR enqueued_at < now() - make_interval(secs => ${this.options.requeueAfterMs / 1000}::float8))
        ORDER BY created_at
        LIMIT ${batch}
        FOR UPDATE SKIP LOCKED`;
      if (rows.length === 0) return 0;
      await this.jobs.enqueue('mail', rows.map(({ id }) => ({ name: DELIVER_NOTIFICATION, id: `outbox-${id}`, data: { id } })));
      await tx.$executeRaw`UPDATE notifications_outbox SET enqueued_at = now() WHERE id = ANY(${rows.map((r) => r.id)}::uuid[])`;
      return rows.length;
    });
  }
}

interface ClaimedRow {
  id: string;
  subscriberId: string;
  kind: string;
  token: string;
  payload: Record<string, unknown>;
  email: string;
  name: string | null;
  locale: Locale;
  status: string | null;
}

/** Manage links in mails (List-Unsubscribe) last as long as the ones the API hands out. */
const MANAGE_TTL_SECONDS = 365 * 24 * 3600;

/**
 * Sends one outbox row. Idempotent: a row already sent is done; one that another worker is sending
 * (its claim has not run out) is retried later. The row is claimed before sending and marked sent
 * only once the transport accepted the message, so a worker killed in between leaves it for another
 * (at least once; the Message-ID stays the same). Attempts and the last error are recorded on the row.
 */
export function deliverNotificationHandler(deps: { db: Db; transport: MailTransport; tokens: TokenSigner; publicUrl: string; claimMs: number }): JobHandler<{ id: string }> {
  const links = new MailLinks(deps.publicUrl);
  const host = new URL(deps.publicUrl).hostname || 'workshops.local';
  return {
    async run({ id }) {
      const [row] = await deps.db.$queryRaw<ClaimedRow[]>`
        UPDATE notifications_outbox n SET claimed_until = now() + make_interval(secs => ${deps.claimMs / 1000}::float8), attempts = n.attempts + 1
        FROM subscribers s
        WHERE n.id = ${id}::uuid AND s.id = n.subscriber_id AND n.sent_at IS NULL AND (n.claimed_until IS NULL OR n.claimed_until < now())
        RETURNING n.id, n.subscriber_id AS "subscriberId", n.kind, n.token, n.payload, s.email, s.name, s.locale, s.status`;
      if (!row) {
        const current = await deps.db.notification.findUnique({ where: { id }, select: { sentAt: true } });
        // Gone (the person was erased) or already sent: nothing to do.
        if (!current || current.sentAt) return { skipped: true };
        throw new Error('another worker is sending this message');
      }
      const mail = render({ kind: row.kind, locale: row.locale, name: row.name, token: row.token, payload: row.payload, links });
      const headers: Record<string, string> = { 'X-Workshops-Notification': row.kind };
      if (row.status === 'ACTIVE') {
        // RFC 8058 one-click unsubscribe: mail clients POST "List-Unsubscribe=One-Click" to this URL.
        headers['List-Unsubscribe'] = `<${links.unsubscribe(deps.tokens.sign('subscription:manage', row.subscriberId, MANAGE_TTL_SECONDS))}>`;
        headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
      }
      try {
        await deps.transport.send({ ...mail, to: row.email, messageId: `<${row.id}@${host}>`, headers });
      } catch (error) {
        await deps.db.$executeRaw`UPDATE notifications_outbox SET claimed_until = NULL, last_error = ${(error as Error).message.slice(0, 1000)} WHERE id = ${id}::uuid`;
        throw error;
      }
      await deps.db.$executeRaw`UPDATE notifications_outbox SET sent_at = now(), claimed_until = NULL, failed_at = NULL WHERE id = ${id}::uuid`;
      return { sent: true };
    },
    async dead({ id }, error) {
      await deps.db.$executeRaw`UPDATE notifications_outbox SET failed_at = now(), claimed_until = NULL, last_error = ${error.message.slice(0, 1000)} WHERE id = ${id}::uuid AND sent_at IS NULL`;
    },
  };
}
