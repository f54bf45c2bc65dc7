import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql ships both .mjs and .js; Vite would pick .mjs for our code while dependencies load
  // the CommonJS build, giving two graphql realms. Pin everyone to one.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    include: ['test/**/*.spec.ts', 'src/**/*.spec.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Two cores: two files at a time, each against its own database.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    env: { LOG_LEVEL: 'silent' },
  },
});
