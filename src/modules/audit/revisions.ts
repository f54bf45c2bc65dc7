import type { Prisma } from '../../generated/prisma/client.js';
import { UUID } from '../../shared/ids.js';
import type { Principal } from '../auth/principal.js';

export type AuditedType = 'Workshop' | 'Questionnaire' | 'Question' | 'Topic' | 'Subscriber' | 'ApiKey';

export type AuditAction = 'CREATE' | 'UPDATE' | 'PUBLISH' | 'ARCHIVE' | 'OPEN' | 'CLOSE' | 'DELETE' | 'RETIRE' | 'REVOKE' | 'ERASE';

/** Which fields each audited type records; anything else (search vectors, counters, hashes) is left out. */
export const AUDITED_FIELDS: Record<AuditedType, readonly string[]> = {
  Workshop: ['slug', 'titleEn', 'titlePl', 'descriptionEn', 'descriptionPl', 'status', 'startsAt', 'endsAt', 'timezone', 'capacity', 'location', 'onlineUrl', 'tags', 'deletedAt'],
  Questionnaire: ['workshopId', 'kind', 'titleEn', 'titlePl', 'introEn', 'introPl', 'status', 'opensAt', 'closesAt', 'allowAnonymous'],
  Question: ['position', 'type', 'promptEn', 'promptPl', 'options', 'required'],
  Topic: ['nameEn', 'namePl', 'retiredAt'],
  // A person's data is never written into a revision, only which fields changed (see `redacted`).
  Subscriber: ['email', 'name', 'locale', 'status', 'topics', 'preferences', 'source', 'erasedAt'],
  ApiKey: ['name', 'role', 'client', 'expiresAt', 'revokedAt'],
};

/** Fields whose values are personal: their revisions say that they changed, not from what to what. */
const PERSONAL: Partial<Record<AuditedType, ReadonlySet<string>>> = {
  Subscriber: new Set(['email', 'name', 'topics', 'preferences', 'source']),
};

export const REDACTED = { redacted: true } as const;

export interface RevisionInput {
  type: AuditedType;
  id: string;
  action: AuditAction;
  /** The row before the write (null when created) and after it (null when removed). */
  before: object | null;
  after: object | null;
  /** Whose history it joins when not its own (a question's questionnaire). */
  root?: { type: AuditedType; id: string };
  /** The person the change is about: scrubbed with them on erasure. */
  subscriberId?: string;
}

const comparable = (value: unknown): unknown => (value instanceof Date ? value.toISOString() : value === undefined ? null : value);

/** `{ field: { before, after } }` for the audited fields whose values differ. */
export function changedFields(type: AuditedType, before: object | null, after: object | null): Record<string, { before: unknown; after: unknown } | typeof REDACTED> {
  const changes: Record<string, { before: unknown; after: unknown } | typeof REDACTED> = {};
  const personal = PERSONAL[type];
  for (const field of AUDITED_FIELDS[type]) {
    const was = comparable(before ? (before as Record<string, unknown>)[field] : null);
    const is = comparable(after ? (after as Record<string, unknown>)[field] : null);
    if (JSON.stringify(was) === JSON.stringify(is)) continue;
    changes[field] = personal?.has(field) ? REDACTED : { before: was, after: is };
  }
  return changes;
}

/**
 * The one way every service records an editor write: who (the API key's name and role as they are
 * now), when, and the changed fields before and after. Call it with the write's transaction, so the
 * revision commits or rolls back with the change. A write that changed no audited field records nothing.
 */
export async function recordRevision(tx: Prisma.TransactionClient, principal: Principal, revision: RevisionInput): Promise<void> {
  const changes = changedFields(revision.type, revision.before, revision.after);
  if (Object.keys(changes).length === 0 && revision.action === 'UPDATE') return;
  // Background work acts as a principal of its own whose id is no stored key: its name is kept, no key id.
  const actor =
    principal.kind === 'apiKey'
      ? { actorKeyId: UUID.test(principal.keyId) ? principal.keyId : null, actorName: principal.name, actorRole: principal.role }
      : { actorKeyId: null, actorName: 'anonymous', actorRole: null };
  await tx.auditEvent.create({
    data: {
      ...actor,
      entityType: revision.type,
      entityId: revision.id,
      rootType: revision.root?.type ?? revision.type,
      rootId: revision.root?.id ?? revision.id,
      action: revision.action,
      changes: changes as Prisma.InputJsonValue,
      subscriberId: revision.subscriberId ?? null,
    },
  });
}

/**
 * Erasure reaches the history too: every revision about the person keeps which fields changed and
 * loses what they said. Call it in the erasing transaction.
 */
export async function scrubPersonRevisions(tx: Prisma.TransactionClient, subscriberId: string): Promise<number> {
  return tx.$executeRaw`
    UPDATE audit_events
    SET changes = coalesce((SELECT jsonb_object_agg(key, '{"redacted": true}'::jsonb) FROM jsonb_object_keys(changes) AS key), '{}'::jsonb)
    WHERE subscriber_id = ${subscriberId}::uuid`;
}
