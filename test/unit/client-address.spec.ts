import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/env.js';
import { clientAddress, compileTrust, parseTrustProxy } from '../../src/shared/client-address.js';

const request = (forwardedFor?: string) => new Request('http://localhost/graphql', { headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });
const from = (remoteAddress: string) => ({ req: { socket: { remoteAddress } as Socket } });
const address = (trust: string | undefined, peer: string, forwardedFor?: string) => clientAddress(request(forwardedFor), from(peer), compileTrust(parseTrustProxy(trust)));

describe('client address', () => {
  it('is the socket peer unless proxies are trusted', () => {
    expect(address(undefined, '192.0.2.1', '203.0.113.9')).toBe('192.0.2.1');
    expect(address('0', '192.0.2.1', '203.0.113.9')).toBe('192.0.2.1');
  });

  it('takes the entry the trusted hops added, never the client-written left-most one', () => {
    expect(address('1', '10.0.0.2', '203.0.113.9, 198.51.100.7')).toBe('198.51.100.7');
    expect(address('2', '10.0.0.2', '203.0.113.9, 198.51.100.7, 10.0.0.3')).toBe('198.51.100.7');
    expect(address('10.0.0.0/8', '10.0.0.2', '203.0.113.9, 198.51.100.7, 10.0.0.3')).toBe('198.51.100.7');
    // More trusted hops than entries: the left-most is all there is (a proxy that was bypassed).
    expect(address('3', '10.0.0.2', '198.51.100.7')).toBe('198.51.100.7');
  });

  it('groups IPv6 by /64 and unwraps IPv4-mapped addresses', () => {
    expect(address(undefined, '2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(address(undefined, '2001:db8:1:2:bbbb::9')).toBe('2001:db8:1:2::/64');
    expect(address(undefined, '::ffff:192.0.2.1')).toBe('192.0.2.1');
  });

  it('is "unknown" without a socket (in-process fetch)', () => {
    expect(clientAddress(request('198.51.100.7'), {}, compileTrust({ hops: 1 }))).toBe('unknown');
  });

  it('refuses TRUST_PROXY=true and typos at start', () => {
    expect(() => parseEnv({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY: "true" would trust/);
    expect(() => parseEnv({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY/);
    expect(parseEnv({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).TRUST_PROXY).toEqual({ proxies: ['loopback', '10.0.0.0/8'] });
    expect(parseEnv({}).TRUST_PROXY).toEqual({ hops: 0 });
  });
});
