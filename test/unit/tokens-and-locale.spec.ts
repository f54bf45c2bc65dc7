import { describe, expect, it } from 'vitest';
import { localeFromAcceptLanguage } from '../../src/shared/locale.js';
import { TokenSigner } from '../../src/shared/tokens.js';

describe('signed tokens', () => {
  const signer = new TokenSigner('s'.repeat(32));

  it('round-trips the subject for the same purpose', () => {
    expect(signer.verify('enrollment:cancel', signer.sign('enrollment:cancel', 'abc', 60))).toBe('abc');
  });

  it('rejects expired, forged, re-purposed and foreign tokens', () => {
    const now = Date.now();
    const token = signer.sign('enrollment:cancel', 'abc', 60, now);
    expect(() => signer.verify('enrollment:cancel', token, now + 61_000)).toThrow(/expired/);
    expect(() => signer.verify('subscription:manage', token)).toThrow();
    expect(() => new TokenSigner('t'.repeat(32)).verify('enrollment:cancel', token)).toThrow();
    const [body, mac] = token.split('.');
    const tampered = Buffer.from(Buffer.from(body!, 'base64url').toString().replace('abc', 'abd')).toString('base64url');
    expect(() => signer.verify('enrollment:cancel', `${tampered}.${mac}`)).toThrow();
    expect(() => signer.verify('enrollment:cancel', 'garbage')).toThrow();
  });
});

describe('Accept-Language', () => {
  it.each([
    [undefined, 'EN'],
    ['pl', 'PL'],
    ['pl-PL,pl;q=0.9,en;q=0.8', 'PL'],
    ['en;q=0.5, pl;q=0.9', 'PL'],
    ['de-DE, en;q=0.3', 'EN'],
    ['de-DE', 'EN'],
    ['pl;q=0', 'EN'],
  ])('%s → %s', (header, locale) => {
    expect(localeFromAcceptLanguage(header)).toBe(locale);
  });
});
