import type { Principal } from './principal.js';

/**
 * The principal of each HTTP request, resolved once before parsing (see use-authentication) so
 * plugins that run before the GraphQL context exists (persisted operations, limits, rate limits)
 * can apply per-role policy. Keyed weakly by the Request: nothing outlives the request.
 */
const principals = new WeakMap<Request, Principal>();

export function setRequestPrincipal(request: Request, principal: Principal): void {
  principals.set(request, principal);
}

export function requestPrincipal(request: Request): Principal {
  return principals.get(request) ?? { kind: 'anonymous' };
}
