import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver, JSONResolver } from './shared/scalars.js';
import type { Context } from './context.js';
import PrismaTypes, { getDatamodel } from './generated/pothos-types.js';
import { isAdmin, isEditor } from './modules/auth/principal.js';
import { ForbiddenError } from './shared/errors.js';
import { decodeGlobalId, encodeGlobalId } from './shared/ids.js';
import { connectionComplexity } from './shared/pagination.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { editor: boolean; admin: boolean; apiKey: boolean };
  Scalars: { DateTime: { Input: Date; Output: Date }; JSON: { Input: unknown; Output: unknown } };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, ComplexityPlugin],
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
  complexity: {
    // 1 per field; connections multiply by first/last (see connectionComplexity), so plain lists
    // (tags, topics) need no blanket ×10. The plugin only declares the costs: use-rate-limit computes
    // an operation's cost once, with variables filled in, and refuses it before any resolver runs
    // (the plugin's own check would compute it a second time as the first root field resolves).
    defaultComplexity: 1,
    defaultListMultiplier: 1,
    disabled: true,
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
    // Every connection's selections cost once per requested row (first/last).
    defaultConnectionFieldOptions: { complexity: connectionComplexity },
    nodesQueryOptions: { complexity: (args: { ids: unknown[] }) => ({ field: 1, multiplier: Math.max(1, args.ids.length) }) },
    encodeGlobalID: encodeGlobalId,
    decodeGlobalID: decodeGlobalId,
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.queryType({});
builder.mutationType({});
