-- Topics become editable: an optional Polish name, timestamps, and retirement (a retired topic stays where it is used, but cannot be chosen anew).
-- AlterTable
ALTER TABLE "topics" ADD COLUMN     "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "retired_at" TIMESTAMPTZ(3),
ADD COLUMN     "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ALTER COLUMN "name_pl" DROP NOT NULL;
