import { z } from 'zod';
import { withDefault } from '../../shared/validation.js';

export const email = z
  .string()
  .trim()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email({ error: 'must be a valid email address' }))
  .transform((value) => value.toLowerCase());

const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)');

export const preferencesInput = z
  .object({
    frequency: z.enum(['DAILY', 'WEEKLY', 'MONTHLY']),
    channels: z.array(z.enum(['EMAIL', 'SMS', 'PUSH'])).max(3).transform((c) => [...new Set(c)]),
    quietHours: z.object({ start: time, end: time }).nullable(),
    /** INSTANT: an alert when a workshop on one's topics is published; NONE: newsletters only. */
    alerts: z.enum(['INSTANT', 'NONE']),
    /** IANA zone of the quiet hours. */
    timeZone: z.string().max(64).refine((zone) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone, e.g. Europe/Warsaw'),
    settings: z
      .record(z.string().max(50), z.union([z.string().max(500), z.number(), z.boolean(), z.null()]))
      .refine((s) => Object.keys(s).length <= 30, 'at most 30 settings'),
  })
  .partial();

export type Preferences = z.output<typeof preferencesInput>;

export const subscribeInput = z.object({
  email,
  name: z.string().trim().min(1).max(200).nullish(),
  locale: z.enum(['EN', 'PL']),
  topics: withDefault(z.array(z.string()).max(30, 'at most 30 topics'), []),
});

export const updatePreferencesInput = preferencesInput.extend({
  name: z.string().trim().min(1).max(200).nullish(),
  locale: z.enum(['EN', 'PL']).optional(),
  topics: z.array(z.string()).max(30, 'at most 30 topics').optional(),
});
