import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from './errors.js';

/** What a token lets its bearer do; a token for one purpose is useless for another. */
export type TokenPurpose = 'enrollment:cancel' | 'enrollment:check-in' | 'enrollment:confirm' | 'subscription:confirm' | 'subscription:manage';

interface Payload {
  /** purpose */
  p: TokenPurpose;
  /** subject id */
  s: string;
  /** expiry, seconds since epoch */
  e: number;
  /** issued at, ms since epoch (tokens older than this field lack it) */
  i?: number;
}

/**
 * Signed, expiring bearer tokens (HMAC-SHA256). The payload holds only an opaque id, a purpose
 * and an expiry, so a token reveals nothing about the person behind it.
 */
export class TokenSigner {
  constructor(private readonly secret: string) {}

  sign(purpose: TokenPurpose, subject: string, ttlSeconds: number, now = Date.now()): string {
    const payload: Payload = { p: purpose, s: subject, e: Math.floor(now / 1000) + ttlSeconds, i: now };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /** Returns the subject id, or throws BAD_USER_INPUT for a forged, malformed, expired or misused token. */
  verify(purpose: TokenPurpose, token: string, now = Date.now()): string {
    return this.verifyWithTimes(purpose, token, now).subject;
  }

  /** As `verify`, with when the token was issued (null for tokens signed before that was recorded) and its expiry. */
  verifyWithTimes(purpose: TokenPurpose, token: string, now = Date.now()): { subject: string; issuedAt: Date | null; expiresAt: Date } {
    const invalid = invalidTokenError();
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined) throw invalid;
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid;
    let payload: Payload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
    } catch {
      throw invalid;
    }
    if (payload.p !== purpose || typeof payload.s !== 'string' || typeof payload.e !== 'number' || payload.e * 1000 <= now) throw invalid;
    return { subject: payload.s, issuedAt: typeof payload.i === 'number' ? new Date(payload.i) : null, expiresAt: new Date(payload.e * 1000) };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}

/** The one answer to a token that does not hold: forged, malformed, expired, misused or used up. */
export function invalidTokenError(): ValidationError {
  return new ValidationError('Invalid or expired token', [{ path: 'token', message: 'is invalid or expired' }]);
}

/**
 * Single use: a token issued before `lastUse` (the last change that used up or replaced what it
 * grants: a confirmation, an unsubscription, a fresh enrollment) is dead. Tokens signed before they
 * carried their issue time count from their expiry minus `ttlSeconds`, compared in whole seconds.
 */
export function assertIssuedSince(times: { issuedAt: Date | null; expiresAt: Date }, ttlSeconds: number, lastUse: Date | null): void {
  if (!lastUse) return;
  const issued = times.issuedAt?.getTime() ?? times.expiresAt.getTime() - ttlSeconds * 1000;
  const last = times.issuedAt ? lastUse.getTime() : Math.floor(lastUse.getTime() / 1000) * 1000;
  if (issued < last) throw invalidTokenError();
}
