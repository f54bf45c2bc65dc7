import type { Locale } from '../../shared/locale.js';

/** What a template gets: the person, the outbox row's token and payload, and links built from PUBLIC_URL. */
export interface TemplateInput {
  kind: string;
  locale: Locale;
  name: string | null;
  token: string;
  payload: Record<string, unknown>;
  links: MailLinks;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** Absolute links for a message (PUBLIC_URL + the API's /mail/* pages). */
export class MailLinks {
  constructor(private readonly publicUrl: string) {}
  private url(path: string, token: string): string {
    const url = new URL(path, this.publicUrl.endsWith('/') ? this.publicUrl : `${this.publicUrl}/`);
    url.searchParams.set('token', token);
    return url.toString();
  }
  confirm = (token: string) => this.url('mail/confirm', token);
  unsubscribe = (manageToken: string) => this.url('mail/unsubscribe', manageToken);
  workshop = (slug: string) => new URL(`workshops/${encodeURIComponent(slug)}`, this.publicUrl.endsWith('/') ? this.publicUrl : `${this.publicUrl}/`).toString();
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

interface Copy {
  subject: string;
  /** Paragraphs; `{link}` marks where the action link goes. */
  body: string[];
  action?: { label: string; href: (input: TemplateInput) => string };
}

type Template = Record<Locale, (input: TemplateInput) => Copy>;

const greeting = (locale: Locale, name: string | null) => (locale === 'PL' ? (name ? `Cześć ${name},` : 'Cześć,') : name ? `Hello ${name},` : 'Hello,');

const TEMPLATES: Record<string, Template> = {
  CONFIRM_SUBSCRIPTION: {
    EN: () => ({
      subject: 'Confirm your subscription to the workshops newsletter',
      body: ['Someone (we hope you) asked to receive our workshops newsletter at this address.', 'Confirm with the button below; the link is valid for 7 days. If it was not you, ignore this message and nothing will happen.'],
      action: { label: 'Confirm my subscription', href: (i) => i.links.confirm(i.token) },
    }),
    PL: () => ({
      subject: 'Potwierdź subskrypcję newslettera o warsztatach',
      body: ['Ktoś (mamy nadzieję, że Ty) poprosił o newsletter o warsztatach na ten adres.', 'Potwierdź przyciskiem poniżej; link jest ważny 7 dni. Jeśli to nie Ty, zignoruj tę wiadomość i nic się nie stanie.'],
      action: { label: 'Potwierdzam subskrypcję', href: (i) => i.links.confirm(i.token) },
    }),
  },
  ALREADY_SUBSCRIBED: {
    EN: () => ({
      subject: 'You are already subscribed',
      body: ['Someone tried to subscribe this address again; you are already receiving our newsletter and nothing was changed.', 'To stop receiving it, use the link below.'],
      action: { label: 'Unsubscribe', href: (i) => i.links.unsubscribe(i.token) },
    }),
    PL: () => ({
      subject: 'Już subskrybujesz nasz newsletter',
      body: ['Ktoś ponownie zapisał ten adres; już otrzymujesz nasz newsletter i nic nie zostało zmienione.', 'Aby zrezygnować, użyj linku poniżej.'],
      action: { label: 'Wypisz mnie', href: (i) => i.links.unsubscribe(i.token) },
    }),
  },
  WORKSHOP_ALERT: {
    EN: (i) => ({
      subject: `New workshop: ${String(i.payload.titleEn)}`,
      body: [`A new workshop on one of your topics was just published: ${String(i.payload.titleEn)}, ${when(i, 'en-GB')}${i.payload.location ? `, ${String(i.payload.location)}` : ''}.`, 'Seats are limited; enroll from the workshop page.'],
      action: { label: 'See the workshop', href: (i) => i.links.workshop(String(i.payload.slug)) },
    }),
    PL: (i) => ({
      subject: `Nowy warsztat: ${String(i.payload.titlePl ?? i.payload.titleEn)}`,
      body: [`Właśnie opublikowaliśmy nowy warsztat z Twoich tematów: ${String(i.payload.titlePl ?? i.payload.titleEn)}, ${when(i, 'pl-PL')}${i.payload.location ? `, ${String(i.payload.location)}` : ''}.`, 'Liczba miejsc jest ograniczona; zapisz się na stronie warsztatu.'],
      action: { label: 'Zobacz warsztat', href: (i) => i.links.workshop(String(i.payload.slug)) },
    }),
  },
};

const when = (i: TemplateInput, locale: string) =>
  `${new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(String(i.payload.startsAt)))} UTC`;

/** Subject, plain text and HTML in the person's language (English when a template has no Polish). */
export function render(input: TemplateInput): RenderedMail {
  const template = TEMPLATES[input.kind];
  if (!template) throw new Error(`no template for ${input.kind}`);
  const copy = (template[input.locale] ?? template.EN)(input);
  const href = copy.action?.href(input);
  const hello = greeting(input.locale, input.name);
  const text = [hello, '', ...copy.body.flatMap((p) => [p, '']), ...(href ? [`${copy.action!.label}: ${href}`, ''] : [])].join('\n');
  const html = `<!doctype html><html lang="${input.locale.toLowerCase()}"><head><meta charset="utf-8"><title>${escapeHtml(copy.subject)}</title></head>
<body style="font-family:system-ui,sans-serif;line-height:1.5;max-width:36rem;margin:auto;padding:1rem">
<p>${escapeHtml(hello)}</p>
${copy.body.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${href ? `<p><a href="${escapeHtml(href)}" style="display:inline-block;padding:.6rem 1rem;background:#1f4fd1;color:#fff;border-radius:.3rem;text-decoration:none">${escapeHtml(copy.action!.label)}</a></p>\n<p style="font-size:.85em;color:#555">${escapeHtml(href)}</p>` : ''}
</body></html>`;
  return { subject: copy.subject, text, html };
}
