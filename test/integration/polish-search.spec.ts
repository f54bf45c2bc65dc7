import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, startTestApp, uniqueSlug, type TestApp } from '../testkit/app.js';

/** Twelve workshops with Polish text; English text that matches none of the queries. */
const CORPUS: Record<number, [title: string, description: string]> = {
  1: ['Warsztat GraphQL dla zespołów frontendowych', 'Projektowanie schematów i zapytań.'],
  2: ['Wydajność aplikacji React', 'Mierzymy i poprawiamy wydajność renderowania.'],
  3: ['Optymalizacja wydajności baz danych', 'Indeksy, plany zapytań i monitorowanie.'],
  4: ['Projektowanie API', 'Dobre praktyki projektowania interfejsów REST i GraphQL.'],
  5: ['Warsztaty z testowania', 'Testy jednostkowe i integracyjne w TypeScript.'],
  6: ['Bezpieczeństwo aplikacji webowych', 'OWASP Top 10 w praktyce.'],
  7: ['Dostępność stron internetowych', 'WCAG i czytniki ekranu.'],
  8: ['Wprowadzenie do Kubernetes', 'Kontenery, wdrożenia i skalowanie.'],
  9: ['Projekt systemu rozproszonego', 'Kolejki, replikacja i spójność danych.'],
  10: ['Warszawa: spotkanie społeczności', 'Networking dla programistów.'],
  11: ['Wydawanie aplikacji mobilnych', 'Publikacja w sklepach.'],
  12: ['Szkolenie z zapytań SQL', 'Warsztatowa sesja o indeksach.'],
};

/** Query → the workshops a Polish reader expects (every word must match). */
const LABELLED: [query: string, relevant: number[]][] = [
  ['warsztaty', [1, 5, 12]],
  ['warsztat', [1, 5, 12]],
  ['warsztatów', [1, 5, 12]],
  ['wydajność', [2, 3]],
  ['wydajnosc', [2, 3]],
  ['wydajności', [2, 3]],
  ['projektowania', [1, 4]],
  ['projektowanie', [1, 4]],
  ['testowanie', [5]],
  ['bezpieczenstwo', [6]],
  ['baz danych', [3]],
  ['dostepnosc', [7]],
  ['kubernetes', [8]],
  ['zapytania', [1, 3, 12]],
  ['spójności', [9]],
  ['warszawa', [10]],
  ['wydawanie', [11]],
  ['react', [2]],
  ['indeksy', [3, 12]],
  ['warsztaty graphql', [1]],
  ['kontenerów', [8]],
];

const SEARCH = `query ($search: String!, $first: Int = 50, $after: String) {
  workshops(first: $first, after: $after, filter: { search: $search }) { edges { cursor node { slug } } pageInfo { endCursor hasNextPage } }
}`;

describe.each([
  { name: 'Postgres 15', embedded: false },
  { name: 'the embedded database', embedded: true },
])('Polish search that finds inflected forms, on $name', ({ embedded }) => {
  let app: TestApp;
  const number = new Map<string, number>();

  beforeAll(async () => {
    app = await startTestApp({ embedded });
    const start = Date.now() + 7 * 24 * 3600_000;
    for (const [n, [title, description]] of Object.entries(CORPUS)) {
      const slug = uniqueSlug(`pl-${n}`);
      number.set(slug, Number(n));
      const startsAt = new Date(start + Number(n) * 3600_000);
      const created = dataOf(
        await app.gql<{ createWorkshop: { id: string } }>(
          `mutation ($input: CreateWorkshopInput!) { createWorkshop(input: $input) { id } }`,
          {
            input: {
              slug,
              title: { en: `Session ${n}`, pl: title },
              description: { en: 'Held in Polish.', pl: description },
              startsAt: startsAt.toISOString(),
              endsAt: new Date(startsAt.getTime() + 3600_000).toISOString(),
              timezone: 'Europe/Warsaw',
              capacity: 10,
              location: 'Kraków',
            },
          },
          { key: app.keys.editor },
        ),
      ).createWorkshop;
      dataOf(await app.gql(`mutation ($id: ID!) { publishWorkshop(id: $id) { id } }`, { id: created.id }, { key: app.keys.editor }));
    }
  }, 120_000);
  afterAll(() => app?.close());

  const found = async (search: string) =>
    dataOf(await app.gql(SEARCH, { search })).workshops.edges.map((e: any) => number.get(e.node.slug)!) as number[];

  it('has precision and recall of at least 0.95 on the labelled set', async () => {
    let hits = 0;
    let returned = 0;
    let relevant = 0;
    const misses: unknown[] = [];
    for (const [query, expected] of LABELLED) {
      const got = await found(query);
      hits += got.filter((n) => expected.includes(n)).length;
      returned += got.length;
      relevant += expected.length;
      if ([...got].sort((a, b) => a - b).join() !== expected.join()) misses.push({ query, expected, got });
    }
    const precision = hits / returned;
    const recall = hits / relevant;
    console.info(`Polish search on ${LABELLED.length} labelled queries: precision ${precision.toFixed(2)}, recall ${recall.toFixed(2)}`);
    expect(precision, JSON.stringify(misses)).toBeGreaterThanOrEqual(0.95);
    expect(recall, JSON.stringify(misses)).toBeGreaterThanOrEqual(0.95);
  });

  it('finds the issue’s examples with and without diacritics, exact forms ranked first', async () => {
    expect(await found('warsztaty')).toEqual(expect.arrayContaining([1, 5]));
    expect(await found('wydajność')).toEqual([2, 3]);
    expect(await found('wydajnosc')).toEqual([2, 3]);
    expect(await found('wydajnosci')).toEqual([3, 2]);
    expect(await found('projektowania')).toEqual([4, 1]);
    expect(await found('PROJEKTOWANIE')).toEqual([4, 1]);
  });

  it('pages through relevance-ranked results with cursors', async () => {
    const first = dataOf(await app.gql(SEARCH, { search: 'warsztaty', first: 2 })).workshops;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = dataOf(await app.gql(SEARCH, { search: 'warsztaty', first: 2, after: first.pageInfo.endCursor })).workshops;
    const all = [...first.edges, ...rest.edges].map((e: any) => number.get(e.node.slug));
    expect(all.sort((a, b) => a! - b!)).toEqual([1, 5, 12]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });
});
