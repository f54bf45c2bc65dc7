-- Instant alerts go through the transactional outbox: publishing sets alerts_due_at in its own
-- transaction, the relay enqueues the fan-out and clears it, so a Redis outage at publish delays the
-- alerts instead of losing them.
-- AlterTable
ALTER TABLE "workshops" ADD COLUMN "alerts_due_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "workshops_alerts_due_idx" ON "workshops"("alerts_due_at") WHERE (alerts_due_at IS NOT NULL);
