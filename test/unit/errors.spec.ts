import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ConflictError, maskError } from '../../src/shared/errors.js';

const located = (original: Error) => new GraphQLError(original.message, { originalError: original, path: ['field'] });

describe('error masking', () => {
  it('keeps typed errors and their codes', () => {
    const masked = maskError(located(new ConflictError('Full')), '', false) as GraphQLError;
    expect(masked.message).toBe('Full');
    expect(masked.extensions.code).toBe('CONFLICT');
  });

  it('masks unexpected errors in production: no message, no stack', () => {
    const masked = maskError(located(new Error('connection to 10.0.0.3 refused')), '', false) as GraphQLError;
    expect(masked.message).toBe('Unexpected error.');
    expect(masked.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(JSON.stringify(masked.toJSON())).not.toContain('10.0.0.3');
  });

  it('shows the cause in development, still coded', () => {
    const masked = maskError(located(new Error('boom')), '', true) as GraphQLError;
    expect(masked.message).toContain('boom');
    expect(masked.extensions.code).toBe('INTERNAL_SERVER_ERROR');
  });
});
