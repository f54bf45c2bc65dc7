import type { Locale } from '../../shared/locale.js';
import { escapeHtml, type RenderedMail } from '../notifications/templates.js';

export interface NewsletterWorkshop {
  slug: string;
  title: string;
  startsAt: Date;
  location: string | null;
}

export interface NewsletterContent {
  locale: Locale;
  name: string | null;
  subject: string;
  intro: string;
  workshops: NewsletterWorkshop[];
  workshopUrl(slug: string): string;
  unsubscribeUrl: string;
  pixelUrl: string;
}

const COPY = {
  EN: { hello: (n: string | null) => (n ? `Hello ${n},` : 'Hello,'), upcoming: 'Upcoming workshops', none: 'No workshops on your topics are scheduled right now; we will write when there are.', online: 'online', why: 'You receive this because you subscribed to our workshops newsletter.', unsubscribe: 'Unsubscribe' },
  PL: { hello: (n: string | null) => (n ? `Cześć ${n},` : 'Cześć,'), upcoming: 'Nadchodzące warsztaty', none: 'Na razie nie ma zaplanowanych warsztatów z Twoich tematów; napiszemy, gdy się pojawią.', online: 'online', why: 'Otrzymujesz tę wiadomość, bo zapisałeś/zapisałaś się na nasz newsletter o warsztatach.', unsubscribe: 'Wypisz mnie' },
} as const;

/** A newsletter in the subscriber's language: the intro, then the upcoming workshops on their topics, with tracked links. */
export function renderNewsletter(content: NewsletterContent): RenderedMail {
  const copy = COPY[content.locale] ?? COPY.EN;
  const date = new Intl.DateTimeFormat(content.locale === 'PL' ? 'pl-PL' : 'en-GB', { dateStyle: 'full', timeStyle: 'short', timeZone: 'UTC' });
  const lines = content.workshops.map((w) => ({ title: w.title, when: `${date.format(w.startsAt)} UTC`, where: w.location ?? copy.online, url: content.workshopUrl(w.slug) }));
  const text = [
    copy.hello(content.name),
    '',
    content.intro,
    '',
    `${copy.upcoming}:`,
    ...(lines.length ? lines.map((l) => `- ${l.title} (${l.when}, ${l.where})\n  ${l.url}`) : [copy.none]),
    '',
    '--',
    copy.why,
    `${copy.unsubscribe}: ${content.unsubscribeUrl}`,
    '',
  ].join('\n');
  const html = `<!doctype html><html lang="${content.locale.toLowerCase()}"><head><meta charset="utf-8"><title>${escapeHtml(content.subject)}</title></head>
<body style="font-family:system-ui,sans-serif;line-height:1.5;max-width:38rem;margin:auto;padding:1rem">
<p>${escapeHtml(copy.hello(content.name))}</p>
${content.intro.split(/\n{2,}/).map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
<h2 style="font-size:1.15rem">${escapeHtml(copy.upcoming)}</h2>
${lines.length ? `<ul>${lines.map((l) => `<li><a href="${escapeHtml(l.url)}">${escapeHtml(l.title)}</a><br><small>${escapeHtml(l.when)} · ${escapeHtml(l.where)}</small></li>`).join('')}</ul>` : `<p>${escapeHtml(copy.none)}</p>`}
<hr><p style="font-size:.85em;color:#555">${escapeHtml(copy.why)} <a href="${escapeHtml(content.unsubscribeUrl)}">${escapeHtml(copy.unsubscribe)}</a></p>
<img src="${escapeHtml(content.pixelUrl)}" width="1" height="1" alt="">
</body></html>`;
  return { subject: content.subject, text, html };
}
