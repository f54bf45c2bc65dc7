import { z } from 'zod';
import { withDefault } from '../../shared/validation.js';

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

const localized = (max: number) => z.object({ en: text(max), pl: text(max).nullish() });

/** Workshop times: the DateTime scalar takes any ISO instant, but a workshop in year 1 or 9999 is a typo. */
const when = z
  .date()
  .min(new Date('2000-01-01T00:00:00Z'), 'must be in the years 2000 to 2099')
  .max(new Date('2100-01-01T00:00:00Z'), 'must be in the years 2000 to 2099');

const workshopFields = {
  slug: z.string().trim().max(100, 'must be at most 100 characters').regex(SLUG, 'must be lower-case words joined by hyphens'),
  title: localized(200),
  description: localized(10_000),
  startsAt: when,
  endsAt: when,
  timezone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Warsaw'),
  capacity: z.number().int().min(1, 'must be at least 1').max(100_000, 'must be at most 100000'),
  location: text(300).nullish(),
  onlineUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000).nullish(),
  tags: z.array(z.string()).max(20, 'at most 20 tags'),
};

export const createWorkshopInput = z
  .object({ ...workshopFields, tags: withDefault(workshopFields.tags, []) })
  .refine((w) => w.startsAt < w.endsAt, { path: ['endsAt'], message: 'must be after startsAt' })
  .refine((w) => w.location || w.onlineUrl, { path: ['location'], message: 'a location or an onlineUrl is required' });

export type CreateWorkshopInput = z.output<typeof createWorkshopInput>;

/** Updates are partial; cross-field rules are checked against the merged record in the service. */
export const updateWorkshopInput = z.object(workshopFields).partial();

export type UpdateWorkshopInput = z.output<typeof updateWorkshopInput>;

export const enrollInput = z.object({
  workshopId: z.string(),
  email: z
    .string()
    .trim()
    .max(254, 'must be at most 254 characters')
    .pipe(z.email({ error: 'must be a valid email address' }))
    .transform((email) => email.toLowerCase()),
  name: text(200).nullish(),
  locale: z.enum(['EN', 'PL']).nullish(),
  manageToken: z.string().max(2000).nullish(),
});

export type EnrollInput = z.output<typeof enrollInput>;
