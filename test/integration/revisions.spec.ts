import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRevision } from '../../src/modules/audit/revisions.js';
import { decodeGlobalId, encodeGlobalId } from '../../src/shared/ids.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop, enroll } from '../testkit/factories.js';

const REVISION = `at action entityType entityId actor { name role } changes { field before after redacted }`;
const WORKSHOP_REVISIONS = `query ($id: ID!) { workshop(id: $id) { revisions(first: 10) { totalCount edges { node { ${REVISION} } } } } }`;
const QUESTIONNAIRE_REVISIONS = `query ($id: ID!) { questionnaire(id: $id) { revisions(first: 20) { edges { node { ${REVISION} } } } } }`;
const AUDIT_LOG = `query ($filter: AuditLogFilter, $first: Int, $after: String) { auditLog(filter: $filter, first: $first, after: $after) {
  totalCount edges { node { ${REVISION} } } pageInfo { hasNextPage endCursor } } }`;

type Revision = { action: string; entityType: string; entityId: string; actor: { name: string; role: string }; changes: { field: string; before: unknown; after: unknown; redacted: boolean }[] };
const nodes = (connection: { edges: { node: Revision }[] }) => connection.edges.map((e) => e.node);
const change = (revision: Revision, field: string) => revision.changes.find((c) => c.field === field);

