-- Revisions and audit: one row per editor write, written in the write's transaction.
-- changes holds { field: { before, after } }; rows about a person (subscriber_id) are scrubbed when they are erased.
-- CreateTable
CREATE TABLE "audit_events" (
    "id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_key_id" UUID,
    "actor_name" TEXT NOT NULL,
    "actor_role" TEXT,
    "entity_type" TEXT NOT NULL,
    "entity_id" TEXT NOT NULL,
    "root_type" TEXT NOT NULL,
    "root_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "changes" JSONB NOT NULL DEFAULT '{}',
    "subscriber_id" UUID,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_events_root_type_root_id_created_at_id_idx" ON "audit_events"("root_type", "root_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "audit_events_created_at_id_idx" ON "audit_events"("created_at", "id");

-- CreateIndex
CREATE INDEX "audit_events_subscriber_id_idx" ON "audit_events"("subscriber_id");
