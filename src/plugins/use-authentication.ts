import type { Plugin } from 'graphql-yoga';
import type { ApiKeyAuthenticator } from '../modules/auth/api-keys-service.js';
import { setRequestPrincipal } from '../modules/auth/request-principal.js';
import { InvalidCredentialsError } from '../shared/errors.js';
import type { RateLimits } from './use-rate-limit.js';

/**
 * Resolves `Authorization: Bearer <key>` first, so every later step knows who is asking. A bad key
 * is HTTP 401 UNAUTHENTICATED and counts against the caller's address (429 once that is used up),
 * and once an address has sent too many, its unknown keys are refused before the database is asked.
 */
export function useAuthentication(authenticator: ApiKeyAuthenticator, limits: RateLimits): Plugin {
  return {
    async onParams({ request, context }) {
      try {
        const principal = await authenticator.authenticate(request.headers.get('authorization'), () => limits.assertMayLookUpKey(request, context));
        setRequestPrincipal(request, principal);
      } catch (error) {
        if (error instanceof InvalidCredentialsError) await limits.countInvalidCredentials(request, context);
        throw error;
      }
    },
  };
}
