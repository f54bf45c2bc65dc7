import type { Db } from './db.js';
import { createApiKey, DEVELOPMENT_ADMIN_KEY, hashApiKey } from '../modules/auth/api-keys-service.js';
import type { WorkshopStatus, EnrollmentStatus } from '../generated/prisma/client.js';
import { seedQuestionnaires } from '../modules/questionnaires/questionnaire-seed.js';
import { seedSubscribers } from '../modules/subscribers/subscriber-seed.js';

/** Demo workshops: English and Polish text, a spread of topics, dates, capacities and statuses. */
const SUBJECTS = [
  { en: 'TypeScript for Backend Developers', pl: 'TypeScript dla programistów backendu', tags: ['typescript', 'backend'] },
  { en: 'GraphQL API Design', pl: 'Projektowanie API w GraphQL', tags: ['graphql', 'backend'] },
  { en: 'Postgres Performance Tuning', pl: 'Strojenie wydajności Postgresa', tags: ['databases', 'performance'] },
  { en: 'Accessible Frontends', pl: 'Dostępne interfejsy użytkownika', tags: ['frontend', 'accessibility'] },
  { en: 'Product Discovery Workshop', pl: 'Warsztat odkrywania produktu', tags: ['product'] },
  { en: 'Data Visualisation with D3', pl: 'Wizualizacja danych w D3', tags: ['frontend', 'data'] },
  { en: 'Kubernetes Basics', pl: 'Podstawy Kubernetesa', tags: ['devops'] },
  { en: 'Writing Good Tests', pl: 'Pisanie dobrych testów', tags: ['testing'] },
  { en: 'Security for Web Developers', pl: 'Bezpieczeństwo dla twórców stron', tags: ['security', 'backend'] },
  { en: 'Zażółć gęślą jaźń: Polish Typography', pl: 'Zażółć gęślą jaźń: typografia polska', tags: ['design'] },
] as const;

const CITIES = ['Warszawa', 'Kraków', 'Gdańsk', 'Wrocław', 'Poznań', null] as const;
const FIRST_NAMES = ['Anna', 'Piotr', 'Kasia', 'Tomasz', 'Ola', 'Marek', 'Ewa', 'John', 'Mary', 'Łukasz', 'Zofia', 'Jan'];

const DAY = 24 * 3600 * 1000;

function slugify(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .replace(/ł/g, 'l')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Seeds a few dozen workshops with enrollments, and the development admin key. Idempotent per slug. */
export async function seedDemo(db: Db, now = new Date()): Promise<Record<string, number>> {
  const subscribers = await Promise.all(
    Array.from({ length: 40 }, (_, i) => {
      const first = FIRST_NAMES[i % FIRST_NAMES.length]!;
      const email = `${first.toLowerCase().replace('ł', 'l')}.${i}@example.com`;
      return db.subscriber.upsert({
        where: { email },
        create: { email, name: `${first} Demo ${i}`, locale: i % 3 === 0 ? 'EN' : 'PL' },
        update: {},
      });
    }),
  );
  let workshops = 0;
  let enrollments = 0;
  for (let i = 0; i < 36; i++) {
    const subject = SUBJECTS[i % SUBJECTS.length]!;
    const edition = Math.floor(i / SUBJECTS.length) + 1;
    const city = CITIES[i % CITIES.length] ?? null;
    const startsAt = new Date(now.getTime() + (i - 6) * 3 * DAY + 9 * 3600 * 1000);
    const status: WorkshopStatus = i % 9 === 4 ? 'DRAFT' : i % 11 === 7 ? 'ARCHIVED' : 'PUBLISHED';
    const capacity = [8, 12, 20, 30][i % 4]!;
    const slug = `${slugify(subject.en)}-${edition}`;
    const workshop = await db.workshop.upsert({
      where: { slug },
      update: {},
      create: {
        slug,
        titleEn: `${subject.en}${edition > 1 ? ` (edition ${edition})` : ''}`,
        // Every fourth workshop has no Polish text, to show the English fallback.
        titlePl: i % 4 === 3 ? null : `${subject.pl}${edition > 1 ? ` (edycja ${edition})` : ''}`,
        descriptionEn: `A hands-on, small-group workshop: ${subject.en}. Bring a laptop; we pair on real problems.`,
        descriptionPl: i % 4 === 3 ? null : `Praktyczny warsztat w małej grupie: ${subject.pl}. Weź laptopa; pracujemy w parach.`,
        status,
        startsAt,
        endsAt: new Date(startsAt.getTime() + 6 * 3600 * 1000),
        timezone: 'Europe/Warsaw',
        capacity,
        location: city,
        onlineUrl: city ? null : 'https://meet.example.com/workshops',
        tags: [...subject.tags],
      },
    });
    workshops++;
    if (status === 'DRAFT') continue;
    // Some workshops fill up and grow a waitlist; past ones have attendees.
    const wanted = Math.min(subscribers.length, Math.round(capacity * [0.3, 0.7, 1.0, 1.3][i % 4]!));
    for (let n = 0; n < wanted; n++) {
      const subscriber = subscribers[(i * 7 + n) % subscribers.length]!;
      const past = startsAt < now;
      const status: EnrollmentStatus = n >= capacity ? 'WAITLISTED' : past ? 'ATTENDED' : n % 10 === 9 && wanted <= capacity ? 'CANCELLED' : 'ENROLLED';
      await db.enrollment.upsert({
        where: { workshopId_subscriberId: { workshopId: workshop.id, subscriberId: subscriber.id } },
        update: {},
        create: {
          workshopId: workshop.id,
          subscriberId: subscriber.id,
          status,
          createdAt: new Date(startsAt.getTime() - 20 * DAY + n * 3600 * 1000),
          cancelledAt: status === 'CANCELLED' ? new Date(startsAt.getTime() - 5 * DAY) : null,
        },
      });
      enrollments++;
    }
  }
  const feedback = await seedQuestionnaires(db, now);
  const readers = await seedSubscribers(db, now);
  return { workshops, enrollments, ...feedback, ...readers };
}

/** The development admin key, documented in the README; only ever created in the embedded database. */
export async function ensureDevelopmentAdminKey(db: Db): Promise<void> {
  const existing = await db.apiKey.findUnique({ where: { keyHash: hashApiKey(DEVELOPMENT_ADMIN_KEY) } });
  if (!existing) await createApiKey(db, { name: 'development admin', role: 'ADMIN', key: DEVELOPMENT_ADMIN_KEY });
}
