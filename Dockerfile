# The API image: compiled JavaScript on Node 24 LTS, production dependencies only, non-root, tini as PID 1.
# Migrations run on start unless MIGRATE_ON_START=false (then: docker compose run api node dist/cli/migrate.js).

# Build: all dependencies (the Prisma generator, TypeScript), generate the client, compile src/ to dist/.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, at the lockfile's versions, without install scripts (the generated client
# is compiled into dist/). The dev list goes first: npm otherwise keeps prisma and typescript, optional
# peers of @prisma/client that we list as dev dependencies (~250 MB with Prisma Studio's packages).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm pkg delete devDependencies && npm install --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
# tini as PID 1 forwards SIGTERM to node and reaps zombies, so graceful shutdown runs on `docker stop`.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY prisma/migrations ./prisma/migrations
COPY persisted ./persisted
USER node
EXPOSE 4000
# Liveness: /health answers while the process lives (/ready is for load balancers and turns 503 while draining).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# Heap cap: ~75 MiB live under load plus the 64 MiB response-cache LRU (CACHE_LRU_BYTES) when full, with
# room to collect; without it V8 sizes the heap from the host's memory and RSS grows far past that.
# Raise it with CACHE_LRU_BYTES (see README "Docker"). The young generation is capped at 8 MiB per
# semi-space: V8's default lets it grow to 16 MiB each, ~50 MiB more RSS (npm run bench:memory: after
# 60 s of load 303–312 MiB uncapped); at 4 MiB the collector took 15 % more CPU per uncached page
# (README "Performance": 10.0 → 8.5 ms at 8 MiB, for 10–20 MiB of RSS). Keep these flags the same as
# package.json's start:prod (test/unit/docker-image.spec.ts checks).
CMD ["node", "--max-old-space-size=192", "--max-semi-space-size=8", "dist/index.js"]
