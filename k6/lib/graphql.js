// Shared helpers for the k6 scenarios. BASE_URL must point at a server you run (loopback or your own staging).
import http from 'k6/http';
import { check } from 'k6';

export const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:4000';
const API_KEY = __ENV.API_KEY || '';

export function graphql(query, variables = {}, name = 'graphql') {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (API_KEY) headers.authorization = `Bearer ${API_KEY}`;
  const response = http.post(`${BASE_URL}/graphql`, JSON.stringify({ query, variables }), { headers, tags: { name } });
  check(response, {
    'status 200': (r) => r.status === 200,
    'no GraphQL errors': (r) => !r.json('errors'),
  });
  return response;
}
