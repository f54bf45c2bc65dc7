import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * graphql-codegen (`npm run codegen`). Clients build against schema.graphql, which `npm run schema`
 * prints from the Pothos schema. Each client app keeps its operations in clients/<app>/operations;
 * the client preset emits typed documents and a persisted-operation manifest, copied to
 * persisted/<app>.json where the server loads it. A test runs `codegen --check`: stale outputs or an
 * operation that no longer validates against the schema fail the suite.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['clients/web/operations/**/*.graphql'],
  ignoreNoDocuments: false,
  // ESM output (`.js` import extensions) for the NodeNext type-check.
  emitLegacyCommonJSImports: false,
  generates: {
    'clients/web/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: 'sha256' } },
      config: { enumsAsTypes: true, useTypeImports: true },
    },
  },
  hooks: {
    afterAllFileWrite: ['node scripts/publish-manifest.mjs clients/web/generated/persisted-documents.json persisted/web.json'],
  },
};

export default config;
