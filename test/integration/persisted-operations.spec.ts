import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPersistedManifests } from '../../src/infra/persisted-manifests.js';
import { codesOf, dataOf, documentId, startTestApp, type TestApp } from '../testkit/app.js';
import { PRODUCTION_MAIL_ENV } from '../testkit/production-env.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const TOPICS = '{ topics { slug } }';
const ACME_ONLY = 'query AcmeWorkshops { workshops(first: 2) { totalCount } }';
const OTHER_ONLY = 'query OtherTopics { topics { name } }';
const ENROLL = 'mutation Enroll($input: EnrollInput!) { enroll(input: $input) { cancellationToken } }';
const WEB_TOPICS = 'query WebTopics { topics { slug } }';

const hex = (doc: string) => createHash('sha256').update(doc).digest('hex');

describe('persisted operations', () => {
  for (const mode of ['development', 'production'] as const) {
    describe(`policy in ${mode}`, () => {
      let app: TestApp;
      beforeAll(async () => {
        app = await startTestApp({
          persisted: { acme: [TOPICS, ACME_ONLY, ENROLL], other: [OTHER_ONLY], web: [WEB_TOPICS] },
          env: { NODE_ENV: mode, ...PRODUCTION_MAIL_ENV, TOKEN_SECRET: 't'.repeat(40) },
        });
      });
      afterAll(() => app?.close());

      it('lets a partner run its own manifest, by documentId or APQ hash', async () => {
        expect(dataOf(await app.gql(ACME_ONLY, {}, { key: app.keys.partner, persisted: true })).workshops.totalCount).toBe(0);
        const apq = await app.yoga.fetch('http://localhost/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${app.keys.partner}` },
          body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hex(TOPICS) } } }),
        });
        expect((await apq.json()).data.topics.length).toBeGreaterThan(5);
      });

      it("refuses a partner's documents, another client's operations, and bad ids", async () => {
        const key = app.keys.partner;
        expect(codesOf(await app.gql(TOPICS, {}, { key }))).toEqual(['PERSISTED_QUERY_ONLY']);
        expect(codesOf(await app.gql(OTHER_ONLY, {}, { key, persisted: true }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
        expect(codesOf(await app.gql('query Unknown { __typename }', {}, { key, persisted: true }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
        const malformed = await app.yoga.fetch('http://localhost/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ documentId: 'sha256:not-a-hash' }),
        });
        expect(codesOf(await malformed.json())).toEqual(['PERSISTED_QUERY_ID_INVALID']);
      });

      it('lets editors send any document, anonymous callers only outside production', async () => {
        expect(codesOf(await app.gql(TOPICS, {}, { key: app.keys.editor }))).toEqual([]);
        expect(codesOf(await app.gql(TOPICS))).toEqual(mode === 'production' ? ['PERSISTED_QUERY_ONLY'] : []);
      });

      it("lets anonymous callers run the public manifests' operations only (PUBLIC_PERSISTED_CLIENTS, default web), never a partner's", async () => {
        expect(codesOf(await app.gql(WEB_TOPICS, {}, { persisted: true }))).toEqual([]);
        expect(codesOf(await app.gql(TOPICS, {}, { persisted: true }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
        expect(codesOf(await app.gql(ACME_ONLY, {}, { persisted: true }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
        // Editors may still run any manifest's operations.
        expect(codesOf(await app.gql(ACME_ONLY, {}, { key: app.keys.editor, persisted: true }))).toEqual([]);
      });

      it('serves persisted queries over GET, and refuses persisted mutations over GET with 405', async () => {
        const get = (doc: string, variables?: object, csrf = true) =>
          app.yoga.fetch(
            `http://localhost/graphql?documentId=${encodeURIComponent(documentId(doc))}${variables ? `&variables=${encodeURIComponent(JSON.stringify(variables))}` : ''}`,
            { headers: { accept: 'application/json', authorization: `Bearer ${app.keys.partner}`, ...(csrf ? { 'x-graphql-csrf': '1' } : {}) } },
          );
        // Production refuses header-less GETs: a cross-site page cannot add the CSRF header without a preflight.
        expect((await get(TOPICS, undefined, false)).status).toBe(mode === 'production' ? 403 : 200);
        const query = await get(TOPICS);
        expect(query.status).toBe(200);
        expect((await query.json()).data.topics.length).toBeGreaterThan(5);
        expect((await get(ENROLL, { input: { workshopId: 'x', email: 'a@b.co' } })).status).toBe(405);
      });
    });
  }

  it('loads manifests in graphql-codegen and Apollo formats, and rejects mis-keyed ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifests-'));
    writeFileSync(join(dir, 'web.json'), JSON.stringify({ [`sha256:${hex(TOPICS)}`]: TOPICS }));
    writeFileSync(
      join(dir, 'acme.json'),
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [{ id: hex(ACME_ONLY), name: 'AcmeWorkshops', type: 'query', body: ACME_ONLY }],
      }),
    );
    const manifests = loadPersistedManifests(dir);
    expect(manifests.get(`sha256:${hex(ACME_ONLY)}`)).toEqual([
      { id: `sha256:${hex(ACME_ONLY)}`, document: ACME_ONLY, name: 'AcmeWorkshops', type: 'query', client: 'acme' },
    ]);
    expect(manifests.get(`sha256:${hex(TOPICS)}`)?.[0]).toMatchObject({ client: 'web', name: 'anonymous' });

    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ [`sha256:${hex(TOPICS)}`]: OTHER_ONLY }));
    expect(() => loadPersistedManifests(dir)).toThrow(/not the sha256 of its document/);
  });

  it('keeps codegen outputs and persisted/web.json fresh, and every client operation valid against schema.graphql', async () => {
    // --check fails when generated files differ, and codegen fails on operations that do not validate.
    await promisify(execFile)(join(ROOT, 'node_modules/.bin/graphql-codegen'), ['--config', 'codegen.ts', '--check'], { cwd: ROOT });
    const generated = JSON.parse(readFileSync(join(ROOT, 'clients/web/generated/persisted-documents.json'), 'utf8'));
    const published = JSON.parse(readFileSync(join(ROOT, 'persisted/web.json'), 'utf8'));
    expect(published).toEqual(generated);
    const loaded = loadPersistedManifests(join(ROOT, 'persisted'));
    expect([...loaded.values()].flat().map((op) => op.name).sort()).toEqual(
      ['CancelMyEnrollment', 'CheckInWithMyCode', 'Enroll', 'LiveSeats', 'Topics', 'UpcomingWorkshops', 'WorkshopPage'],
    );
  }, 60_000);
});
