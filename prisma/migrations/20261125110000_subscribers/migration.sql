-- CreateEnum
CREATE TYPE "SubscriberStatus" AS ENUM ('PENDING', 'ACTIVE', 'UNSUBSCRIBED', 'BOUNCED');

-- CreateEnum
CREATE TYPE "Plan" AS ENUM ('FREE', 'PREMIUM');

-- CreateEnum
CREATE TYPE "SubscriptionStatus" AS ENUM ('ACTIVE', 'CANCELLED', 'EXPIRED');

-- AlterTable
ALTER TABLE "subscribers" ADD COLUMN     "confirmed_at" TIMESTAMPTZ(3),
ADD COLUMN     "erased_at" TIMESTAMPTZ(3),
ADD COLUMN     "preferences" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "source" TEXT,
ADD COLUMN     "status" "SubscriberStatus",
ADD COLUMN     "topics" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "unsubscribed_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "subscriptions" (
    "id" UUID NOT NULL,
    "subscriber_id" UUID NOT NULL,
    "plan" "Plan" NOT NULL,
    "status" "SubscriptionStatus" NOT NULL DEFAULT 'ACTIVE',
    "expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "subscriptions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notifications_outbox" (
    "id" UUID NOT NULL,
    "subscriber_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMPTZ(3),

    CONSTRAINT "notifications_outbox_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "subscriptions_subscriber_id_status_expires_at_idx" ON "subscriptions"("subscriber_id", "status", "expires_at");

-- CreateIndex
CREATE INDEX "notifications_outbox_sent_at_created_at_idx" ON "notifications_outbox"("sent_at", "created_at");

-- CreateIndex
CREATE INDEX "notifications_outbox_subscriber_id_idx" ON "notifications_outbox"("subscriber_id");

-- CreateIndex
CREATE INDEX "subscribers_status_locale_idx" ON "subscribers"("status", "locale");

-- CreateIndex
CREATE INDEX "subscribers_active_topics_idx" ON "subscribers" USING GIN ("topics") WHERE (status = 'ACTIVE');

-- CreateIndex
CREATE INDEX "subscribers_preferences_idx" ON "subscribers" USING GIN ("preferences" jsonb_path_ops);

-- CreateIndex
CREATE INDEX "subscribers_created_at_id_idx" ON "subscribers"("created_at", "id");

-- AddForeignKey
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_subscriber_id_fkey" FOREIGN KEY ("subscriber_id") REFERENCES "subscribers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notifications_outbox" ADD CONSTRAINT "notifications_outbox_subscriber_id_fkey" FOREIGN KEY ("subscriber_id") REFERENCES "subscribers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
