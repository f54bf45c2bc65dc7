-- CreateEnum
CREATE TYPE "QuestionnaireKind" AS ENUM ('PRE_WORKSHOP', 'POST_WORKSHOP', 'STANDALONE');

-- CreateEnum
CREATE TYPE "QuestionnaireStatus" AS ENUM ('DRAFT', 'OPEN', 'CLOSED');

-- CreateEnum
CREATE TYPE "QuestionType" AS ENUM ('SINGLE_CHOICE', 'MULTIPLE_CHOICE', 'TEXT', 'RATING', 'NPS');

-- CreateTable
CREATE TABLE "questionnaires" (
    "id" UUID NOT NULL,
    "workshop_id" UUID,
    "kind" "QuestionnaireKind" NOT NULL,
    "title_en" TEXT NOT NULL,
    "title_pl" TEXT,
    "intro_en" TEXT,
    "intro_pl" TEXT,
    "status" "QuestionnaireStatus" NOT NULL DEFAULT 'DRAFT',
    "opens_at" TIMESTAMPTZ(3),
    "closes_at" TIMESTAMPTZ(3),
    "allow_anonymous" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "questionnaires_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "questions" (
    "id" UUID NOT NULL,
    "questionnaire_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "type" "QuestionType" NOT NULL,
    "prompt_en" TEXT NOT NULL,
    "prompt_pl" TEXT,
    "options" JSONB NOT NULL DEFAULT '[]',
    "required" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "questions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "questionnaire_responses" (
    "id" UUID NOT NULL,
    "questionnaire_id" UUID NOT NULL,
    "subscriber_id" UUID,
    "answers" JSONB NOT NULL,
    "started_at" TIMESTAMPTZ(3),
    "submitted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completion_seconds" INTEGER,
    "idempotency_key" TEXT NOT NULL,

    CONSTRAINT "questionnaire_responses_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "questionnaires_workshop_id_idx" ON "questionnaires"("workshop_id");

-- CreateIndex
CREATE INDEX "questionnaires_status_created_at_idx" ON "questionnaires"("status", "created_at");

-- CreateIndex
CREATE INDEX "questions_questionnaire_id_position_idx" ON "questions"("questionnaire_id", "position");

-- CreateIndex
CREATE INDEX "questionnaire_responses_questionnaire_id_submitted_at_idx" ON "questionnaire_responses"("questionnaire_id", "submitted_at");

-- CreateIndex
CREATE UNIQUE INDEX "questionnaire_responses_questionnaire_id_idempotency_key_key" ON "questionnaire_responses"("questionnaire_id", "idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "questionnaire_responses_questionnaire_id_subscriber_id_key" ON "questionnaire_responses"("questionnaire_id", "subscriber_id");

-- AddForeignKey
ALTER TABLE "questionnaires" ADD CONSTRAINT "questionnaires_workshop_id_fkey" FOREIGN KEY ("workshop_id") REFERENCES "workshops"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "questions" ADD CONSTRAINT "questions_questionnaire_id_fkey" FOREIGN KEY ("questionnaire_id") REFERENCES "questionnaires"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "questionnaire_responses" ADD CONSTRAINT "questionnaire_responses_questionnaire_id_fkey" FOREIGN KEY ("questionnaire_id") REFERENCES "questionnaires"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "questionnaire_responses" ADD CONSTRAINT "questionnaire_responses_subscriber_id_fkey" FOREIGN KEY ("subscriber_id") REFERENCES "subscribers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Hand-written: answer look-ups ("who chose option X of question Q": answers @> '{"<Q>": "X"}') use a GIN index.
CREATE INDEX "questionnaire_responses_answers_idx" ON "questionnaire_responses" USING GIN ("answers" jsonb_path_ops);
