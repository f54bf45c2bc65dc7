import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

let digest: string | undefined;

/**
 * A digest of the running app's own code (the folder holding `infra/`: `src/` under tsx, `dist/` when
 * compiled), computed once per process. Authorization lives in code, not in the printed schema, so a
 * deploy that changes who may read a field changes this too.
 */
export function codeDigest(): string {
  if (digest) return digest;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|js|mjs|json)$/.test(entry.name)) hash.update(path.slice(root.length)).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  walk(root);
  return (digest = hash.digest('hex').slice(0, 16));
}
