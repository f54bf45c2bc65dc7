import { z } from 'zod';

const name = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');

/** en is required, pl optional (Polish readers get English where it is missing). */
const localizedName = z.object({ en: name, pl: name.nullish() });

export const createTopicInput = z.object({
  slug: z
    .string()
    .trim()
    .max(50, 'must be at most 50 characters')
    .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be lower-case words joined by hyphens'),
  name: localizedName,
});

/** The slug is the topic's identity (workshops and subscribers store it): only names change. */
export const updateTopicInput = z.object({ name: localizedName });
