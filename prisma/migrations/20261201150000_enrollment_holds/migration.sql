-- Enrollments confirmed by mail: an unconfirmed enrollment holds its seat as PENDING (or its waitlist place as
-- WAITLISTED) until hold_expires_at, when the maintenance job releases it. The new value is not used in this
-- script (a value added in a transaction cannot be used before it commits).
-- AlterEnum
ALTER TYPE "EnrollmentStatus" ADD VALUE 'PENDING';

-- AlterTable
ALTER TABLE "enrollments" ADD COLUMN     "hold_expires_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "enrollments_hold_expires_at_idx" ON "enrollments"("hold_expires_at") WHERE (hold_expires_at IS NOT NULL);
