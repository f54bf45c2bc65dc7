import { decodeBase64, encodeBase64 } from '@pothos/core';
import { ValidationError } from './errors.js';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The types that implement Node (a test keeps this in step with the schema). */
export const NODE_TYPES: readonly string[] = ['ApiKey', 'Enrollment', 'Newsletter', 'Question', 'Questionnaire', 'QuestionnaireResponse', 'Subscriber', 'Workshop'];

export function encodeGlobalId(typename: string, id: string | number | bigint): string {
  return encodeBase64(`${typename}:${id}`);
}

/**
 * Global ids are base64("Type:uuid"). Anything else is BAD_USER_INPUT here, before a query could
 * send a malformed uuid to Postgres.
 */
export function decodeGlobalId(globalId: string): { typename: string; id: string } {
  let decoded = '';
  try {
    decoded = decodeBase64(globalId);
  } catch {
    // handled below
  }
  const separator = decoded.indexOf(':');
  const typename = decoded.slice(0, separator);
  const id = decoded.slice(separator + 1);
  if (separator < 1 || !NODE_TYPES.includes(typename) || !UUID.test(id)) {
    throw new ValidationError(`Invalid id: ${JSON.stringify(globalId.slice(0, 100))}`, [{ path: 'id', message: 'is not a valid id' }]);
  }
  return { typename, id: id.toLowerCase() };
}

/** The response cache knows entities by the `id` field clients see: the global id. */
export function cacheEntity(typename: string, rawId: string): { typename: string; id: string } {
  return { typename, id: encodeGlobalId(typename, rawId) };
}
