export const LOCALES = ['EN', 'PL'] as const;
export type Locale = (typeof LOCALES)[number];

/** Picks EN or PL from an Accept-Language header, honouring q-values; EN when neither is acceptable. */
export function localeFromAcceptLanguage(header: string | null | undefined): Locale {
  if (!header) return 'EN';
  const ranked = header
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { lang: tag.trim().slice(0, 2).toLowerCase(), q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((entry) => entry.q > 0 && !Number.isNaN(entry.q))
    .sort((a, b) => b.q - a.q);
  for (const { lang } of ranked) {
    if (lang === 'pl') return 'PL';
    if (lang === 'en') return 'EN';
  }
  return 'EN';
}

/** Polish text falls back to English when missing. */
export function localized(locale: Locale, en: string, pl: string | null | undefined): string {
  return locale === 'PL' && pl ? pl : en;
}