describe('revisions and the audit log', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ persisted: { acme: [WORKSHOP_REVISIONS, AUDIT_LOG] } });
  });
  afterAll(() => app?.close());

  it('records who changed a workshop, when, and each changed field before and after, newest first', async () => {
    const workshop = await createWorkshop(app, { capacity: 10, titleEn: 'Before title' });
    dataOf(await app.gql(`mutation ($id: ID!, $input: UpdateWorkshopInput!) { updateWorkshop(id: $id, input: $input) { id } }`, { id: workshop.id, input: { title: { en: 'After title', pl: `Warsztat ${workshop.slug}` }, capacity: 12 } }, { key: app.keys.editor }));
    // A write that changes nothing records nothing.
    dataOf(await app.gql(`mutation ($id: ID!, $input: UpdateWorkshopInput!) { updateWorkshop(id: $id, input: $input) { id } }`, { id: workshop.id, input: { capacity: 12 } }, { key: app.keys.editor }));
    dataOf(await app.gql(`mutation ($id: ID!) { archiveWorkshop(id: $id) { id } }`, { id: workshop.id }, { key: app.keys.admin }));
    // Enrolling is not an editor write.
    const revisions = dataOf(await app.gql(WORKSHOP_REVISIONS, { id: workshop.id }, { key: app.keys.editor })).workshop.revisions;
    expect(revisions.totalCount).toBe(4);
    const [archived, updated, published, created] = nodes(revisions);
    expect(created).toMatchObject({ action: 'CREATE', entityType: 'Workshop', entityId: workshop.id, actor: { name: 'test editor', role: 'EDITOR' } });
    expect(change(created!, 'titleEn')).toEqual({ field: 'titleEn', before: null, after: 'Before title', redacted: false });
    expect(published).toMatchObject({ action: 'PUBLISH', changes: [{ field: 'status', before: 'DRAFT', after: 'PUBLISHED', redacted: false }] });
    expect(updated!.action).toBe('UPDATE');
    expect(updated!.changes).toEqual([
      { field: 'titleEn', before: 'Before title', after: 'After title', redacted: false },
      { field: 'capacity', before: 10, after: 12, redacted: false },
    ]);
    expect(archived).toMatchObject({ action: 'ARCHIVE', actor: { name: 'test admin', role: 'ADMIN' } });
  });

  it('writes the revision in the same transaction as the change: a write that fails leaves none', async () => {
    const taken = await createWorkshop(app);
    const workshop = await createWorkshop(app);
    const before = await app.database.prisma.auditEvent.count({ where: { entityId: decodeGlobalId(workshop.id).id } });
    const refused = await app.gql(`mutation ($id: ID!, $input: UpdateWorkshopInput!) { updateWorkshop(id: $id, input: $input) { id } }`, { id: workshop.id, input: { slug: taken.slug, title: { en: 'Never stored' } } }, { key: app.keys.editor });
    expect(codesOf(refused)).toEqual(['CONFLICT']);
    expect(await app.database.prisma.auditEvent.count({ where: { entityId: decodeGlobalId(workshop.id).id } })).toBe(before);
  });

  it("keeps a questionnaire's history with its questions'", async () => {
    const workshop = await createWorkshop(app);
    const created = dataOf(await app.gql(`mutation ($input: CreateQuestionnaireInput!) { createQuestionnaire(input: $input) { id questions { id } } }`, {
      input: { workshopId: workshop.id, kind: 'POST_WORKSHOP', title: { en: 'Feedback' }, questions: [
        { type: 'RATING', prompt: { en: 'How was it?' } },
        { type: 'TEXT', prompt: { en: 'Anything else?' }, required: false },
      ] },
    }, { key: app.keys.editor })).createQuestionnaire;
    const [rating, text] = created.questions as { id: string }[];
    dataOf(await app.gql(`mutation ($id: ID!, $input: QuestionInput!) { updateQuestion(id: $id, input: $input) { id } }`, { id: rating!.id, input: { type: 'RATING', prompt: { en: 'How would you rate it?' } } }, { key: app.keys.editor }));
    dataOf(await app.gql(`mutation ($id: ID!) { removeQuestion(id: $id) { id } }`, { id: text!.id }, { key: app.keys.editor }));
    dataOf(await app.gql(`mutation ($id: ID!, $input: UpdateQuestionnaireInput!) { updateQuestionnaire(id: $id, input: $input) { id } }`, { id: created.id, input: { title: { en: 'Your feedback' } } }, { key: app.keys.editor }));
    const revisions = nodes(dataOf(await app.gql(QUESTIONNAIRE_REVISIONS, { id: created.id }, { key: app.keys.editor })).questionnaire.revisions);
    expect(revisions.map((r) => `${r.entityType} ${r.action}`)).toEqual(['Questionnaire UPDATE', 'Question DELETE', 'Question UPDATE', 'Question CREATE', 'Question CREATE', 'Questionnaire CREATE']);
    expect(change(revisions[2]!, 'promptEn')).toMatchObject({ before: 'How was it?', after: 'How would you rate it?' });
    expect(change(revisions[0]!, 'titleEn')).toMatchObject({ before: 'Feedback', after: 'Your feedback' });
  });

  it('logs topics and API keys for admins, filtered and paged', async () => {
    const slug = `audit-${randomBytes(3).toString('hex')}`;
    dataOf(await app.gql(`mutation ($input: CreateTopicInput!) { createTopic(input: $input) { slug } }`, { input: { slug, name: { en: 'Audit' } } }, { key: app.keys.editor }));
    dataOf(await app.gql(`mutation ($input: UpdateTopicInput!) { updateTopic(slug: "${slug}", input: $input) { slug } }`, { input: { name: { en: 'Audited', pl: 'Audyt' } } }, { key: app.keys.editor }));
    dataOf(await app.gql(`mutation { retireTopic(slug: "${slug}") { slug } }`, {}, { key: app.keys.editor }));
    const key = dataOf(await app.gql(`mutation { createApiKey(input: { name: "audited key", role: EDITOR }) { apiKey { id } key } }`, {}, { key: app.keys.admin })).createApiKey;
    dataOf(await app.gql(`mutation ($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: key.apiKey.id }, { key: app.keys.admin }));

    const topics = nodes(dataOf(await app.gql(AUDIT_LOG, { filter: { entityType: 'Topic' }, first: 10 }, { key: app.keys.admin })).auditLog).filter((r) => r.entityId === slug);
    expect(topics.map((r) => r.action)).toEqual(['RETIRE', 'UPDATE', 'CREATE']);
    expect(change(topics[1]!, 'namePl')).toMatchObject({ before: null, after: 'Audyt' });
    const keys = nodes(dataOf(await app.gql(AUDIT_LOG, { filter: { entityType: 'ApiKey', actorName: 'test admin' }, first: 10 }, { key: app.keys.admin })).auditLog);
    expect(keys.filter((r) => r.entityId === key.apiKey.id).map((r) => r.action)).toEqual(['REVOKE', 'CREATE']);
    // The key itself, or its hash, is never in the log.
    expect(JSON.stringify(keys)).not.toContain(key.key);
    expect(JSON.stringify(keys)).not.toMatch(/keyHash|prefix/);

    // Pages of one walk the whole log without repeats.
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 200; page++) {
      const log: any = dataOf(await app.gql(AUDIT_LOG, { first: 1, after, filter: { entityType: 'Topic' } }, { key: app.keys.admin })).auditLog;
      seen.push(...nodes(log).map((r) => `${r.entityId} ${r.action}`));
      if (!log.pageInfo.hasNextPage) break;
      after = log.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((s) => s.startsWith(slug))).toEqual([`${slug} RETIRE`, `${slug} UPDATE`, `${slug} CREATE`]);
  });

  it('lets only editors read revisions and only admins read the audit log', async () => {
    const workshop = await createWorkshop(app);
    for (const caller of [{}, { key: app.keys.partner, persisted: true }]) {
      const revisions = await app.gql(WORKSHOP_REVISIONS, { id: workshop.id }, caller);
      expect(codesOf(revisions)).toEqual(['FORBIDDEN']);
      expect(revisions.data?.workshop).toEqual({ revisions: null });
      const log = await app.gql(AUDIT_LOG, { first: 5 }, caller);
      expect(codesOf(log)).toEqual(['FORBIDDEN']);
      expect(log.data?.auditLog ?? null).toBeNull();
    }
    expect(codesOf(await app.gql(AUDIT_LOG, { first: 5 }, { key: app.keys.editor }))).toEqual(['FORBIDDEN']);
  });

  it('follows erasure: the person’s revisions keep which fields changed, not what they said', async () => {
    const workshop = await createWorkshop(app);
    const person = `erase-me-${randomBytes(3).toString('hex')}@example.com`;
    dataOf(await enroll(app, workshop.id, person));
    const subscriber = await app.database.prisma.subscriber.findUniqueOrThrow({ where: { email: person } });
    // A revision that did hold the person's data (as an editor-side change of their record would).
    await app.database.prisma.$transaction((tx) =>
      recordRevision(tx, { kind: 'apiKey', keyId: subscriber.id, name: 'test editor', role: 'EDITOR', client: null }, {
        type: 'ApiKey', id: subscriber.id, action: 'UPDATE', before: { name: null }, after: { name: person }, subscriberId: subscriber.id,
      }),
    );
    const held = await app.database.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM audit_events WHERE changes::text LIKE ${`%${person}%`}`;
    expect(held[0]!.n).toBe(1);

    dataOf(await app.gql(`mutation ($id: ID!) { eraseSubscriber(id: $id) { id } }`, { id: encodeGlobalId('Subscriber', subscriber.id) }, { key: app.keys.admin }));
    const left = await app.database.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM audit_events WHERE changes::text LIKE ${`%${person}%`} OR changes::text LIKE ${`%${person.split('@')[0]}%`}`;
    expect(left[0]!.n).toBe(0);
    const erasure = nodes(dataOf(await app.gql(AUDIT_LOG, { filter: { entityType: 'Subscriber', action: 'ERASE' }, first: 5 }, { key: app.keys.admin })).auditLog)[0]!;
    expect(change(erasure, 'email')).toEqual({ field: 'email', before: null, after: null, redacted: true });
    expect(change(erasure, 'erasedAt')).toMatchObject({ before: null, redacted: false });
    const scrubbed = nodes(dataOf(await app.gql(AUDIT_LOG, { filter: { entityType: 'ApiKey', action: 'UPDATE' }, first: 50 }, { key: app.keys.admin })).auditLog);
    expect(scrubbed.find((r) => r.entityId.length > 0 && JSON.stringify(r).includes('redacted":true'))).toBeDefined();
  });
});
