import type { Prisma, Subscriber } from '../../generated/prisma/client.js';
import type { Locale } from '../../shared/locale.js';

export class SubscribersService {
  /**
   * Finds a person by (normalized) email or creates them; an existing name is never overwritten by
   * a stranger. ON CONFLICT makes concurrent first sign-ups with one email meet on one row
   * (Prisma's upsert raced into a unique violation).
   */
  async upsertByEmail(
    tx: Prisma.TransactionClient,
    input: { email: string; name?: string | null; locale?: Locale | null },
  ): Promise<Subscriber> {
    await tx.$executeRaw`
      INSERT INTO subscribers (id, email, name, locale, created_at, updated_at)
      VALUES (gen_random_uuid(), ${input.email}, ${input.name ?? null}, ${input.locale ?? 'EN'}::"Locale", now(), now())
      ON CONFLICT (email) DO NOTHING`;
    return tx.subscriber.findUniqueOrThrow({ where: { email: input.email } });
  }
}
