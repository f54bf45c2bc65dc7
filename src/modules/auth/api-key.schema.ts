import type { ApiKey } from '../../generated/prisma/client.js';
import { builder } from '../../builder.js';
import { isAdmin, MATCH_NOTHING } from './principal.js';

const RoleEnum = builder.enumType('Role', {
  description: 'ADMIN ⊃ EDITOR (content, personal data); PARTNER (published content, their manifest).',
  values: ['ADMIN', 'EDITOR', 'PARTNER'] as const,
});

export const ApiKeyRef = builder.prismaNode('ApiKey', {
  id: { field: 'id' },
  nullable: true,
  description: 'An API key (admins only). The key itself is shown once, by createApiKey; only its hash is stored.',
  findUnique: (id, ctx) => (isAdmin(ctx.principal) ? { id } : { id, ...MATCH_NOTHING }),
  fields: (t) => ({
    name: t.exposeString('name'),
    role: t.expose('role', { type: RoleEnum }),
    client: t.exposeString('client', { nullable: true, description: 'PARTNER keys: the persisted-operation manifest they may run.' }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the key, to recognise it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Updated at most once a minute.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'After this the key is UNAUTHENTICATED.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    role: t.field({ type: RoleEnum, required: true }),
    client: t.string({ description: 'Required for PARTNER keys: the manifest persisted/<client>.json.' }),
    expiresAt: t.field({ type: 'DateTime', description: 'Optional expiry, in the future.' }),
  }),
});

const CreateApiKeyPayload = builder.objectRef<{ key: string; apiKey: ApiKey }>('CreateApiKeyPayload').implement({
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The key: shown this once, store it now.' }),
    apiKey: t.field({ type: ApiKeyRef, resolve: (payload) => payload.apiKey }),
  }),
});

builder.queryField('apiKeys', (t) =>
  t.field({
    type: [ApiKeyRef],
    nullable: true,
    authScopes: { admin: true },
    description: 'API keys, oldest first (admins). Revoked ones only when asked.',
    args: { includeRevoked: t.arg.boolean({ defaultValue: false }) },
    resolve: (_root, args, ctx) => ctx.services.apiKeys.list(ctx.principal, { includeRevoked: args.includeRevoked ?? false }),
  }),
);

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyPayload,
    description: 'Creates an API key (admins) and returns it once.',
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.apiKeys.create(ctx.principal, input),
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    description: 'Revokes an API key (admins); idempotent. Instances stop accepting it within 30 s.',
    args: { id: t.arg.globalID({ required: true, for: ApiKeyRef }) },
    resolve: (_root, { id }, ctx) => ctx.services.apiKeys.revoke(ctx.principal, id.id),
  }),
}));
