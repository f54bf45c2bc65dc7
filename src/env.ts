import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { DEVELOPMENT_REQUESTS_PER_MINUTE, resolveLimits, type LimitTier, type Limits } from './config/limits.js';
import type { RedisTarget } from './infra/redis.js';
import { parseTrustProxy } from './shared/client-address.js';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Each concern's settings; every variable is optional and has a documented default. */
const http = z.object({
  /**
   * Only `production` changes anything: it requires DATABASE_URL (refuses the embedded database) and
   * refuses DEVELOPMENT_RELAXATIONS and SEED_DEMO. TOKEN_SECRET is required with any DATABASE_URL,
   * whatever NODE_ENV says. Every value (or none) runs strict unless relaxed (see `relaxed`).
   * @default 'development'
   */
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  /** @default 4000 */
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** @default '127.0.0.1' (use 0.0.0.0 in containers) */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** GraphiQL on /graphql. @default `relaxed` (on for the embedded database or DEVELOPMENT_RELAXATIONS=true) */
  GRAPHIQL: bool.optional(),
  /** @default 'info' */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** On SIGTERM/SIGINT, the most the whole drain may take before connections are cut (exit code 1). @default 10000 */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** On SIGTERM/SIGINT, how long /ready answers 503 before the server stops accepting (time for load balancers to notice). @default 0 */
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(600_000).default(0),
});

const observability = z.object({
  /** Requests slower than this (ms) are logged as a warning naming the operation. @default 1000 */
  SLOW_OPERATION_MS: z.coerce.number().int().min(0).default(1000),
  /** Bearer token that opens GET /metrics (and nothing else) in production, for Prometheus; ADMIN keys work too. @default none */
  METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  /**
   * OpenTelemetry tracing is on when any of these standard variables names an exporter (the SDK reads
   * them and the other OTEL_* variables itself: OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_PROTOCOL,
   * OTEL_TRACES_SAMPLER…). @default none (tracing off)
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** @default none */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  /** `otlp`, `zipkin`, `console` or `none` (comma-separated). @default none */
  OTEL_TRACES_EXPORTER: z.string().optional(),
  /** `true` turns tracing off whatever else is set. @default false */
  OTEL_SDK_DISABLED: bool.default(false),
});

const db = z.object({
  /** postgres://… switches from the embedded PGlite to a real Postgres. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /**
   * Streaming replicas for reads, comma-separated postgres:// URLs: reads of requests that have not
   * written go to them in turn (health-checked; the primary when none answers). @default none
   */
  DATABASE_REPLICA_URLS: z
    .string()
    .regex(/^postgres(ql)?:\/\/[^,\s]+(\s*,\s*postgres(ql)?:\/\/[^,\s]+)*$/, 'must be postgres:// URLs, comma-separated')
    .transform((value) => value.split(',').map((url) => url.trim()))
    .optional(),
  /** A replica whose replay lags further behind than this gets no reads. @default 5000 */
  DATABASE_REPLICA_MAX_LAG_MS: z.coerce.number().int().min(0).max(3_600_000).default(5000),
  /**
   * `pgbouncer`: the database URLs point at a pooler in transaction mode, so nothing relies on session
   * state (the statement timeout is set per transaction, not as a startup parameter). @default 'none'
   */
  DB_POOLER: z.enum(['none', 'pgbouncer']).default('none'),
  /** Where the embedded database lives. @default '.data/pglite' */
  DATA_DIR: z.string().min(1).default('.data/pglite'),
  /** @default 10 */
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /** @default 5000 */
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  /**
   * Statement timeout of maintenance work: migrations, partition moves and statistics refreshes
   * (REFRESH MATERIALIZED VIEW CONCURRENTLY), each in its own transaction (`SET LOCAL statement_timeout`).
   * @default 600000 (10 min)
   */
  DB_MAINTENANCE_TIMEOUT_MS: z.coerce.number().int().min(1000).max(86_400_000).default(600_000),
  /** Connecting to Postgres, and waiting for a free pooled connection. @default 5000 */
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** Client-side bound on one query (a frozen server never fires statement_timeout). @default DB_STATEMENT_TIMEOUT_MS + 1000 */
  DB_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).optional(),
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
  /**
   * A Redis Cluster instead: its seed nodes as `host:port`, comma-separated (the client discovers the
   * rest). Exclusive with REDIS_URL. @default none
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^[^\s,:]+:\d{1,5}(\s*,\s*[^\s,:]+:\d{1,5})*$/, 'host:port pairs, comma-separated')
    .optional()
    .transform((value) => value?.split(',').map((node) => {
      const [host, port] = node.trim().split(':');
      return { host: host!, port: Number(port) };
    })),
  /**
   * Live subscriptions (SSE) one client may hold open at a time on one instance: per API key, or per
   * IP address for anonymous callers; one more is RATE_LIMITED (429). @default 10
   */
  LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT: z.coerce.number().int().min(1).max(10_000).default(10),
  /**
   * How long a request waits for a Redis call outside the response cache (rate limits, enrollment
   * bounds) before it uses the per-instance stand-in; a healthy Redis answers in about 1 ms. @default 100
   */
  REDIS_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(5).max(10_000).default(100),
});

