import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';

/**
 * Which proxies in front of us may say who the client is (TRUST_PROXY): none, the last N hops, or
 * the proxies' own addresses/CIDRs (proxy-addr's names `loopback`, `linklocal`, `uniquelocal` too).
 */
export type TrustProxy = { hops: number } | { proxies: string[] };

/** proxy-addr's trust function: is the hop at `address`, `index` steps from us, one of our proxies? */
export type ProxyTrust = (address: string, index: number) => boolean;

/**
 * Compiles TRUST_PROXY. "true" is refused: trusting every hop hands the address to the client,
 * who writes the left-most X-Forwarded-For entry and so picks a fresh rate-limit bucket per request.
 */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  const text = (value ?? '').trim();
  if (text === '' || text === 'false') return { hops: 0 };
  if (text === 'true') throw new Error('"true" would trust the client-written X-Forwarded-For; give the number of proxy hops (e.g. 1) or their addresses/CIDRs');
  if (/^\d+$/.test(text)) return { hops: Number(text) };
  const proxies = text.split(',').map((entry) => entry.trim()).filter(Boolean);
  proxyaddr.compile(proxies); // throws "invalid IP address: …" for a typo, at start rather than per request
  return { proxies };
}

export function compileTrust(setting: TrustProxy): ProxyTrust {
  if ('proxies' in setting) return proxyaddr.compile(setting.proxies);
  const { hops } = setting;
  return (_address, index) => index < hops;
}

/**
 * The client's address as every per-IP limit sees it: the socket peer, or (behind trusted proxies)
 * the first X-Forwarded-For address that a trusted hop added, as proxy-addr walks it right to left.
 * IPv4-mapped IPv6 becomes IPv4, and IPv6 is grouped by /64, the block one subscriber is given, so
 * one client cannot rotate through its own 2^64 addresses. 'unknown' without a socket (in-process fetch).
 */
export function clientAddress(request: Request, serverContext: unknown, trust: ProxyTrust): string {
  // Asked several times per request (context, request count, cost charge): worked out once per request and trust.
  const known = addresses.get(request);
  if (known?.trust === trust) return known.address;
  const address = addressOf(request, serverContext, trust);
  addresses.set(request, { trust, address });
  return address;
}

const addresses = new WeakMap<Request, { trust: ProxyTrust; address: string }>();

function addressOf(request: Request, serverContext: unknown, trust: ProxyTrust): string {
  const socket = (serverContext as { req?: IncomingMessage } | undefined)?.req?.socket;
  if (!socket?.remoteAddress) return 'unknown';
  // proxy-addr reads a Node request: hand it the socket and the (comma-joined) forwarded header.
  const forwardedFor = request.headers.get('x-forwarded-for') ?? undefined;
  const address = proxyaddr({ socket, connection: socket, headers: { 'x-forwarded-for': forwardedFor } } as unknown as IncomingMessage, trust);
  return addressBucket(address);
}

function addressBucket(address: string): string {
  if (!ipaddr.isValid(address)) return 'unknown';
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const prefix = (parsed as ipaddr.IPv6).parts.slice(0, 4).concat([0, 0, 0, 0]);
  return `${new ipaddr.IPv6(prefix).toString()}/64`;
}
