import pg from 'pg';

const TIMESTAMPTZ = 1184;
const pgParser = pg.types.getTypeParser(TIMESTAMPTZ, 'text') as (text: string) => Date;

/** Where `YYYY-MM-DD HH:MM:SS` has digits (1) and which separator elsewhere. */
const SHAPE = '1111-11-11 11:11:11';

const isDigit = (code: number) => code >= 48 && code <= 57;
const two = (text: string, at: number) => (text.charCodeAt(at) - 48) * 10 + text.charCodeAt(at + 1) - 48;

function hasShape(text: string): boolean {
  for (let at = 0; at < SHAPE.length; at += 1) {
    const expected = SHAPE.charCodeAt(at);
    if (expected === 49 ? !isDigit(text.charCodeAt(at)) : text.charCodeAt(at) !== expected) return false;
  }
  return true;
}

/**
 * A timestamptz as Postgres prints it (DateStyle ISO): `YYYY-MM-DD HH:MM:SS[.fraction]±HH[:MM[:SS]]`,
 * read digit by digit, allocating nothing but the Date. pg's parser (postgres-date) matches a regular
 * expression and builds an array of nine strings per value: with ~2,000 timestamps on the uncached
 * workshops page that was ~6 % of its CPU and a seventh of its allocations (README "Performance").
 * Milliseconds are the fraction's first three digits (Prisma's precision is 3). Any other shape (years
 * before 1000 or after 9999, BC, infinity) is left to pg's parser.
 */
export function parseTimestamptz(text: string): Date {
  const length = text.length;
  if (length < 22 || !hasShape(text)) return pgParser(text);
  let at = 19;
  let ms = 0;
  if (text.charCodeAt(at) === 46) {
    let scale = 100;
    for (at += 1; at < length && isDigit(text.charCodeAt(at)); at += 1) {
      ms += (text.charCodeAt(at) - 48) * scale;
      scale = (scale / 10) | 0;
    }
  }
  const signCode = text.charCodeAt(at);
  const sign = signCode === 43 ? 1 : signCode === 45 ? -1 : 0;
  // The offset: HH, then optionally :MM and :SS.
  let offset = 0;
  at += 1;
  for (let unit = 3600; unit >= 1; unit /= 60) {
    if (unit < 3600) {
      if (at === length) break;
      if (text.charCodeAt(at) !== 58) return pgParser(text);
      at += 1;
    }
    if (!isDigit(text.charCodeAt(at)) || !isDigit(text.charCodeAt(at + 1))) return pgParser(text);
    offset += two(text, at) * unit;
    at += 2;
  }
  const year = two(text, 0) * 100 + two(text, 2);
  if (sign === 0 || at !== length || year < 1000) return pgParser(text);
  return new Date(Date.UTC(year, two(text, 5) - 1, two(text, 8), two(text, 11), two(text, 14), two(text, 17), ms) - sign * offset * 1000);
}
