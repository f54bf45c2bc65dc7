import { defineConfig } from 'prisma/config';

// The Prisma CLI is used offline to author migrations and check drift; see README "Migrations".
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'pglite:memory' },
});
