import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Each concern's settings; every variable is optional and has a documented default. */
const http = z.object({
  /** @default 'development' */
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  /** @default 4000 */
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** @default '127.0.0.1' (use 0.0.0.0 in containers) */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** GraphiQL on /graphql. @default true outside production */
  GRAPHIQL: bool.optional(),
  /** @default 'info' */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

const db = z.object({
  /** postgres://… switches from the embedded PGlite to a real Postgres. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /** Where the embedded database lives. @default '.data/pglite' */
  DATA_DIR: z.string().min(1).default('.data/pglite'),
  /** @default 10 */
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /** @default 5000 */
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  /** Apply pending migrations on start. @default true */
  MIGRATE_ON_START: bool.default(true),
  /** Seed demo data even when the database is not an empty embedded one. @default false */
  SEED_DEMO: bool.default(false),
});

const redis = z.object({
  /** redis://… enables Redis; without it an in-memory store is used. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
});

const security = z.object({
  /** HMAC secret for subscriber and enrollment tokens; required in production (32+ chars). */
  TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
});

const schema = http.merge(db).merge(redis).merge(security).superRefine((env, ctx) => {
  if (env.NODE_ENV === 'production' && !env.TOKEN_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['TOKEN_SECRET'], message: 'is required in production' });
  }
  if (env.NODE_ENV === 'production' && !env.DATABASE_URL) {
    ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'is required in production (the embedded database is for development)' });
  }
});

export type Env = z.infer<typeof schema> & { GRAPHIQL: boolean; TOKEN_SECRET: string };

/** A fixed development secret, so tokens survive restarts of the embedded demo. Never used in production. */
const DEVELOPMENT_TOKEN_SECRET = 'development-only-token-secret-not-for-production';

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Parses the environment, reporting every problem at once. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  // Empty strings mean "unset" (docker-compose and shells often pass VAR=).
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new EnvError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const env = result.data;
  return {
    ...env,
    GRAPHIQL: env.GRAPHIQL ?? env.NODE_ENV !== 'production',
    TOKEN_SECRET: env.TOKEN_SECRET ?? DEVELOPMENT_TOKEN_SECRET,
  };
}
