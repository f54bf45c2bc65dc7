-- CreateEnum
CREATE TYPE "Locale" AS ENUM ('EN', 'PL');

-- CreateEnum
CREATE TYPE "WorkshopStatus" AS ENUM ('DRAFT', 'PUBLISHED', 'ARCHIVED');

-- CreateEnum
CREATE TYPE "EnrollmentStatus" AS ENUM ('ENROLLED', 'WAITLISTED', 'CANCELLED', 'ATTENDED');

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('ADMIN', 'EDITOR', 'PARTNER');

-- CreateTable
CREATE TABLE "topics" (
    "slug" TEXT NOT NULL,
    "name_en" TEXT NOT NULL,
    "name_pl" TEXT NOT NULL,

    CONSTRAINT "topics_pkey" PRIMARY KEY ("slug")
);

-- CreateTable
CREATE TABLE "workshops" (
    "id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "title_en" TEXT NOT NULL,
    "title_pl" TEXT,
    "description_en" TEXT NOT NULL,
    "description_pl" TEXT,
    "status" "WorkshopStatus" NOT NULL DEFAULT 'DRAFT',
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "ends_at" TIMESTAMPTZ(3) NOT NULL,
    "timezone" TEXT NOT NULL,
    "capacity" INTEGER NOT NULL,
    "location" TEXT,
    "online_url" TEXT,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),
    "search_en" tsvector,
    "search_pl" tsvector,

    CONSTRAINT "workshops_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "subscribers" (
    "id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT,
    "locale" "Locale" NOT NULL DEFAULT 'EN',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "subscribers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enrollments" (
    "id" UUID NOT NULL,
    "workshop_id" UUID NOT NULL,
    "subscriber_id" UUID NOT NULL,
    "status" "EnrollmentStatus" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "cancelled_at" TIMESTAMPTZ(3),

    CONSTRAINT "enrollments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "client" TEXT,
    "key_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "workshops_slug_key" ON "workshops"("slug");

-- CreateIndex
CREATE INDEX "workshops_live_status_starts_at_idx" ON "workshops"("status", "starts_at") WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE UNIQUE INDEX "subscribers_email_key" ON "subscribers"("email");

-- CreateIndex
CREATE INDEX "enrollments_workshop_id_status_idx" ON "enrollments"("workshop_id", "status");

-- CreateIndex
CREATE INDEX "enrollments_subscriber_id_idx" ON "enrollments"("subscriber_id");

-- CreateIndex
CREATE UNIQUE INDEX "enrollments_workshop_id_subscriber_id_key" ON "enrollments"("workshop_id", "subscriber_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");

-- AddForeignKey
ALTER TABLE "enrollments" ADD CONSTRAINT "enrollments_workshop_id_fkey" FOREIGN KEY ("workshop_id") REFERENCES "workshops"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "enrollments" ADD CONSTRAINT "enrollments_subscriber_id_fkey" FOREIGN KEY ("subscriber_id") REFERENCES "subscribers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Hand-written: objects the Prisma schema cannot express. Index names are listed in
-- PRISMA_UNMANAGED_INDEXES so diffs never propose dropping them.
CREATE EXTENSION IF NOT EXISTS unaccent;

-- Search vectors: English stemming for English text; Postgres ships no Polish configuration, so
-- Polish text (falling back to English) uses `simple` over unaccent. unaccent() is not IMMUTABLE,
-- so a trigger fills the columns instead of GENERATED expressions.
CREATE FUNCTION workshops_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_en :=
    setweight(to_tsvector('english', coalesce(NEW.title_en, '')), 'A') ||
    setweight(to_tsvector('english', coalesce(NEW.description_en, '')), 'B');
  NEW.search_pl :=
    setweight(to_tsvector('simple', unaccent(coalesce(NEW.title_pl, NEW.title_en, ''))), 'A') ||
    setweight(to_tsvector('simple', unaccent(coalesce(NEW.description_pl, NEW.description_en, ''))), 'B');
  RETURN NEW;
END
$$;

CREATE TRIGGER workshops_search_refresh
  BEFORE INSERT OR UPDATE OF title_en, title_pl, description_en, description_pl ON "workshops"
  FOR EACH ROW EXECUTE FUNCTION workshops_search_refresh();

CREATE INDEX "workshops_search_en_idx" ON "workshops" USING GIN ("search_en");
CREATE INDEX "workshops_search_pl_idx" ON "workshops" USING GIN ("search_pl");

-- The managed topic list (slug + en/pl name); workshops and subscribers refer to these slugs.
INSERT INTO "topics" ("slug", "name_en", "name_pl") VALUES
  ('accessibility', 'Accessibility', 'Dostępność'),
  ('backend', 'Backend', 'Backend'),
  ('data', 'Data', 'Dane'),
  ('databases', 'Databases', 'Bazy danych'),
  ('design', 'Design', 'Projektowanie'),
  ('devops', 'DevOps', 'DevOps'),
  ('frontend', 'Frontend', 'Frontend'),
  ('graphql', 'GraphQL', 'GraphQL'),
  ('performance', 'Performance', 'Wydajność'),
  ('product', 'Product', 'Produkt'),
  ('security', 'Security', 'Bezpieczeństwo'),
  ('testing', 'Testing', 'Testowanie'),
  ('typescript', 'TypeScript', 'TypeScript');
