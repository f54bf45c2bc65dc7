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
  confirmEnrollment = (token: string) => this.url('mail/confirm-enrollment', token);
  cancelEnrollment = (token: string) => this.url('mail/cancel-enrollment', token);
  checkIn = (token: string) => this.url('mail/check-in', token);
  workshop = (slug: string) => new URL(`workshops/${encodeURIComponent(slug)}`, this.publicUrl.endsWith('/') ? this.publicUrl : `${this.publicUrl}/`).toString();
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

interface Copy {
  subject: string;
  /** Paragraphs. */
  body: string[];
  action?: { label: string; href: (input: TemplateInput) => string };
  /** Further links, after the action (e.g. cancelling an enrollment). */
  links?: { label: string; href: string }[];
}

type Template = Record<Locale, (input: TemplateInput) => Copy>;

/** The workshop's title in Polish when asked for and there is one, else in English. */
const titleOf = (i: TemplateInput, pl: boolean) => String((pl ? i.payload.titlePl : null) ?? i.payload.titleEn);

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
      subject: `New workshop: ${titleOf(i, false)}`,
      body: [`A new workshop on one of your topics was just published: ${titleOf(i, false)}, ${when(i, 'en-GB')}${i.payload.location ? `, ${String(i.payload.location)}` : ''}.`, 'Seats are limited; enroll from the workshop page.'],
      action: { label: 'See the workshop', href: (i) => i.links.workshop(String(i.payload.slug)) },
    }),
    PL: (i) => ({
      subject: `Nowy warsztat: ${titleOf(i, true)}`,
      body: [`Właśnie opublikowaliśmy nowy warsztat z Twoich tematów: ${titleOf(i, true)}, ${when(i, 'pl-PL')}${i.payload.location ? `, ${String(i.payload.location)}` : ''}.`, 'Liczba miejsc jest ograniczona; zapisz się na stronie warsztatu.'],
      action: { label: 'Zobacz warsztat', href: (i) => i.links.workshop(String(i.payload.slug)) },
    }),
  },
};

/** The workshop an enrollment mail is about, in the reader's language. */
const workshopLine = (i: TemplateInput, pl: boolean) => {
  const where = i.payload.location ?? i.payload.onlineUrl;
  return `${titleOf(i, pl)}, ${when(i, pl ? 'pl-PL' : 'en-GB')}${where ? `, ${String(where)}` : ''}`;
};

/** The enrollee's check-in code (their QR code at the door) and cancellation link; `token` is the cancellation token. */
const enrolleeExtras = (i: TemplateInput, pl: boolean): Pick<Copy, 'action' | 'links' | 'body'> => {
  const code = typeof i.payload.checkInToken === 'string' ? i.payload.checkInToken : null;
  return {
    body: code
      ? [pl ? `Twój kod wejścia (pokaż go przy wejściu jako kod QR albo otwórz link poniżej, gdy otworzy się meldowanie, godzinę przed startem): ${code}` : `Your check-in code (show it at the door as a QR code, or open the link below once check-in opens, an hour before the start): ${code}`]
      : [],
    action: code ? { label: pl ? 'Zamelduj mnie' : 'Check me in', href: (input) => input.links.checkIn(code) } : undefined,
    links: [{ label: pl ? 'Nie mogę przyjść: anuluj zapis' : 'I cannot come: cancel my enrollment', href: i.links.cancelEnrollment(i.token) }],
  };
};

const waitlisted = (i: TemplateInput) => i.payload.status === 'WAITLISTED';

const enrollmentCopy = (i: TemplateInput, pl: boolean, subject: string, lead: string[]): Copy => {
  const extras = enrolleeExtras(i, pl);
  return { subject, body: [...lead, ...extras.body], action: extras.action, links: extras.links };
};

