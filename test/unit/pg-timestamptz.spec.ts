import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { parseTimestamptz } from '../../src/infra/pg-timestamptz.js';

const pgParser = pg.types.getTypeParser(1184, 'text') as (text: string) => Date;

describe('parseTimestamptz', () => {
  const samples = [
    '2026-12-01 22:12:44.123+00',
    '2026-12-01 22:12:44+00',
    '2026-12-01 22:12:44.1+00',
    '2026-12-01 22:12:44.12+00',
    '2026-12-01 22:12:44.123456+00',
    '2026-12-01 22:12:44.999999+00',
    '2026-03-29 02:30:00.5+02',
    '2026-10-25 01:59:59.999-07',
    '1999-12-31 23:59:59.001+05:30',
    '1880-01-01 00:00:00+01:24:00',
    '1880-01-01 00:00:00-00:19:32',
    '2024-02-29 12:00:00+14',
    '1000-01-01 00:00:00+00',
    '9999-12-31 23:59:59.999+00',
  ];

  it.each(samples)('reads %s as pg does', (text) => {
    expect(parseTimestamptz(text).getTime()).toBe(pgParser(text).getTime());
  });

  it('matches pg for every millisecond of a second and random instants', () => {
    for (let ms = 0; ms < 1000; ms += 1) {
      const text = `2026-06-15 10:20:30.${String(ms).padStart(3, '0')}+00`;
      expect(parseTimestamptz(text).getTime()).toBe(Date.parse('2026-06-15T10:20:30Z') + ms);
    }
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647);
    for (let i = 0; i < 2000; i += 1) {
      const at = new Date(Date.UTC(1970, 0, 1) + (next() % 2_000_000_000) * 1000 + (next() % 1000));
      const offsetMinutes = ((next() % 57) - 28) * 30;
      const local = new Date(at.getTime() + offsetMinutes * 60_000).toISOString().replace('T', ' ').replace('Z', '');
      const sign = offsetMinutes < 0 ? '-' : '+';
      const abs = Math.abs(offsetMinutes);
      const text = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${abs % 60 ? `:${String(abs % 60).padStart(2, '0')}` : ''}`;
      expect(parseTimestamptz(text).getTime(), text).toBe(at.getTime());
    }
  });

  it.each(['infinity', '-infinity', '0044-03-15 12:00:00+00 BC', '0099-01-01 00:00:00+00', '12026-01-01 00:00:00+00', '2026-12-01 22:12:44.123+00 BC'])(
    'leaves %s to pg',
    (text) => {
      const ours = parseTimestamptz(text);
      const theirs = pgParser(text);
      expect(String(ours)).toBe(String(theirs));
    },
  );

  it('refuses nothing pg would read differently: malformed offsets go to pg', () => {
    for (const text of ['2026-12-01 22:12:44+0', '2026-12-01 22:12:44+00:3', '2026-12-01 22:12:44+00x', '2026-12-01 22:12:44 +00']) {
      expect(String(parseTimestamptz(text)), text).toBe(String(pgParser(text)));
    }
  });
});
