import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../infra/logger.js';
import type { TrackingSigner } from '../modules/newsletters/newsletter-jobs.js';
import type { NewslettersService } from '../modules/newsletters/newsletters-service.js';

/** A transparent 1×1 GIF. */
const PIXEL_HEX = '47494638396101000100800000000000ffffff21f90401000000002c000000000100010000020144003b';
const PIXEL = Buffer.from(PIXEL_HEX, 'hex');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Newsletter tracking: `/n/open` (the pixel) and `/n/click` (a signed redirect). Only links the
 * newsletter itself signed redirect (no open redirect); a bad signature is 400. Recording never
 * delays the answer and its failure is only logged: the reader gets the pixel or the page anyway.
 */
export function useNewsletterTracking(newsletters: NewslettersService, tracking: TrackingSigner, logger: Logger): Plugin {
  const record = (work: Promise<void>) => void work.catch((e: Error) => logger.warn({ err: e.message }, 'newsletter tracking not recorded'));
  return {
    onRequest({ url, endResponse }) {
      if (url.pathname !== '/n/open' && url.pathname !== '/n/click') return;
      const delivery = url.searchParams.get('d') ?? '';
      const signature = url.searchParams.get('s') ?? '';
      if (url.pathname === '/n/open') {
        if (UUID.test(delivery) && tracking.verify(delivery, '', signature)) record(newsletters.recordOpen(delivery));
        return endResponse(new Response(PIXEL, { headers: { 'content-type': 'image/gif', 'cache-control': 'no-store, private' } }));
      }
      const target = url.searchParams.get('u') ?? '';
      if (!UUID.test(delivery) || !tracking.verify(delivery, target, signature) || !/^https?:\/\//.test(target)) {
        return endResponse(new Response('This link is invalid.', { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' } }));
      }
      record(newsletters.recordClick(delivery, target));
      return endResponse(new Response(null, { status: 302, headers: { location: target, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } }));
    },
  };
}
