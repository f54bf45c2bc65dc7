import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codesOf, dataOf, documentId, startTestApp, type GraphQLResponse, type TestApp } from '../testkit/app.js';
import { createWorkshop, enroll, enrollConfirmed, enrollmentIdOf, latestNotice } from '../testkit/factories.js';

/**
 * Who may use what issue 15 added: anonymous callers, a partner through its persisted operations,
 * editors and admins. Each operation is in the partner's manifest, so a partner's refusal comes from
 * authorization, not from the safelist.
 */
const OPS = {
  subscribersOrdered: `query { subscribers(first: 2, orderBy: EMAIL_ASC) { edges { node { email } } } }`,
  questionnairesOrdered: `query { questionnaires(first: 2, orderBy: OPENS_AT_ASC) { edges { node { id } } } }`,
  workshopRevisions: `query ($id: ID!) { workshop(id: $id) { id revisions(first: 5) { totalCount } } }`,
  questionnaireRevisions: `query ($id: ID!) { questionnaire(id: $id) { id revisions(first: 5) { totalCount } } }`,
  auditLog: `query { auditLog(first: 5) { totalCount } }`,
  checkIn: `mutation ($id: ID!) { checkIn(enrollmentId: $id) { id status } }`,
  undoCheckIn: `mutation ($id: ID!) { undoCheckIn(enrollmentId: $id) { id status } }`,
  checkInByToken: `mutation ($token: String!) { checkInByToken(token: $token) { status } }`,
  confirmEnrollment: `mutation ($token: String!) { confirmEnrollment(token: $token) { status } }`,
  liveSeats: `subscription ($id: ID!) { workshopChanged(id: $id) { id seatsLeft } }`,
  livePersonal: `subscription ($id: ID!) { workshopChanged(id: $id) { id enrollments(first: 5) { edges { node { subscriber { email } } } } } }`,
} as const;

/** The web app's own live-seats subscription, as codegen published it (persisted/web.json). */
const WEB_MANIFEST = JSON.parse(readFileSync(new URL('../../persisted/web.json', import.meta.url), 'utf8')) as Record<string, string>;
const LIVE_SEATS = Object.values(WEB_MANIFEST).find((doc) => doc.includes('subscription LiveSeats'))!;

type Caller = 'anonymous' | 'partner' | 'editor' | 'admin';
type Outcome = 'ok' | 'FORBIDDEN';

/** What each caller gets; `ok` means data and no error. */
const MATRIX: Record<keyof typeof OPS, Record<Caller, Outcome>> = {
  subscribersOrdered: { anonymous: 'FORBIDDEN', partner: 'FORBIDDEN', editor: 'ok', admin: 'ok' },
  questionnairesOrdered: { anonymous: 'ok', partner: 'ok', editor: 'ok', admin: 'ok' },
  workshopRevisions: { anonymous: 'FORBIDDEN', partner: 'FORBIDDEN', editor: 'ok', admin: 'ok' },
  questionnaireRevisions: { anonymous: 'FORBIDDEN', partner: 'FORBIDDEN', editor: 'ok', admin: 'ok' },
  auditLog: { anonymous: 'FORBIDDEN', partner: 'FORBIDDEN', editor: 'FORBIDDEN', admin: 'ok' },
  checkIn: { anonymous: 'FORBIDDEN', partner: 'FORBIDDEN', editor: 'ok', admin: 'ok' },
  undoCheckIn: { anonymous: 'FORBIDDEN', partner: 'FORBIDDEN', editor: 'ok', admin: 'ok' },
  // The token is the authorization: whoever holds the enrollee's QR code.
  checkInByToken: { anonymous: 'ok', partner: 'ok', editor: 'ok', admin: 'ok' },
  // Likewise: whoever holds the link from the enrollment mail.
  confirmEnrollment: { anonymous: 'ok', partner: 'ok', editor: 'ok', admin: 'ok' },
  liveSeats: { anonymous: 'ok', partner: 'ok', editor: 'ok', admin: 'ok' },
  livePersonal: { anonymous: 'FORBIDDEN', partner: 'FORBIDDEN', editor: 'ok', admin: 'ok' },
};

