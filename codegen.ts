import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * graphql-codegen. schema.graphql is the contract clients build against; it is printed from the
 * Pothos schema by `npm run schema`. Client operations and the persisted-operation manifest join
 * here with the persisted-operations issue.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    'src/generated/schema.graphql': { plugins: ['schema-ast'] },
  },
};

export default config;
