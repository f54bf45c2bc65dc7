-- Polish search that finds inflected forms (warsztaty → warsztat, wydajność → wydajności). Postgres ships no
-- Polish stemmer, so queries also match the unaccented, lower-cased Polish (else English) title and
-- description word by word with pg_trgm's word similarity (src/modules/workshops/workshop-search.ts has
-- the threshold and the measurement that chose it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- unaccent() is STABLE (it reads its dictionary by search_path), so it cannot appear in an index. With the
-- dictionary named explicitly it only changes when the unaccent rules file does (then REINDEX the index
-- below), the usual reason to declare such a wrapper IMMUTABLE.
CREATE FUNCTION workshop_search_words(title_pl text, title_en text, description_pl text, description_en text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lower(public.unaccent('public.unaccent'::regdictionary,
    coalesce(title_pl, title_en, '') || E'\n' || coalesce(description_pl, description_en, '')))
$$;

CREATE INDEX "workshops_search_words_idx" ON "workshops"
  USING GIN ((workshop_search_words(title_pl, title_en, description_pl, description_en)) gin_trgm_ops);
