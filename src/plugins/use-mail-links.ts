import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../infra/logger.js';
import { escapeHtml } from '../modules/notifications/templates.js';
import type { SubscribersService } from '../modules/subscribers/subscribers-service.js';

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

const ACTIONS = {
  '/mail/confirm': { title: 'Confirm your subscription', button: 'Confirm', done: 'Your subscription is confirmed. Thank you!' },
  '/mail/unsubscribe': { title: 'Unsubscribe', button: 'Unsubscribe', done: 'You are unsubscribed and will receive no more newsletters or alerts.' },
} as const;

/**
 * The pages the links in mails open (PUBLIC_URL/mail/…). A GET only shows a button: mail scanners
 * and link previews fetch every link, and must not confirm or unsubscribe anyone. The POST acts,
 * and is also RFC 8058's one-click unsubscribe (a mail client POSTs `List-Unsubscribe=One-Click` to
 * the List-Unsubscribe URL, with no cookies and no CSRF header): the signed token is the authority.
 */
export function useMailLinks(subscribers: SubscribersService, logger: Logger): Plugin {
  return {
    async onRequest({ request, url, endResponse }) {
      const action = ACTIONS[url.pathname as keyof typeof ACTIONS];
      if (!action) return;
      const token = url.searchParams.get('token') ?? '';
      if (request.method === 'GET' || request.method === 'HEAD') {
        return endResponse(
          page(action.title, `<form method="post" action="${escapeHtml(`${url.pathname}?token=${encodeURIComponent(token)}`)}"><button type="submit" style="font-size:1.1rem;padding:.5rem 1.2rem">${action.button}</button></form>`),
        );
      }
      if (request.method !== 'POST') return endResponse(new Response('Method Not Allowed', { status: 405, headers: { allow: 'GET, POST' } }));
      try {
        if (url.pathname === '/mail/confirm') await subscribers.confirm(token);
        else await subscribers.unsubscribe(token);
        return endResponse(page(action.title, `<p>${escapeHtml(action.done)}</p>`));
      } catch (error) {
        const invalid = (error as { extensions?: { code?: string } }).extensions?.code === 'BAD_USER_INPUT';
        if (!invalid) logger.error({ err: (error as Error).message, path: url.pathname }, 'mail link failed');
        return endResponse(page(action.title, invalid ? '<p>This link is invalid or has expired.</p>' : '<p>Something went wrong; please try again later.</p>', invalid ? 400 : 503));
      }
    },
  };
}
