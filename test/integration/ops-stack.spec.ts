import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestApp, type TestApp } from '../testkit/app.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
// Merge keys (`<<: *api`), as docker compose reads them.
const yamlOf = (path: string) => parse(read(path), { merge: true });

/** promtool from Debian's prometheus package (installed by .ci/run). */
const promtool = (...args: string[]) => run('promtool', args, { cwd: join(ROOT, 'ops/prometheus') });

const PROMQL_WORDS = new Set(['by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads (not functions, keywords, label names or values). */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g)]
    .map((m) => m[0])
    .filter((word) => !PROMQL_WORDS.has(word.toLowerCase()));
}

/**
 * No Docker engine here: the local stack is checked as files. The compose file wires Prometheus to the
 * API with the metrics token, promtool accepts the config and rules (and their unit tests), and every
 * query in the alerts and the dashboard names a metric the app really exports.
 */
describe('the local observability stack', () => {
  let app: TestApp;
  let exported: Set<string>;

  beforeAll(async () => {
    app = await startTestApp();
    const text = await (await app.yoga.fetch('http://localhost/metrics')).text();
    exported = new Set(['up']); // Prometheus' own, per target
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exported.add(name!);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(`${name}${suffix}`);
      if (type === 'summary') for (const suffix of ['_sum', '_count']) exported.add(`${name}${suffix}`);
    }
  });
  afterAll(() => app?.close());

  it('docker-compose.yml runs Prometheus and Grafana next to the API, Prometheus with the metrics token', () => {
    const compose = yamlOf('docker-compose.yml');
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgres', 'redis', 'api', 'prometheus', 'grafana']));
    expect(compose.services.api.environment.METRICS_TOKEN).toMatch(/\$\{METRICS_TOKEN:\?/);
    expect(compose.secrets.metrics_token).toEqual({ environment: 'METRICS_TOKEN' });
    expect(compose.services.prometheus.secrets).toContain('metrics_token');
    // Every host folder a service mounts exists in the repository.
    for (const service of Object.values<any>(compose.services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) expect(existsSync(join(ROOT, source)), volume).toBe(true);
      }
    }
    const prometheus = yamlOf('ops/prometheus/prometheus.yml');
    const [job] = prometheus.scrape_configs;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.authorization.credentials_file).toBe('/run/secrets/metrics_token'); // where compose mounts the secret
    expect(job.static_configs[0].targets).toEqual(['api:4000']);
    for (const file of prometheus.rule_files) expect(existsSync(join(ROOT, 'ops/prometheus', file))).toBe(true);
  });

  it('promtool accepts the Prometheus config and the alert rules, and the rules pass their unit tests', async () => {
    await expect(promtool('check', 'config', '--syntax-only', 'prometheus.yml')).resolves.toBeDefined();
    const rules = await promtool('check', 'rules', 'alerts.yml');
    expect(rules.stdout).toContain('SUCCESS');
    const tests = await promtool('test', 'rules', 'alerts.test.yml');
    expect(tests.stdout).toContain('SUCCESS');
  }, 60_000);

  it('has an alert for each target', () => {
    const alerts = yamlOf('ops/prometheus/alerts.yml').groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
    expect(alerts).toEqual(
      expect.arrayContaining(['LatencyP95High', 'LatencyP99High', 'ErrorRateHigh', 'CacheHitRatioLow', 'DatabaseSlow', 'StatisticsStale', 'RedisBreakerOpen', 'InstanceDown']),
    );
  });

  it('every alert and dashboard query names metrics the app exports', () => {
    const rules = yamlOf('ops/prometheus/alerts.yml').groups.flatMap((g: any) => g.rules);
    const dashboard = JSON.parse(read('ops/grafana/dashboards/workshops-api.json'));
    const queries: string[] = [...rules.map((r: any) => r.expr), ...dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr))];
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    for (const query of queries) {
      const names = metricNames(query);
      expect(names.length, query).toBeGreaterThan(0);
      for (const name of names) expect(exported, `${name} in ${query}`).toContain(name);
    }
  });

  it('the dashboard reads the provisioned datasource', () => {
    const [datasource] = yamlOf('ops/grafana/provisioning/datasources/prometheus.yml').datasources;
    const dashboard = JSON.parse(read('ops/grafana/dashboards/workshops-api.json'));
    for (const panel of dashboard.panels) expect(panel.datasource.uid).toBe(datasource.uid);
    expect(yamlOf('ops/grafana/provisioning/dashboards/dashboards.yml').providers[0].options.path).toBe('/var/lib/grafana/dashboards');
  });

  it('reads metric names out of PromQL', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, operation) (rate(graphql_request_duration_seconds_bucket{status=~"5.."}[1m]))) > 0.4')).toEqual([
      'graphql_request_duration_seconds_bucket',
    ]);
    expect(metricNames('sum(rate(a_total[5m])) / sum(rate(b_total{tier="local"}[5m])) and up == 0')).toEqual(['a_total', 'b_total', 'up']);
  });
});