describe('authorization matrix of the new fields and mutations', () => {
  let app: TestApp;
  let server: Server;
  let url: string;
  let workshopId: string;
  let questionnaireId: string;
  const tokens: string[] = [];
  const enrollments: string[] = [];
  const confirmTokens: string[] = [];
  beforeAll(async () => {
    app = await startTestApp({ persisted: { acme: Object.values(OPS), web: [LIVE_SEATS] } });
    server = createServer(app.yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    workshopId = (await createWorkshop(app, { startsInDays: 30 / (24 * 60), capacity: 20 })).id;
    questionnaireId = dataOf(await app.gql(`mutation ($input: CreateQuestionnaireInput!) { createQuestionnaire(input: $input) { id } }`, {
      input: { workshopId, kind: 'POST_WORKSHOP', title: { en: 'Matrix' }, questions: [{ type: 'RATING', prompt: { en: 'Rate it' } }] },
    }, { key: app.keys.editor })).createQuestionnaire.id;
    dataOf(await app.gql(`mutation ($id: ID!) { openQuestionnaire(id: $id) { id } }`, { id: questionnaireId }, { key: app.keys.editor }));
    for (let i = 0; i < 4; i++) {
      const enrolled = await enrollConfirmed(app, workshopId, `matrix-${i}-${Date.now()}@example.com`);
      tokens.push(enrolled.checkInToken);
      enrollments.push(enrolled.enrollment.id);
      const held = `matrix-held-${i}-${Date.now()}@example.com`;
      dataOf(await enroll(app, workshopId, held));
      confirmTokens.push((await latestNotice(app, await enrollmentIdOf(app, workshopId, held), 'CONFIRM_ENROLLMENT')).token);
    }
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await app?.close();
  });

  const headersOf = (caller: Caller): Record<string, string> =>
    caller === 'anonymous' ? {} : { authorization: `Bearer ${app.keys[caller]}` };

  async function run(caller: Caller, op: keyof typeof OPS | 'webLiveSeats', variables: Record<string, unknown>): Promise<GraphQLResponse> {
    const document = op === 'webLiveSeats' ? LIVE_SEATS : OPS[op];
    if (document.startsWith('subscription')) {
      const body = caller === 'partner' || op === 'webLiveSeats' ? { documentId: documentId(document), variables } : { query: document, variables };
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headersOf(caller) }, body: JSON.stringify(body) });
      // The first event (the workshop as it is) answers the question; then the stream is closed.
      const reader = response.body!.getReader();
      let text = '';
      while (!/event: next\ndata: .*\n\n/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      await reader.cancel();
      return JSON.parse(/event: next\ndata: (.*)\n\n/.exec(text)![1]!) as GraphQLResponse;
    }
    return app.gql(document, variables, { ...(caller === 'anonymous' ? {} : { key: app.keys[caller] }), persisted: caller === 'partner' });
  }

  const callers: Caller[] = ['anonymous', 'partner', 'editor', 'admin'];
  for (const op of Object.keys(MATRIX) as (keyof typeof OPS)[]) {
    it(`${op}: ${callers.map((c) => `${c} ${MATRIX[op][c]}`).join(', ')}`, async () => {
      for (const [index, caller] of callers.entries()) {
        const variables = op === 'checkInByToken' ? { token: tokens[index] } : op === 'confirmEnrollment' ? { token: confirmTokens[index] } : op === 'checkIn' || op === 'undoCheckIn' ? { id: enrollments[index] } : op === 'questionnaireRevisions' ? { id: questionnaireId } : { id: workshopId };
        const response = await run(caller, op, variables);
        if (MATRIX[op][caller] === 'ok') {
          expect({ caller, errors: response.errors ?? [] }).toEqual({ caller, errors: [] });
        } else {
          expect({ caller, codes: codesOf(response) }).toEqual({ caller, codes: ['FORBIDDEN'] });
          expect(JSON.stringify(response.data ?? null)).not.toMatch(/@example\.com|totalCount":\d/);
        }
      }
    });
  }

  it('leaves the enrollments of refused callers untouched', async () => {
    const statuses = await app.database.prisma.enrollment.findMany({ where: { id: { in: enrollments.map((id) => Buffer.from(id, 'base64').toString().split(':')[1]!) } } });
    expect(statuses.every((e) => ['ENROLLED', 'ATTENDED'].includes(e.status))).toBe(true);
  });

  it('runs the web app\'s persisted LiveSeats subscription for anonymous callers', async () => {
    expect(LIVE_SEATS).toBeDefined();
    const first = await run('anonymous', 'webLiveSeats', { id: workshopId });
    expect(first.errors ?? []).toEqual([]);
    expect(first.data?.workshopChanged).toMatchObject({ id: workshopId, seatsLeft: expect.any(Number) });
  });
});
