import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseEnv } from '../../src/env.js';

/**
 * The compose file's `scale` profile, checked as files (no Docker engine here): nginx in front of two API
 * replicas, one worker, a Postgres primary with a streaming replica, Redis; nginx's config with `nginx -t`.
 */
const ROOT = new URL('../..', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  entrypoint?: string[];
  depends_on?: string[] | Record<string, unknown>;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/** Compose's interpolation of `${VAR:?…}`, `${VAR:-default}` and `${VAR-default}` with these variables set. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g, (_, name: string, op: string | undefined, rest: string) => {
    const set = vars[name];
    if (op === ':?' || op === '?') {
      if (set === undefined) throw new Error(`${name} is required: ${rest}`);
      return set;
    }
    if (op === ':-') return set ? set : rest;
    if (op === '-') return set ?? rest;
    return set ?? '';
  });
}

const SECRETS = { TOKEN_SECRET: 'x'.repeat(48), METRICS_TOKEN: 'y'.repeat(40) };
const envOf = (service: Service, vars: Record<string, string> = SECRETS) =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value), vars)]));
const dependsOn = (service: Service) => (Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {}));

describe('docker compose --profile scale', () => {
  it('adds a second API replica, nginx and a Postgres streaming replica; the default stack is unchanged', () => {
    const scale = Object.entries(services).filter(([, s]) => s.profiles?.includes('scale')).map(([name]) => name);
    expect(scale.sort()).toEqual(['api-2', 'nginx', 'postgres-replica']);
    // Always on (no profile): in the scale profile too, they are the first API replica, the one worker, the primary and Redis.
    for (const name of ['postgres', 'redis', 'api', 'worker']) expect(services[name]?.profiles, name).toBeUndefined();
    expect(services.worker!.environment!.WORKERS).toBeUndefined();
    expect(services.api!.environment!.WORKERS).toBe('off');
  });

  it('runs both API replicas from one definition whose environment the app accepts in production', () => {
    const [api, second] = [services.api!, services['api-2']!];
    expect(second.build).toEqual(api.build);
    expect(envOf(second)).toEqual(envOf(api));
    // Only the first publishes its port (the default stack's http://127.0.0.1:4000); nginx reaches both inside the network.
    expect(second.ports).toBeUndefined();
    const env = parseEnv(envOf(api));
    expect(env.NODE_ENV).toBe('production');
    const primary = new URL(env.DATABASE_URL!);
    const [replica] = env.DATABASE_REPLICA_URLS!.map((url) => new URL(url));
    expect(primary.hostname).toBe('postgres');
    expect(replica!.hostname).toBe('postgres-replica');
    expect(replica!.pathname).toBe(primary.pathname);
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    // The client address comes from nginx's X-Forwarded-For (compose networks are private addresses).
    expect(env.TRUST_PROXY).toBeDefined();
    // Empty names no replica (the default stack can leave it out).
    expect(parseEnv(envOf(api, { ...SECRETS, DATABASE_REPLICA_URLS: '' })).DATABASE_REPLICA_URLS).toBeUndefined();
  });

  it('streams the replica from the primary (pg_basebackup -R), with a replication role made at the primary\'s first start', () => {
    const replica = services['postgres-replica']!;
    expect(replica.image).toBe(services.postgres!.image);
    expect(dependsOn(replica)).toContain('postgres');
    const script = replica.volumes!.find((v) => v.endsWith(`:${replica.entrypoint![0]}:ro`))!.split(':')[0]!;
    const standby = read(script);
    expect(standby).toMatch(/pg_basebackup -h postgres -U replicator -D "\$PGDATA" -R/);
    expect(standby).toMatch(/exec postgres/);
    const init = services.postgres!.volumes!.find((v) => v.includes('/docker-entrypoint-initdb.d/'))!.split(':')[0]!;
    expect(read(init)).toMatch(/CREATE ROLE replicator WITH REPLICATION LOGIN/);
    expect(read(init)).toMatch(/host replication replicator all scram-sha-256/);
    for (const service of Object.values(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) expect(existsSync(join(ROOT, source)), volume).toBe(true);
      }
    }
  });

  it('puts nginx in front of both API replicas, streaming responses through', () => {
    const nginx = services.nginx!;
    expect(dependsOn(nginx).sort()).toEqual(['api', 'api-2']);
    const config = read(nginx.volumes!.find((v) => v.endsWith(':/etc/nginx/nginx.conf:ro'))!.split(':')[0]!);
    const port = Number(parseEnv({}).PORT);
    const upstream = [...config.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map(([, host, p]) => `${host}:${p}`);
    expect(upstream).toEqual([`api:${port}`, `api-2:${port}`]);
    const listen = /listen\s+(\d+);/.exec(config)?.[1];
    expect(nginx.ports).toEqual([`127.0.0.1:${listen}:${listen}`]);
    expect(config).toMatch(/proxy_buffering off;/);
    expect(config).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
  });

  it.skipIf(!existsSync('/usr/sbin/nginx'))('has an nginx config that nginx -t accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'workshops-nginx-'));
    try {
      // The upstreams' names resolve only inside the compose network: test the same file with loopback in their place.
      const config = read('ops/nginx/nginx.conf').replace(/(^\s*server\s+)[\w.-]+(:\d+)/gm, '$1127.0.0.1$2');
      writeFileSync(join(dir, 'nginx.conf'), config);
      // stderr is a file: the config logs to /dev/stderr, which cannot be opened on a socket (node's 'pipe').
      const log = openSync(join(dir, 'test.log'), 'w');
      try {
        execFileSync('/usr/sbin/nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', log, log] });
      } catch (error) {
        throw new Error(`nginx -t refused ops/nginx/nginx.conf:\n${readFileSync(join(dir, 'test.log'), 'utf8')}`, { cause: error });
      } finally {
        closeSync(log);
      }
      expect(readFileSync(join(dir, 'test.log'), 'utf8')).toMatch(/syntax is ok[\s\S]*test is successful/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is drawn in the README (Scale-out): every box of the profile in the Mermaid diagram, with its environment', () => {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('### The scale profile'));
    const mermaid = /```mermaid\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    for (const name of ['nginx', 'api', 'api-2', 'worker', 'postgres', 'postgres-replica', 'redis']) expect(mermaid, name).toContain(`${name}[`);
    for (const variable of ['DATABASE_URL', 'DATABASE_REPLICA_URLS', 'REDIS_URL', 'TRUST_PROXY', 'WORKERS']) expect(section, variable).toContain(variable);
  });
});