const cache = z.object({
  /** Cache query responses (turn off to compare, e.g. in the benchmark). @default true */
  RESPONSE_CACHE: bool.default(true),
  /** Redis key namespace of the response cache and rate limits (deployments sharing a Redis need different ones). @default 'rc' */
  CACHE_NAMESPACE: z.string().regex(/^[A-Za-z0-9:_-]{1,40}$/, 'letters, digits, ":", "_" or "-"').default('rc'),
  /** Size of each instance's in-process response cache tier, in bytes. @default 67108864 (64 MiB) */
  CACHE_LRU_BYTES: z.coerce.number().int().min(1024 * 1024).max(8 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
  /**
   * Identifies the build in every response cache key (with a hash of the printed schema), so answers
   * cached by another build are never served. @default a digest of the app's code
   */
  BUILD_ID: z.string().min(1).max(200).optional(),
});

const analytics = z.object({
  /** Periodic refresh of the materialized statistics. @default 3600000 (1 h) */
  STATS_REFRESH_INTERVAL_MS: z.coerce.number().int().min(10_000).default(3_600_000),
  /** Refresh this long after the last write that changes statistics; 0 turns it off. @default 30000 */
  STATS_REFRESH_DEBOUNCE_MS: z.coerce.number().int().min(0).default(30_000),
  /** Monthly event partitions older than this are detached by the maintenance job. @default 24 */
  ANALYTICS_RETENTION_MONTHS: z.coerce.number().int().min(1).max(120).default(24),
});

const jobs = z.object({
  /**
   * `inline`: this process runs the job workers and the outbox relay (the default, so `npm start` sends
   * mail); `off`: it only enqueues, and `npm run worker` processes (REDIS_URL required) do the work.
   * @default 'inline'
   */
  WORKERS: z.enum(['inline', 'off']).default('inline'),
  /** First retry delay of a failed job; each further retry waits twice as long. @default 2000 */
  JOB_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(2000),
  /** Visibility timeout: a job whose worker went silent this long (it died) is taken over by another. @default 90000 */
  JOB_LOCK_MS: z.coerce.number().int().min(1000).max(3_600_000).default(90_000),
  /** `npm run worker` only: serve its /metrics (job durations, dead letters) on this port, with METRICS_TOKEN unless relaxed. @default none */
  WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** How often the outbox relay looks for unsent messages. @default 1000 */
  OUTBOX_POLL_MS: z.coerce.number().int().min(50).max(600_000).default(1000),
  /** An unsent message is enqueued again this long after the last time (the queue lost it). @default 300000 */
  OUTBOX_REQUEUE_AFTER_MS: z.coerce.number().int().min(1000).default(300_000),
});

const mail = z.object({
  /** Base URL of the links in mails (confirm, unsubscribe, tracking). Required in production. @default http://HOST:PORT */
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** `smtp` (needs SMTP_URL) or `file` (.eml files in MAIL_DIR). Production needs one said explicitly or an SMTP_URL. @default 'smtp' with SMTP_URL, else 'file' */
  MAIL_TRANSPORT: z.enum(['smtp', 'file']).optional(),
  /** smtp://user:pass@host:587 or smtps://…:465; sent through a pool of connections. */
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
  /** Connections in the SMTP pool. @default 5 */
  SMTP_POOL_SIZE: z.coerce.number().int().min(1).max(50).default(5),
  /** The From of every mail. @default 'Workshops <no-reply@workshops.local>' */
  MAIL_FROM: z.string().min(3).default('Workshops <no-reply@workshops.local>'),
  /** Where the file transport writes its .eml files. @default '.data/mail' */
  MAIL_DIR: z.string().min(1).default('.data/mail'),
  /** The team's chat channel (Slack/Discord-style incoming webhook): one signed post per published workshop. @default none */
  ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** HMAC-SHA256 secret of the webhook signature header (32+ chars); required with ALERT_WEBHOOK_URL. */
  WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
});

const security = z.object({
  /** Per-role limits as JSON over the defaults in src/config/limits.ts. @default none */
  LIMITS: z.string().optional(),
  /** Largest request body in bytes; larger ones get 413. @default 102400 (100 KiB) */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(100 * 1024),
  /** Folder of persisted-operation manifests, one file per client (`<client>.json`). @default 'persisted' */
  PERSISTED_OPERATIONS_DIR: z.string().min(1).default('persisted'),
  /** Manifests anonymous callers may run (comma-separated client names); partners' stay theirs. @default 'web' */
  PUBLIC_PERSISTED_CLIENTS: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\s*,\s*[A-Za-z0-9_-]+)*$/, 'client names (manifest file names without .json), comma-separated')
    .default('web')
    .transform((value) => value.split(',').map((name) => name.trim())),
  /**
   * Proxies allowed to name the client in X-Forwarded-For: a hop count (`1` behind one load balancer)
   * or their addresses/CIDRs, comma-separated (`loopback`, `uniquelocal`… too). `true` is refused.
   * @default none (the socket's peer address)
   */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((value, ctx) => {
      try {
        return parseTrustProxy(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /**
   * Questionnaire summaries and workshop rating figures drawn from fewer answers than this are
   * withheld from everyone but editors (one response would show that person's answers). @default 5
   */
  SUMMARY_MIN_GROUP_SIZE: z.coerce.number().int().min(1).max(1000).default(5),
  /** Anonymous enrollments per client address per hour; RATE_LIMITED past it. @default 20 (lifted when relaxed) */
  ENROLLMENTS_PER_IP_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).optional(),
  /** Anonymous enrollments naming one email address per hour; RATE_LIMITED past it. @default 5 (lifted when relaxed) */
  ENROLLMENTS_PER_EMAIL_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).optional(),
  /**
   * How long an enrollment from an unverified address holds its seat (PENDING) or waitlist place
   * before the maintenance job releases it unconfirmed (at the workshop's start at the latest). @default 24
   */
  ENROLLMENT_HOLD_HOURS: z.coerce.number().int().min(1).max(720).default(24),
  /** HMAC secret for subscriber and enrollment tokens (32+ chars); required unless the database is the embedded one. */
  TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /**
   * Opt in to the development relaxations (see `relaxed`) on a real Postgres, e.g. a local one.
   * Refused with NODE_ENV=production. @default false (true is implied by the embedded database)
   */
  DEVELOPMENT_RELAXATIONS: bool.default(false),
});

const schema = http.merge(observability).merge(db).merge(redis).merge(cache).merge(analytics).merge(jobs).merge(mail).merge(security).superRefine((env, ctx) => {
  try {
    resolveLimits(env.LIMITS, false);
  } catch (error) {
    ctx.addIssue({ code: 'custom', path: ['LIMITS'], message: (error as Error).message });
  }
  if (env.SHUTDOWN_DELAY_MS >= env.SHUTDOWN_TIMEOUT_MS) {
    ctx.addIssue({ code: 'custom', path: ['SHUTDOWN_DELAY_MS'], message: 'must be shorter than SHUTDOWN_TIMEOUT_MS' });
  }
  // Anyone who knows the source's development secret could forge manage and cancellation tokens.
  if (env.DATABASE_URL && !env.TOKEN_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['TOKEN_SECRET'], message: 'is required with DATABASE_URL (32+ random characters; the built-in one is for the embedded database only)' });
  }
  if (env.DATABASE_REPLICA_URLS && !env.DATABASE_URL) {
    ctx.addIssue({ code: 'custom', path: ['DATABASE_REPLICA_URLS'], message: 'needs DATABASE_URL (the primary; the embedded database has no replicas)' });
  }
  if (env.NODE_ENV === 'production' && !env.DATABASE_URL) {
    ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'is required in production (the embedded database is for development)' });
  }
  // Production must not write its mail to files by accident, nor send links to localhost.
  if (env.NODE_ENV === 'production' && !env.SMTP_URL && !env.MAIL_TRANSPORT) {
    ctx.addIssue({ code: 'custom', path: ['SMTP_URL'], message: 'is required in production (or MAIL_TRANSPORT=file to keep mail in MAIL_DIR on purpose)' });
  }
  if (env.NODE_ENV === 'production' && !env.PUBLIC_URL) {
    ctx.addIssue({ code: 'custom', path: ['PUBLIC_URL'], message: 'is required in production (the base of the links in mails)' });
  }
  if (env.ALERT_WEBHOOK_URL && !env.WEBHOOK_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['WEBHOOK_SECRET'], message: 'is required with ALERT_WEBHOOK_URL (the receiver checks the signature)' });
  }
  if (env.REDIS_URL && env.REDIS_CLUSTER_NODES) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_CLUSTER_NODES'], message: 'cannot be combined with REDIS_URL (one Redis server, or one cluster)' });
  }
  if (env.WORKERS === 'off' && !env.REDIS_URL && !env.REDIS_CLUSTER_NODES) {
    ctx.addIssue({ code: 'custom', path: ['WORKERS'], message: 'off needs REDIS_URL or REDIS_CLUSTER_NODES (without Redis only this process can run the jobs, and `npm run worker` needs Redis)' });
  }
  if (env.MAIL_TRANSPORT === 'smtp' && !env.SMTP_URL) {
    ctx.addIssue({ code: 'custom', path: ['SMTP_URL'], message: 'is required with MAIL_TRANSPORT=smtp' });
  }
  if (env.NODE_ENV === 'production' && env.SEED_DEMO) {
    ctx.addIssue({ code: 'custom', path: ['SEED_DEMO'], message: 'cannot be combined with NODE_ENV=production (demo data is for development)' });
  }
  if (env.NODE_ENV === 'production' && env.DEVELOPMENT_RELAXATIONS) {
    ctx.addIssue({ code: 'custom', path: ['DEVELOPMENT_RELAXATIONS'], message: 'cannot be combined with NODE_ENV=production' });
  }
});

