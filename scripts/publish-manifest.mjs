// codegen hook: copies a client's persisted-documents.json to the server's manifest folder, with a
// trailing newline and stable key order so `codegen --check` and git diffs stay quiet.
import { readFileSync, writeFileSync } from 'node:fs';

const [from, to] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(from, 'utf8'));
const sorted = Object.fromEntries(Object.keys(manifest).sort().map((key) => [key, manifest[key]]));
writeFileSync(to, `${JSON.stringify(sorted, null, 2)}\n`);
