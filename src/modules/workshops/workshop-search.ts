import { Prisma } from '../../generated/prisma/client.js';
import { ValidationError } from '../../shared/errors.js';

/**
 * Full-text search over workshops, in one place for the filter and the RELEVANCE order.
 *
 * English: the `english` snowball stemmer (search_en). Polish: Postgres has no Polish stemmer, and the
 * exact-word `simple` vector (search_pl) found "warsztat" but not "warsztaty". Each query word of
 * three or more letters therefore also matches when its pg_trgm word similarity to some stretch of
 * the unaccented Polish text (searchWords, the expression of an index) is at least WORD_SIMILARITY. Measured on the labelled set in
 * test/integration/polish-search.spec.ts (21 queries, 12 workshops; precision / recall): the simple vector
 * alone 1.00 / 0.46; trigrams at 0.5: 0.78 / 1.00, at 0.6: 1.00 / 1.00, at 0.7: 1.00 / 1.00, at 0.8:
 * 1.00 / 0.80. 0.6 keeps a margin for stem alternations the set lacks ("warsztaty" scores 0.70 against
 * "warsztacie"), and is pg_trgm's default, so `<%` can use the GIN trigram index without a per-session SET.
 */
export const WORD_SIMILARITY = 0.6;

const MAX_SEARCH_LENGTH = 200;
/** Words shorter than this have too few trigrams to tell words apart ("z", "do"). */
const MIN_FUZZY_WORD = 3;
const MAX_FUZZY_WORDS = 8;

export interface WorkshopSearch {
  text: string;
  /** Unaccented in SQL; every one must match (AND). */
  words: string[];
}

/** The trimmed search, or null when there is none; over-long text is BAD_USER_INPUT. */
export function parseSearch(search: string | null | undefined): WorkshopSearch | null {
  const text = search?.trim();
  if (!text) return null;
  if (text.length > MAX_SEARCH_LENGTH) {
    throw new ValidationError(`Search text must be at most ${MAX_SEARCH_LENGTH} characters`, [
      { path: 'filter.search', message: `must be at most ${MAX_SEARCH_LENGTH} characters` },
    ]);
  }
  const words = [...new Set((text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length >= MIN_FUZZY_WORD))].slice(0, MAX_FUZZY_WORDS);
  return { text, words };
}

const english = (s: WorkshopSearch) => Prisma.sql`websearch_to_tsquery('english', ${s.text})`;
const simple = (s: WorkshopSearch) => Prisma.sql`websearch_to_tsquery('simple', unaccent(${s.text}))`;
const word = (w: string) => Prisma.sql`lower(unaccent(${w}))`;
/** Exactly the indexed expression (migration polish_inflected_search), so `<%` can use the index. */
const searchWords = Prisma.sql`workshop_search_words(w.title_pl, w.title_en, w.description_pl, w.description_en)`;

/** Matches: English stems, exact Polish words (with websearch syntax), or every word by trigram similarity. */
export function searchCondition(s: WorkshopSearch): Prisma.Sql {
  const branches = [Prisma.sql`w.search_en @@ ${english(s)}`, Prisma.sql`w.search_pl @@ ${simple(s)}`];
  if (s.words.length > 0) {
    // `<%` uses the index (at pg_trgm's threshold); the explicit bound keeps the rule if that setting changes.
    const fuzzy = s.words.map((w) => Prisma.sql`(${word(w)} <% ${searchWords} AND word_similarity(${word(w)}, ${searchWords}) >= ${WORD_SIMILARITY})`);
    branches.push(Prisma.sql`(${Prisma.join(fuzzy, ' AND ')})`);
  }
  return Prisma.sql`(${Prisma.join(branches, ' OR ')})`;
}

/**
 * Relevance (real, so it survives the cursor round trip): the best of the English and Polish ranks and
 * the words' mean similarity, where exact forms score above inflected ones and a title match adds a little.
 */
export function searchRank(s: WorkshopSearch): Prisma.Sql {
  const ranks = [Prisma.sql`ts_rank(w.search_en, ${english(s)})`, Prisma.sql`ts_rank(w.search_pl, ${simple(s)})`];
  if (s.words.length > 0) {
    const title = Prisma.sql`lower(unaccent(coalesce(w.title_pl, w.title_en)))`;
    const perWord = s.words.map((w) => Prisma.sql`(0.8 * word_similarity(${word(w)}, ${searchWords}) + 0.2 * word_similarity(${word(w)}, ${title}))`);
    ranks.push(Prisma.sql`(${Prisma.join(perWord, ' + ')}) / ${s.words.length}`);
  }
  return Prisma.sql`(greatest(${Prisma.join(ranks, ', ')}))::real`;
}