export type Env = Omit<z.infer<typeof schema>, 'LIMITS' | 'PUBLIC_URL' | 'MAIL_TRANSPORT'> & {
  PUBLIC_URL: string;
  MAIL_TRANSPORT: 'smtp' | 'file';
  /** ENROLLMENTS_PER_IP_PER_HOUR / ENROLLMENTS_PER_EMAIL_PER_HOUR with their defaults applied. */
  ENROLLMENT_LIMITS: { perAddressPerHour: number; perEmailPerHour: number };
  GRAPHIQL: boolean;
  TOKEN_SECRET: string;
  LIMITS: Record<LimitTier, Limits>;
  /**
   * The development relaxations, all together: request rates lifted to 1,000,000/min, anonymous
   * callers may send documents (not only persisted ids), unexpected errors carry their message,
   * introspection and field suggestions for everyone, no CSRF header required, /metrics open,
   * GraphiQL by default. True for the embedded database or DEVELOPMENT_RELAXATIONS=true, never in
   * production, and never because a variable is missing: a DATABASE_URL alone runs strict.
   */
  relaxed: boolean;
  /** OpenTelemetry spans are exported (an exporter is named by the OTEL_* variables and the SDK is not disabled). */
  tracing: boolean;
  /** REDIS_URL, or the cluster of REDIS_CLUSTER_NODES; undefined without Redis. */
  redis: RedisTarget | undefined;
};

