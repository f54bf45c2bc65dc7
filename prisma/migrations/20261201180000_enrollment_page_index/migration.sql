-- Each workshop's enrollments in joining order: a page of its first N enrollments (the workshop page's
-- LATERAL, the enrollments connection) reads N index entries instead of every enrollment of the workshop
-- and sorting them. A plain CREATE INDEX (migrations run in a transaction) blocks writes to enrollments
-- while it builds: about a second per million rows.
-- CreateIndex
CREATE INDEX "enrollments_workshop_id_created_at_id_idx" ON "enrollments"("workshop_id", "created_at", "id");
