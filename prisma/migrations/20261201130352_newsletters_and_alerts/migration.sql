-- Newsletters and their deliveries (one row per newsletter and subscriber); a dedupe key on the outbox (instant alerts: one per workshop and person, ever).
-- CreateEnum
CREATE TYPE "NewsletterStatus" AS ENUM ('DRAFT', 'SCHEDULED', 'SENDING', 'SENT', 'CANCELLED');

-- CreateEnum
CREATE TYPE "DeliveryStatus" AS ENUM ('QUEUED', 'RENDERED', 'SENT', 'FAILED', 'SKIPPED');

-- AlterTable
ALTER TABLE "notifications_outbox" ADD COLUMN     "dedupe_key" TEXT;

-- CreateTable
CREATE TABLE "newsletters" (
    "id" UUID NOT NULL,
    "subject_en" TEXT NOT NULL,
    "subject_pl" TEXT,
    "intro_en" TEXT NOT NULL,
    "intro_pl" TEXT,
    "topics" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "frequency" TEXT,
    "status" "NewsletterStatus" NOT NULL DEFAULT 'DRAFT',
    "scheduled_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "newsletters_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "newsletter_deliveries" (
    "id" UUID NOT NULL,
    "newsletter_id" UUID NOT NULL,
    "subscriber_id" UUID NOT NULL,
    "status" "DeliveryStatus" NOT NULL DEFAULT 'QUEUED',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "claimed_until" TIMESTAMPTZ(3),
    "sent_at" TIMESTAMPTZ(3),
    "opened_at" TIMESTAMPTZ(3),
    "clicked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "newsletter_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "newsletters_status_scheduled_at_idx" ON "newsletters"("status", "scheduled_at");

-- CreateIndex
CREATE INDEX "newsletter_deliveries_newsletter_id_status_idx" ON "newsletter_deliveries"("newsletter_id", "status");

-- CreateIndex
CREATE INDEX "newsletter_deliveries_subscriber_id_idx" ON "newsletter_deliveries"("subscriber_id");

-- CreateIndex
CREATE UNIQUE INDEX "newsletter_deliveries_newsletter_id_subscriber_id_key" ON "newsletter_deliveries"("newsletter_id", "subscriber_id");

-- CreateIndex
CREATE UNIQUE INDEX "notifications_outbox_dedupe_key_key" ON "notifications_outbox"("dedupe_key");

-- AddForeignKey
ALTER TABLE "newsletter_deliveries" ADD CONSTRAINT "newsletter_deliveries_newsletter_id_fkey" FOREIGN KEY ("newsletter_id") REFERENCES "newsletters"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "newsletter_deliveries" ADD CONSTRAINT "newsletter_deliveries_subscriber_id_fkey" FOREIGN KEY ("subscriber_id") REFERENCES "subscribers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
