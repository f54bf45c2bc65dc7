import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What production requires for mail (src/env.ts: a transport said explicitly, and PUBLIC_URL), for
 * specs that start in production mode: mail kept as files in a temporary folder, links to an example host.
 */
export const PRODUCTION_MAIL_ENV = {
  MAIL_TRANSPORT: 'file',
  MAIL_DIR: join(tmpdir(), 'workshops-test-mail'),
  PUBLIC_URL: 'https://workshops.example',
} as const;
