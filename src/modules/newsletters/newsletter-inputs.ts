import { z } from 'zod';

const text = (max: number) => z.string().trim().min(1).max(max);

export const newsletterInput = z.object({
  subjectEn: text(200),
  subjectPl: text(200).nullish(),
  introEn: text(5000),
  introPl: text(5000).nullish(),
  topics: z.array(z.string()).max(30, 'at most 30 topics').default([]),
  frequency: z.enum(['DAILY', 'WEEKLY', 'MONTHLY']).nullish(),
});

export const updateNewsletterInput = newsletterInput.partial();
