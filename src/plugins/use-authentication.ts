import type { Plugin } from 'graphql-yoga';
import type { ApiKeyAuthenticator } from '../modules/auth/api-keys-service.js';
import { setRequestPrincipal } from '../modules/auth/request-principal.js';

/** Resolves `Authorization: Bearer <key>` first, so every later step knows who is asking. */
export function useAuthentication(authenticator: ApiKeyAuthenticator): Plugin {
  return {
    async onParams({ request }) {
      // Invalid credentials throw UNAUTHENTICATED here, before anything else runs.
      setRequestPrincipal(request, await authenticator.authenticate(request.headers.get('authorization')));
    },
  };
}
