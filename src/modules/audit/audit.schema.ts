import { builder } from '../../builder.js';
import type { AuditEvent } from '../../generated/prisma/client.js';
import { encodeGlobalId } from '../../shared/ids.js';
import { resolveTotalCount } from '../../shared/pagination.js';
import { QuestionnaireRef } from '../questionnaires/questionnaire.schema.js';
import { WorkshopRef } from '../workshops/workshop.schema.js';

const FieldChangeRef = builder.objectRef<{ field: string; value: unknown }>('FieldChange').implement({
  fields: (t) => ({
    field: t.exposeString('field'),
    before: t.field({ type: 'JSON', nullable: true, resolve: ({ value }) => (isRedacted(value) ? null : ((value as { before: unknown }).before ?? null)) }),
    after: t.field({ type: 'JSON', nullable: true, resolve: ({ value }) => (isRedacted(value) ? null : ((value as { after: unknown }).after ?? null)) }),
    redacted: t.boolean({ description: 'Personal data, or erased since: that the field changed is kept, not its values.', resolve: ({ value }) => isRedacted(value) }),
  }),
});

const isRedacted = (value: unknown) => Boolean(value && typeof value === 'object' && 'redacted' in value);

const RevisionActorRef = builder.objectRef<AuditEvent>('RevisionActor').implement({
  fields: (t) => ({
    name: t.string({ description: 'The API key’s name at the time.', resolve: (e) => e.actorName }),
    role: t.string({ nullable: true, resolve: (e) => e.actorRole }),
    keyId: t.id({ nullable: true, resolve: (e) => (e.actorKeyId ? encodeGlobalId('ApiKey', e.actorKeyId) : null) }),
  }),
});

export const RevisionRef = builder.objectRef<AuditEvent>('Revision').implement({
  description: 'One editor write: who, when, and the fields it changed, before and after.',
  fields: (t) => ({
    id: t.id({ resolve: (e) => encodeGlobalId('Revision', e.id) }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.createdAt }),
    actor: t.field({ type: RevisionActorRef, resolve: (e) => e }),
    action: t.string({ description: 'CREATE, UPDATE, PUBLISH, ARCHIVE, OPEN, CLOSE, DELETE, RETIRE, REVOKE or ERASE.', resolve: (e) => e.action }),
    entityType: t.string({ resolve: (e) => e.entityType }),
    entityId: t.id({ description: 'The global id (a topic’s slug).', resolve: (e) => (e.entityType === 'Topic' ? e.entityId : encodeGlobalId(e.entityType, e.entityId)) }),
    changes: t.field({
      type: [FieldChangeRef],
      resolve: (e) => Object.entries((e.changes ?? {}) as Record<string, unknown>).map(([field, value]) => ({ field, value })),
    }),
  }),
});

builder.objectField(WorkshopRef, 'revisions', (t) =>
  t.connection(
    {
      type: RevisionRef,
      nullable: true,
      authScopes: { editor: true },
      description: 'Who changed this workshop, when, and what (newest first). Editors only.',
      resolve: (workshop, args, ctx) => ctx.services.audit.revisions(ctx.principal, { type: 'Workshop', id: workshop.id }, args),
    },
    { name: 'WorkshopRevisionConnection', fields: (c) => ({ totalCount: c.int({ resolve: resolveTotalCount }) }) },
  ),
);

builder.objectField(QuestionnaireRef, 'revisions', (t) =>
  t.connection(
    {
      type: RevisionRef,
      nullable: true,
      authScopes: { editor: true },
      description: 'Changes of this questionnaire and its questions (newest first). Editors only.',
      resolve: (questionnaire, args, ctx) => ctx.services.audit.revisions(ctx.principal, { type: 'Questionnaire', id: questionnaire.id }, args),
    },
    { name: 'QuestionnaireRevisionConnection', fields: (c) => ({ totalCount: c.int({ resolve: resolveTotalCount }) }) },
  ),
);

const AuditLogFilter = builder.inputType('AuditLogFilter', {
  fields: (t) => ({
    entityType: t.string({ description: 'Workshop, Questionnaire, Question, Topic, Subscriber or ApiKey.' }),
    action: t.string(),
    actorName: t.string({ description: 'The API key’s name.' }),
    from: t.field({ type: 'DateTime', description: 'Inclusive.' }),
    to: t.field({ type: 'DateTime', description: 'Exclusive.' }),
  }),
});

builder.queryField('auditLog', (t) =>
  t.connection(
    {
      type: RevisionRef,
      nullable: true,
      authScopes: { admin: true },
      description: 'Every editor write, newest first (ADMIN).',
      args: { filter: t.arg({ type: AuditLogFilter }) },
      resolve: (_root, args, ctx) => ctx.services.audit.log(ctx.principal, args.filter ?? {}, args),
    },
    { name: 'AuditLogConnection', fields: (c) => ({ totalCount: c.int({ resolve: resolveTotalCount }) }) },
  ),
);
