import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { schemaSDL } from '../../src/schema.js';

describe('generated artifacts', () => {
  it('schema.graphql matches the Pothos schema (run `npm run schema` when this fails)', () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(schemaSDL());
  });
});
