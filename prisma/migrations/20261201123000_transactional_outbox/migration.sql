-- The outbox becomes transactional: the relay's bookkeeping (enqueued, claimed, attempts, last error, dead) and a payload for templates.
-- AlterTable
ALTER TABLE "notifications_outbox" ADD COLUMN     "attempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "claimed_until" TIMESTAMPTZ(3),
ADD COLUMN     "enqueued_at" TIMESTAMPTZ(3),
ADD COLUMN     "failed_at" TIMESTAMPTZ(3),
ADD COLUMN     "last_error" TEXT,
ADD COLUMN     "payload" JSONB NOT NULL DEFAULT '{}';

-- CreateIndex
CREATE INDEX "notifications_outbox_unsent_idx" ON "notifications_outbox"("created_at") WHERE (sent_at IS NULL AND failed_at IS NULL);

-- Rows written before anything was sent hold links that have expired (confirmation links last a week): not sent now.
UPDATE "notifications_outbox" SET "failed_at" = now(), "last_error" = 'older than a week when the mailer was introduced'
WHERE "sent_at" IS NULL AND "created_at" < now() - interval '7 days';
