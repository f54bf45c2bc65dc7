import { readFileSync } from 'node:fs';

let template: Blob | undefined;

/**
 * The migrated embedded database that test/global-setup.ts dumped (PGlite dumpDataDir); each embedded
 * test app loads a copy, which takes a fraction of migrating.
 */
export function embeddedTemplate(): Blob {
  const path = process.env.WORKSHOPS_PGLITE_TEMPLATE;
  if (!path) throw new Error('test/global-setup.ts did not run');
  return (template ??= new Blob([readFileSync(path)]));
}
