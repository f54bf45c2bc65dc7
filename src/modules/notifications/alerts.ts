import type { Db } from '../../infra/db.js';
import type { JobHandler, JobSystem } from '../../infra/jobs/types.js';
import { postWebhook } from '../../infra/mail/transports.js';
import { DELIVER_NOTIFICATION } from './outbox.js';

export const PUBLISH_FAN_OUT = 'publish-fan-out';
export const ALERT = 'alert';
export const ALERT_WEBHOOK = 'webhook';

/** The `alerts` job a publish enqueues; one per workshop (a re-publish within a day adds nothing). */
export const publishJob = (workshopId: string) => ({ name: PUBLISH_FAN_OUT, id: `publish-${workshopId}`, data: { workshopId } });

const CHUNK = 1000;

interface QuietHours {
  start: string;
  end: string;
}

/**
 * Milliseconds until the end of the person's quiet hours (0 outside them). `start`–`end` are HH:MM in
 * `timeZone` (UTC when unknown) and may wrap midnight (22:00–07:00).
 */
export function quietHoursDelay(quietHours: QuietHours | null | undefined, timeZone: string | undefined, now = new Date()): number {
  if (!quietHours) return 0;
  const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const [start, end] = [minutes(quietHours.start), minutes(quietHours.end)];
  if (start === end) return 0;
  let zone = 'UTC';
  try {
    if (timeZone) zone = new Intl.DateTimeFormat('en', { timeZone }).resolvedOptions().timeZone;
  } catch {
    // an unknown zone: UTC
  }
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en', { timeZone: zone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(now).map((p) => [p.type, p.value]));
  const nowSeconds = Number(parts.hour) * 3600 + Number(parts.minute) * 60 + Number(parts.second);
  const inside = start < end ? nowSeconds >= start * 60 && nowSeconds < end * 60 : nowSeconds >= start * 60 || nowSeconds < end * 60;
  if (!inside) return 0;
  return (((end * 60 - nowSeconds) % 86_400) + 86_400) % 86_400 * 1000;
}

interface Preferences {
  alerts?: string;
  quietHours?: QuietHours | null;
  timeZone?: string;
}

/**
 * Instant alerts when a workshop is published: `publish-fan-out` finds the ACTIVE subscribers who
 * follow one of its topics and chose instant alerts, and enqueues one `alert` per person (job id
 * alert-<workshop>-<subscriber>, delayed to the end of their quiet hours); `alert` writes the mail to
 * the outbox with a dedupe key (one per workshop and person, ever) and enqueues its delivery at once.
 * The team's chat webhook (ALERT_WEBHOOK_URL) gets one signed post per workshop.
 */
export function alertJobHandlers(deps: { db: Db; jobs: JobSystem; publicUrl: string; webhook?: { url: string; secret: string } }): Record<string, JobHandler> {
  const { db, jobs } = deps;
  const live = (workshopId: string) =>
    db.workshop.findFirst({ where: { id: workshopId, status: 'PUBLISHED', deletedAt: null, startsAt: { gt: new Date() } }, select: { id: true, slug: true, titleEn: true, titlePl: true, startsAt: true, location: true, tags: true } });
  return {
    [PUBLISH_FAN_OUT]: {
      async run({ workshopId }: { workshopId: string }) {
        const workshop = await live(workshopId);
        if (!workshop) return { skipped: true };
        if (deps.webhook) await jobs.enqueue('alerts', [{ name: ALERT_WEBHOOK, id: `alert-${workshopId}-webhook`, data: { workshopId } }]);
        let after = '00000000-0000-0000-0000-000000000000';
        for (;;) {
          const chunk = await db.$queryRaw<{ id: string; preferences: Preferences }[]>`
            SELECT id, preferences FROM subscribers
            WHERE status = 'ACTIVE' AND erased_at IS NULL AND id > ${after}::uuid AND topics && ${workshop.tags}::text[] AND preferences->>'alerts' = 'INSTANT'
            ORDER BY id LIMIT ${CHUNK}`;
          if (chunk.length === 0) break;
          await jobs.enqueue(
            'alerts',
            chunk.map((s) => ({ name: ALERT, id: `alert-${workshopId}-${s.id}`, data: { workshopId, subscriberId: s.id }, delayMs: quietHoursDelay(s.preferences.quietHours, s.preferences.timeZone) })),
          );
          after = chunk[chunk.length - 1]!.id;
        }
        return { fannedOut: true };
      },
    },
    [ALERT]: {
      async run({ workshopId, subscriberId }: { workshopId: string; subscriberId: string }) {
        const workshop = await live(workshopId);
        if (!workshop) return { skipped: true };
        const payload = { workshopId, slug: workshop.slug, titleEn: workshop.titleEn, titlePl: workshop.titlePl, startsAt: workshop.startsAt.toISOString(), location: workshop.location };
        const [row] = await db.$queryRaw<{ id: string }[]>`
          INSERT INTO notifications_outbox (id, subscriber_id, kind, token, payload, dedupe_key, created_at)
          SELECT gen_random_uuid(), s.id, 'WORKSHOP_ALERT', '', ${JSON.stringify(payload)}::jsonb, ${`alert:${workshopId}:${subscriberId}`}, now()
          FROM subscribers s WHERE s.id = ${subscriberId}::uuid AND s.status = 'ACTIVE' AND s.erased_at IS NULL
          ON CONFLICT (dedupe_key) DO NOTHING
          RETURNING id`;
        // Sent now rather than at the relay's next poll (the relay still picks it up if this enqueue is lost).
        if (row) await jobs.enqueue('mail', [{ name: DELIVER_NOTIFICATION, id: `outbox-${row.id}`, data: { id: row.id } }]);
        return { queued: Boolean(row) };
      },
    },
    [ALERT_WEBHOOK]: {
      async run({ workshopId }: { workshopId: string }) {
        const workshop = await live(workshopId);
        if (!workshop || !deps.webhook) return { skipped: true };
        const url = new URL(`workshops/${encodeURIComponent(workshop.slug)}`, deps.publicUrl.endsWith('/') ? deps.publicUrl : `${deps.publicUrl}/`).toString();
        await postWebhook(deps.webhook.url, deps.webhook.secret, {
          text: `New workshop: ${workshop.titleEn}, ${workshop.startsAt.toISOString().slice(0, 16).replace('T', ' ')} UTC${workshop.location ? `, ${workshop.location}` : ''}: ${url}`,
          workshop: { id: workshop.id, slug: workshop.slug, title: workshop.titleEn, startsAt: workshop.startsAt.toISOString(), url },
        });
        return { posted: true };
      },
    },
  };
}
