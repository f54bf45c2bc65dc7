import { writeFileSync } from 'node:fs';
import { schemaSDL } from '../src/schema.js';

// `npm run schema`: the one writer of schema.graphql; test/integration/schema.spec.ts fails when it is stale.
writeFileSync(new URL('../schema.graphql', import.meta.url), schemaSDL());
console.log('wrote schema.graphql');
