-- One question per position in a questionnaire. DEFERRABLE INITIALLY DEFERRED: adding, removing and
-- reordering shift positions row by row, which passes through duplicates until the transaction ends.
-- Hand-written: Prisma's schema declares @@unique([questionnaireId, position]) but cannot say deferrable.

-- Positions duplicated by earlier races (or gaps) become 0, 1, 2… in their current order first.
UPDATE "questions" AS q SET "position" = r.position
  FROM (SELECT "id", (row_number() OVER (PARTITION BY "questionnaire_id" ORDER BY "position", "created_at", "id") - 1)::int AS position FROM "questions") AS r
 WHERE q."id" = r."id" AND q."position" <> r.position;

-- The unique constraint's index serves the lookups the plain one did.
DROP INDEX "questions_questionnaire_id_position_idx";

ALTER TABLE "questions" ADD CONSTRAINT "questions_questionnaire_id_position_key" UNIQUE ("questionnaire_id", "position") DEFERRABLE INITIALLY DEFERRED;
