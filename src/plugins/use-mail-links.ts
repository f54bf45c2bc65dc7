import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../infra/logger.js';
import { escapeHtml } from '../modules/notifications/templates.js';
import type { SubscribersService } from '../modules/subscribers/subscribers-service.js';
import type { EnrollmentsService } from '../modules/workshops/enrollments-service.js';

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // The token is in the URL: never send it on to another site.
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
};

function page(title: string, body: string, status = 200): Response {
  return new Response(
    `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem"><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    { status, headers: PAGE_HEADERS },
  );
}

/** Each page: what it says, its button, what it says once done, and what its POST does with the token. */
interface Action {
  title: string;
  button: string;
  done: string;
  act(services: MailLinkServices, token: string): Promise<unknown>;
}

export interface MailLinkServices {
  subscribers: SubscribersService;
  enrollments: EnrollmentsService;
}

const ACTIONS: Record<string, Action> = {
  '/mail/confirm': { title: 'Confirm your subscription', button: 'Confirm', done: 'Your subscription is confirmed. Thank you!', act: (s, token) => s.subscribers.confirm(token) },
  '/mail/unsubscribe': { title: 'Unsubscribe', button: 'Unsubscribe', done: 'You are unsubscribed and will receive no more newsletters or alerts.', act: (s, token) => s.subscribers.unsubscribe(token) },
  '/mail/confirm-enrollment': {
    title: 'Confirm your enrollment',
    button: 'Confirm',
    done: 'Your enrollment is confirmed. Your check-in code is on its way by mail.',
    act: (s, token) => s.enrollments.confirm(token),
  },
  '/mail/cancel-enrollment': { title: 'Cancel your enrollment', button: 'Cancel my enrollment', done: 'Your enrollment is cancelled.', act: (s, token) => s.enrollments.cancelByToken(token) },
  '/mail/check-in': { title: 'Check in', button: 'Check me in', done: 'You are checked in. Enjoy the workshop!', act: (s, token) => s.enrollments.checkInByToken(token) },
};

/**
 * The pages the links in mails open (PUBLIC_URL/mail/…). A GET only shows a button: mail scanners
 * and link previews fetch every link, and must not confirm, cancel or unsubscribe anyone. The POST
 * acts, and is also RFC 8058's one-click unsubscribe (a mail client POSTs `List-Unsubscribe=One-Click`
 * to the List-Unsubscribe URL, with no cookies and no CSRF header): the signed token is the authority.
 */
export function useMailLinks(services: MailLinkServices, logger: Logger): Plugin {
  return {
    async onRequest({ request, url, endResponse }) {
      const action = Object.hasOwn(ACTIONS, url.pathname) ? ACTIONS[url.pathname] : undefined;
      if (!action) return;
      const token = url.searchParams.get('token') ?? '';
      if (request.method === 'GET' || request.method === 'HEAD') {
        return endResponse(
          page(action.title, `<form method="post" action="${escapeHtml(`${url.pathname}?token=${encodeURIComponent(token)}`)}"><button type="submit" style="font-size:1.1rem;padding:.5rem 1.2rem">${escapeHtml(action.button)}</button></form>`),
        );
      }
      if (request.method !== 'POST') return endResponse(new Response('Method Not Allowed', { status: 405, headers: { allow: 'GET, POST' } }));
      try {
        await action.act(services, token);
        return endResponse(page(action.title, `<p>${escapeHtml(action.done)}</p>`));
      } catch (error) {
        const code = (error as { extensions?: { code?: string } }).extensions?.code;
        // The state forbids it (already confirmed, hold released, check-in not open): our own message says why.
        if (code === 'CONFLICT' || code === 'FORBIDDEN') return endResponse(page(action.title, `<p>${escapeHtml((error as Error).message)}</p>`, 409));
        const invalid = code === 'BAD_USER_INPUT' || code === 'NOT_FOUND';
        if (!invalid) logger.error({ err: (error as Error).message, path: url.pathname }, 'mail link failed');
        return endResponse(page(action.title, invalid ? '<p>This link is invalid or has expired.</p>' : '<p>Something went wrong; please try again later.</p>', invalid ? 400 : 503));
      }
    },
  };
}
