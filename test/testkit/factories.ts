import { dataOf, uniqueSlug, type TestApp } from './app.js';
import { decodeGlobalId } from '../../src/shared/ids.js';

const DAY = 24 * 3600 * 1000;

export interface WorkshopOverrides {
  slug?: string;
  capacity?: number;
  startsInDays?: number;
  publish?: boolean;
  titleEn?: string;
  titlePl?: string | null;
  descriptionEn?: string;
  tags?: string[];
}

/** Creates (and by default publishes) a workshop through the API as an editor; returns its global id. */
export async function createWorkshop(app: TestApp, overrides: WorkshopOverrides = {}): Promise<{ id: string; slug: string }> {
  const startsAt = new Date(Date.now() + (overrides.startsInDays ?? 10) * DAY);
  const slug = overrides.slug ?? uniqueSlug();
  const created = dataOf(
    await app.gql<{ createWorkshop: { id: string; slug: string } }>(
      `mutation ($input: CreateWorkshopInput!) { createWorkshop(input: $input) { id slug } }`,
      {
        input: {
          slug,
          title: { en: overrides.titleEn ?? `Workshop ${slug}`, pl: overrides.titlePl === undefined ? `Warsztat ${slug}` : overrides.titlePl },
          description: { en: overrides.descriptionEn ?? 'A hands-on session.', pl: 'Zajęcia praktyczne.' },
          startsAt: startsAt.toISOString(),
          endsAt: new Date(startsAt.getTime() + 3 * 3600 * 1000).toISOString(),
          timezone: 'Europe/Warsaw',
          capacity: overrides.capacity ?? 10,
          location: 'Warszawa',
          tags: overrides.tags ?? ['graphql'],
        },
      },
      { key: app.keys.editor },
    ),
  ).createWorkshop;
  if (overrides.publish !== false) {
    dataOf(await app.gql(`mutation ($id: ID!) { publishWorkshop(id: $id) { id } }`, { id: created.id }, { key: app.keys.editor }));
  }
  return created;
}

export const ENROLL = `mutation ($input: EnrollInput!) { enroll(input: $input) { accepted enrollment { id status } cancellationToken checkInToken } }`;

export interface Enrolled {
  enrollment: { id: string; status: string };
  cancellationToken: string;
  checkInToken: string;
}

/** `enroll` as anyone may call it (anonymous unless a key is given): the raw answer. */
export async function enroll(app: TestApp, workshopId: string, email: string, options: { key?: string; manageToken?: string } = {}) {
  return app.gql<{ enroll: { accepted: boolean; enrollment: { id: string; status: string } | null; cancellationToken: string | null; checkInToken: string | null } }>(
    ENROLL,
    { input: { workshopId, email, name: 'Test Person', locale: 'EN', ...(options.manageToken ? { manageToken: options.manageToken } : {}) } },
    { key: options.key },
  );
}

/** An editor enrolls the person: no hold, and the detailed answer. */
export async function enrollAsEditor(app: TestApp, workshopId: string, email: string): Promise<Enrolled> {
  const { enrollment, cancellationToken, checkInToken } = dataOf(await enroll(app, workshopId, email, { key: app.keys.editor })).enroll;
  return { enrollment: enrollment!, cancellationToken: cancellationToken!, checkInToken: checkInToken! };
}

/**
 * A person enrolls anonymously and confirms from the mail, as they would: the confirmation link's
 * token from their outbox message, `confirmEnrollment`, then the check-in code and cancellation
 * token from the confirmation notice. (mail-delivery and enrollment-holds specs read real mails.)
 */
export async function enrollConfirmed(app: TestApp, workshopId: string, email: string): Promise<Enrolled> {
  const answer = dataOf(await enroll(app, workshopId, email)).enroll;
  if (!answer.accepted) throw new Error('enroll was not accepted');
  const enrollmentId = await enrollmentIdOf(app, workshopId, email);
  const request = await latestNotice(app, enrollmentId, 'CONFIRM_ENROLLMENT');
  const enrollment = dataOf(await app.gql<{ confirmEnrollment: { id: string; status: string } }>(`mutation ($token: String!) { confirmEnrollment(token: $token) { id status } }`, { token: request.token })).confirmEnrollment;
  const notice = await latestNotice(app, enrollmentId, 'ENROLLMENT_CONFIRMED');
  return { enrollment, cancellationToken: notice.token, checkInToken: String((notice.payload as Record<string, unknown>).checkInToken ?? '') };
}

/** The enrollment (database id) of an email in a workshop (global id). */
export async function enrollmentIdOf(app: TestApp, workshopId: string, email: string): Promise<string> {
  const workshop = decodeGlobalId(workshopId).id;
  const row = await app.database.prisma.enrollment.findFirstOrThrow({ where: { workshopId: workshop, subscriber: { email: email.trim().toLowerCase() } } });
  return row.id;
}

/** The newest outbox message of a kind about an enrollment. */
export async function latestNotice(app: TestApp, enrollmentId: string, kind: string) {
  return app.database.prisma.notification.findFirstOrThrow({ where: { kind, payload: { path: ['enrollmentId'], equals: enrollmentId } }, orderBy: { createdAt: 'desc' } });
}
