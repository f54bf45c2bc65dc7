import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseEnv } from '../../src/env.js';
import { MIGRATIONS_DIR } from '../../src/infra/migrate.js';

const ROOT = new URL('../..', import.meta.url).pathname;

interface Stage {
  from: string;
  name?: string;
  instructions: { op: string; args: string }[];
}

/** The Dockerfile's stages and instructions (comments dropped, `\` continuations joined). No Docker engine runs here. */
function dockerfileStages(): Stage[] {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', args = ''] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === 'FROM') {
      const [from = '', , name] = args.split(/\s+/);
      stages.push({ from, name, instructions: [] });
    } else {
      stages.at(-1)!.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

const stages = dockerfileStages();
const final = stages.at(-1)!;
const all = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op).map((i) => i.args);
const one = (stage: Stage, op: string) => {
  const found = all(stage, op);
  expect(found, op).toHaveLength(1);
  return found[0]!;
};
/** The stage whose files a `COPY --from=<stage>` in the final stage takes, by destination. */
const copiedFrom = (destination: string) => {
  const copy = all(final, 'COPY').find((args) => args.split(/\s+/).at(-1)?.replace(/^\.\//, '') === destination);
  const name = copy && /--from=(\S+)/.exec(copy)?.[1];
  return stages.find((stage) => stage.name === name);
};

describe('the container image (Dockerfile, checked statically)', () => {
  it('builds every stage on Node 24 LTS (bookworm-slim)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toBe('node:24-bookworm-slim');
  });

  it('runs compiled JavaScript with plain node and a heap cap, under tini, never through npm, npx or tsx', () => {
    const command = JSON.parse(one(final, 'CMD')) as string[];
    expect(command[0]).toBe('node');
    expect(command.at(-1)).toBe('dist/index.js');
    expect(command.some((arg) => /^--max-old-space-size=\d+$/.test(arg))).toBe(true);
    expect(command.some((arg) => /^--max-semi-space-size=\d+$/.test(arg))).toBe(true);
    // npm run start:prod starts the same way outside a container.
    const { scripts } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts['start:prod']).toBe(command.join(' '));
    expect(JSON.parse(one(final, 'ENTRYPOINT'))).toEqual(['/usr/bin/tini', '--']);
    expect(all(final, 'RUN').some((run) => /apt-get install .*\btini\b/.test(run))).toBe(true);
    for (const args of [...all(final, 'CMD'), ...all(final, 'ENTRYPOINT')]) expect(args).not.toMatch(/\b(npx|npm|tsx)\b/);
  });

  it('runs as a non-root user', () => {
    const users = all(final, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const index = (op: string) => final.instructions.findIndex((i) => i.op === op);
    expect(final.instructions.findLastIndex((i) => i.op === 'USER')).toBeLessThan(index('CMD'));
  });

  it('checks liveness on /health', () => {
    expect(one(final, 'HEALTHCHECK')).toMatch(/^(--\S+\s+)*CMD\s.*\/health\b/);
  });

  it('ships production dependencies only, the build output, and the files the server reads at run time', () => {
    expect(all(copiedFrom('node_modules')!, 'RUN').join('\n')).toMatch(/npm (ci|install) .*--omit=dev/);
    expect(all(copiedFrom('dist')!, 'RUN').join('\n')).toMatch(/npm run build/);
    const copied = all(final, 'COPY')
      .filter((args) => !args.includes('--from='))
      .flatMap((args) => args.split(/\s+/).slice(0, -1));
    // package.json ("type": "module"), the migrations applied on start, the persisted-operation manifests.
    expect(copied).toEqual(expect.arrayContaining(['package.json', MIGRATIONS_DIR.slice(ROOT.length).replace(/\/$/, ''), parseEnv({}).PERSISTED_OPERATIONS_DIR]));
  });

  it('the compiled server imports only production dependencies (dist/ as test/global-setup.ts built it)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const imported = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.js')) {
          for (const [, specifier] of readFileSync(path, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
            if (specifier!.startsWith('.') || specifier!.startsWith('node:') || builtinModules.includes(specifier!)) continue;
            imported.add(specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!);
          }
        }
      }
    };
    walk(join(ROOT, 'dist'));
    expect(imported.size).toBeGreaterThan(10);
    expect([...imported].filter((name) => !(name in pkg.dependencies))).toEqual([]);
  });

  it("docker-compose.yml's api service builds this Dockerfile and outlasts the drain on stop", () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { build?: unknown; stop_grace_period?: string }> };
    const api = compose.services.api!;
    const build = typeof api.build === 'string' ? { context: api.build } : (api.build as { context?: string; dockerfile?: string });
    expect(build.context).toBe('.');
    expect(build.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    const grace = /^(\d+)s$/.exec(api.stop_grace_period ?? '');
    expect(Number(grace?.[1]) * 1000).toBeGreaterThan(parseEnv({}).SHUTDOWN_TIMEOUT_MS);
  });
});