/** A fixed development secret, so tokens survive restarts of the embedded demo. Never used with a real database. */
const DEVELOPMENT_TOKEN_SECRET = 'development-only-token-secret-not-for-production';

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Parses the environment, reporting every problem at once. `cli`: for command-line tools (migrate,
 * seed, apikey, cache:flush), which sign no tokens and send no mail: without TOKEN_SECRET a random one
 * stands in, so nothing they could sign would verify anywhere, and the mail settings are not required.
 */
export function parseEnv(source: Record<string, string | undefined> = process.env, options: { cli?: boolean } = {}): Env {
  // Empty strings mean "unset" (docker-compose and shells often pass VAR=).
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  if (options.cli) {
    cleaned.TOKEN_SECRET ??= randomBytes(32).toString('hex');
    // Nor do they send mail: production's mail requirements are the servers' (API and worker).
    if (!cleaned.SMTP_URL) cleaned.MAIL_TRANSPORT ??= 'file';
    cleaned.PUBLIC_URL ??= 'http://127.0.0.1';
  }
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new EnvError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const env = result.data;
  // Production refuses both the embedded database and the opt-in (above), so it is never relaxed.
  const relaxed = !env.DATABASE_URL || env.DEVELOPMENT_RELAXATIONS;
  const exporters = env.OTEL_TRACES_EXPORTER?.split(',').map((name) => name.trim()).filter((name) => name && name !== 'none') ?? [];
  const tracing = !env.OTEL_SDK_DISABLED && (exporters.length > 0 || (env.OTEL_TRACES_EXPORTER === undefined && Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)));
  return {
    ...env,
    relaxed,
    tracing,
    redis: env.REDIS_URL ?? (env.REDIS_CLUSTER_NODES && { clusterNodes: env.REDIS_CLUSTER_NODES }),
    LIMITS: resolveLimits(env.LIMITS, relaxed),
    // Lifted with the request rates when relaxed (unless set), as local tests and demos enroll a lot.
    ENROLLMENT_LIMITS: {
      perAddressPerHour: env.ENROLLMENTS_PER_IP_PER_HOUR ?? (relaxed ? DEVELOPMENT_REQUESTS_PER_MINUTE : 20),
      perEmailPerHour: env.ENROLLMENTS_PER_EMAIL_PER_HOUR ?? (relaxed ? DEVELOPMENT_REQUESTS_PER_MINUTE : 5),
    },
    GRAPHIQL: env.GRAPHIQL ?? relaxed,
    PUBLIC_URL: env.PUBLIC_URL ?? `http://${env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST}:${env.PORT}`,
    MAIL_TRANSPORT: env.MAIL_TRANSPORT ?? (env.SMTP_URL ? 'smtp' : 'file'),
    // Only reachable without DATABASE_URL (refused above otherwise).
    TOKEN_SECRET: env.TOKEN_SECRET ?? DEVELOPMENT_TOKEN_SECRET,
  };
}
