import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver } from './shared/scalars.js';
import type { Context } from './context.js';
import PrismaTypes, { getDatamodel } from './generated/pothos-types.js';
import { isAdmin, isEditor } from './modules/auth/principal.js';
import { ForbiddenError } from './shared/errors.js';
import { decodeGlobalId, encodeGlobalId } from './shared/ids.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { editor: boolean; admin: boolean; apiKey: boolean };
  Scalars: { DateTime: { Input: Date; Output: Date } };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin],
  // Fields are non-null unless they say otherwise; fields behind authorization are nullable, so a
  // FORBIDDEN error nulls that field only, not its parent.
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => ({
      editor: isEditor(ctx.principal),
      admin: isAdmin(ctx.principal),
      apiKey: ctx.principal.kind === 'apiKey',
    }),
    // Anonymous callers get FORBIDDEN too: the field exists, the caller may not read it.
    unauthorizedError: () => new ForbiddenError('You are not allowed to access this field'),
  },
  prisma: {
    client: (ctx) => ctx.db,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    encodeGlobalID: encodeGlobalId,
    decodeGlobalID: decodeGlobalId,
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.queryType({});
builder.mutationType({});
