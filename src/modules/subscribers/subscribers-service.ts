import type { Prisma, Subscriber } from '../../generated/prisma/client.js';
import type { Locale } from '../../shared/locale.js';

export class SubscribersService {
  /** Finds a person by (normalized) email or creates them; an existing name is never overwritten by a stranger. */
  async upsertByEmail(
    tx: Prisma.TransactionClient,
    input: { email: string; name?: string | null; locale?: Locale | null },
  ): Promise<Subscriber> {
    return tx.subscriber.upsert({
      where: { email: input.email },
      create: { email: input.email, name: input.name ?? null, locale: input.locale ?? 'EN' },
      update: {},
    });
  }
}