const ENROLLMENT_TEMPLATES: Record<string, Template> = {
  CONFIRM_ENROLLMENT: {
    EN: (i) => ({
      subject: `Confirm your ${waitlisted(i) ? 'waitlist place' : 'seat'}: ${titleOf(i, false)}`,
      body: [
        `Someone (we hope you) asked to enroll this address in ${workshopLine(i, false)}.`,
        `${waitlisted(i) ? 'The workshop is full: we keep your place on the waitlist' : 'We hold a seat for you'} until ${deadline(i, 'en-GB')}. Confirm with the button below; if it was not you, ignore this message and the ${waitlisted(i) ? 'place' : 'seat'} will be released.`,
      ],
      action: { label: 'Confirm my enrollment', href: (input) => input.links.confirmEnrollment(input.token) },
    }),
    PL: (i) => ({
      subject: `Potwierdź ${waitlisted(i) ? 'miejsce na liście rezerwowej' : 'miejsce'}: ${titleOf(i, true)}`,
      body: [
        `Ktoś (mamy nadzieję, że Ty) zapisał ten adres na warsztat ${workshopLine(i, true)}.`,
        `${waitlisted(i) ? 'Brak wolnych miejsc: trzymamy Twoje miejsce na liście rezerwowej' : 'Trzymamy dla Ciebie miejsce'}; termin potwierdzenia: ${deadline(i, 'pl-PL')}. Potwierdź przyciskiem poniżej; jeśli to nie Ty, zignoruj tę wiadomość, a miejsce zostanie zwolnione.`,
      ],
      action: { label: 'Potwierdzam zapis', href: (input) => input.links.confirmEnrollment(input.token) },
    }),
  },
  ENROLLMENT_CONFIRMED: {
    EN: (i) =>
      enrollmentCopy(i, false, waitlisted(i) ? `You are on the waitlist: ${titleOf(i, false)}` : `You are enrolled: ${titleOf(i, false)}`, [
        waitlisted(i) ? `You are on the waitlist for ${workshopLine(i, false)}. We will write as soon as a seat is yours.` : `Your seat at ${workshopLine(i, false)} is confirmed.`,
      ]),
    PL: (i) =>
      enrollmentCopy(i, true, waitlisted(i) ? `Jesteś na liście rezerwowej: ${titleOf(i, true)}` : `Jesteś zapisany(-a): ${titleOf(i, true)}`, [
        waitlisted(i) ? `Jesteś na liście rezerwowej warsztatu ${workshopLine(i, true)}. Napiszemy, gdy tylko zwolni się miejsce.` : `Twoje miejsce na warsztacie ${workshopLine(i, true)} jest potwierdzone.`,
      ]),
  },
  ALREADY_ENROLLED: {
    EN: (i) =>
      enrollmentCopy(i, false, `You are already enrolled: ${titleOf(i, false)}`, [
        `Someone tried to enroll this address in ${workshopLine(i, false)} again; you already are (${waitlisted(i) ? 'on the waitlist' : 'with a seat'}) and nothing was changed.`,
      ]),
    PL: (i) =>
      enrollmentCopy(i, true, `Już jesteś zapisany(-a): ${titleOf(i, true)}`, [
        `Ktoś ponownie zapisał ten adres na warsztat ${workshopLine(i, true)}; już jesteś zapisany(-a) (${waitlisted(i) ? 'na liście rezerwowej' : 'z miejscem'}) i nic nie zostało zmienione.`,
      ]),
  },
  WAITLIST_PROMOTED: {
    EN: (i) => enrollmentCopy(i, false, `A seat is yours: ${titleOf(i, false)}`, [`A seat freed up and you moved up from the waitlist: you are enrolled in ${workshopLine(i, false)}.`]),
    PL: (i) =>
      enrollmentCopy(i, true, `Masz miejsce: ${titleOf(i, true)}`, [`Zwolniło się miejsce i przeszedłeś(-aś) z listy rezerwowej: jesteś zapisany(-a) na warsztat ${workshopLine(i, true)}.`]),
  },
};

/** A payload timestamp (ISO 8601) as the reader's locale writes it, in UTC. */
const utcTime = (iso: unknown, locale: string) =>
  `${new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(String(iso)))} UTC`;

/** When the hold of an enrollment mail runs out. */
const deadline = (i: TemplateInput, locale: string) => utcTime(i.payload.confirmBy, locale);

/** When the workshop of a mail starts. */
const when = (i: TemplateInput, locale: string) => utcTime(i.payload.startsAt, locale);

/** Subject, plain text and HTML in the person's language (English when a template has no Polish). */
export function render(input: TemplateInput): RenderedMail {
  const template = TEMPLATES[input.kind] ?? ENROLLMENT_TEMPLATES[input.kind];
  if (!template) throw new Error(`no template for ${input.kind}`);
  const copy = (template[input.locale] ?? template.EN)(input);
  const href = copy.action?.href(input);
  const hello = greeting(input.locale, input.name);
  const links = copy.links ?? [];
  const text = [hello, '', ...copy.body.flatMap((p) => [p, '']), ...(href ? [`${copy.action!.label}: ${href}`, ''] : []), ...links.flatMap((l) => [`${l.label}: ${l.href}`, ''])].join('\n');
  const html = `<!doctype html><html lang="${input.locale.toLowerCase()}"><head><meta charset="utf-8"><title>${escapeHtml(copy.subject)}</title></head>
<body style="font-family:system-ui,sans-serif;line-height:1.5;max-width:36rem;margin:auto;padding:1rem">
<p>${escapeHtml(hello)}</p>
${copy.body.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${href ? `<p><a href="${escapeHtml(href)}" style="display:inline-block;padding:.6rem 1rem;background:#1f4fd1;color:#fff;border-radius:.3rem;text-decoration:none">${escapeHtml(copy.action!.label)}</a></p>\n<p style="font-size:.85em;color:#555">${escapeHtml(href)}</p>` : ''}
${links.map((l) => `<p><a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a></p>`).join('\n')}
</body></html>`;
  return { subject: copy.subject, text, html };
}
