import { createYoga, useReadinessCheck, type YogaServerInstance } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import { createLoaders, type Context } from './context.js';
import type { Env } from './env.js';
import type { Database } from './infra/db.js';
import type { Logger } from './infra/logger.js';
import { ApiKeyAuthenticator } from './modules/auth/api-keys-service.js';
import { schema } from './schema.js';
import { createServices } from './services.js';
import { maskError } from './shared/errors.js';
import { localeFromAcceptLanguage } from './shared/locale.js';
import { TokenSigner } from './shared/tokens.js';
import { GRAPHIQL_EXAMPLE_QUERY } from './graphiql-example.js';

export interface AppDependencies {
  env: Env;
  database: Database;
  redis: Redis | null;
  logger: Logger;
}

export type App = YogaServerInstance<Record<string, never>, Context>;

/** Builds the GraphQL app from explicit dependencies; nothing here reads the environment or listens. */
export function createApp({ env, database, redis, logger }: AppDependencies): { yoga: App } {
  const db = database.prisma;
  const services = createServices({ db, tokens: new TokenSigner(env.TOKEN_SECRET) });
  const authenticator = new ApiKeyAuthenticator(db);
  const isDev = env.NODE_ENV !== 'production';

  const yoga = createYoga<Record<string, never>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    graphiql: env.GRAPHIQL ? { title: 'Workshops API', defaultQuery: GRAPHIQL_EXAMPLE_QUERY } : false,
    maskedErrors: { maskError: (error, message) => maskError(error, message, isDev) },
    logging: logger,
    context: async ({ request }): Promise<Context> => ({
      db,
      principal: await authenticator.authenticate(request.headers.get('authorization')),
      locale: localeFromAcceptLanguage(request.headers.get('accept-language')),
      services,
      loaders: createLoaders(db),
    }),
    plugins: [
      // /ready: 200 when the database (and Redis, when configured) answer; 503 otherwise.
      useReadinessCheck({
        endpoint: '/ready',
        check: async () => {
          try {
            await db.$queryRaw`SELECT 1`;
            if (redis) await redis.ping();
            return true;
          } catch (error) {
            logger.warn({ err: error instanceof Error ? error.message : error }, 'readiness check failed');
            return false;
          }
        },
      }),
    ],
  });
  return { yoga };
}
