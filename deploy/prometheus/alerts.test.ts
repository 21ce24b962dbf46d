import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { KUBERNETES_VERSION, findPromtool, findTool } from '@idra/testkit';

const run = promisify(execFile);
const HERE = import.meta.dirname;
const DEPLOY = resolve(HERE, '..');
const ROOT = resolve(DEPLOY, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

// In CI (CI=true) a missing tool fails its tests instead of skipping them: `./idra test-servers` installs them.
const required = process.env.CI === 'true';
const promtool = findPromtool();
const amtool = await run('amtool', ['--version']).then(
  () => 'amtool',
  () => undefined,
);
const helm = findTool('helm');
const skipped = (tool: string, pkg: string) => `(SKIPPED: no ${tool}; Debian's ${pkg} package, installed by ./idra test-servers)`;

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const RULES = 'deploy/prometheus/idra-alerts.yml';
const rules = (parse(read(RULES)) as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap((g) => g.rules);

/** Metrics no Idra process exports yet: the rule waits for them (documented in docs/operations.md). */
const PLACEHOLDERS = new Set<string>();

describe('Prometheus alert rules (deploy/prometheus/idra-alerts.yml)', () => {
  it.runIf(required)('CI has promtool and amtool: none of the checks below is skipped', () => {
    expect({ promtool, amtool }).toEqual({ promtool: expect.any(String), amtool: 'amtool' });
  });

  it.skipIf(!promtool)(
    promtool
      ? 'promtool: the rules are valid, and every alert fires and stays quiet as its synthetic series say'
      : `promtool ${skipped('promtool', 'prometheus')}`,
    async () => {
      await run(promtool!, ['check', 'rules', RULES], { cwd: ROOT });
      const { stdout } = await run(promtool!, ['test', 'rules', 'idra-alerts.test.yml'], { cwd: HERE });
      expect(stdout).toContain('SUCCESS');
      // Every alert is exercised by the tests, firing (an expected alert) and not (an empty expectation).
      const tests = parse(readFileSync(join(HERE, 'idra-alerts.test.yml'), 'utf8')) as {
        tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
      };
      const checks = tests.tests.flatMap((t) => t.alert_rule_test);
      for (const { alert } of rules) {
        expect(
          checks.some((c) => c.alertname === alert && c.exp_alerts.length > 0),
          `${alert} fires in a test`,
        ).toBe(true);
        expect(
          checks.some((c) => c.alertname === alert && c.exp_alerts.length === 0),
          `${alert} stays quiet in a test`,
        ).toBe(true);
      }
    },
  );

  it('each alert has a severity, a summary, a description naming its sync (or agent, member) and a runbook link into docs/operations.md', () => {
    const docs = read('docs/operations.md');
    // GitHub's anchors: the heading's text, lower case.
    const anchors = new Set(
      [...docs.matchAll(/^#+ (.+)$/gm)].map((m) =>
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      for (const label of ['sync', 'agent', 'session', 'slot', 'instance']) {
        if (new RegExp(`by \\([^)]*\\b${label}\\b`).test(r.expr))
          expect(r.annotations.description, `${r.alert} names its ${label}`).toContain(`$labels.${label}`);
      }
      if (/\bsync\b/.test(r.expr)) expect(r.annotations.description, r.alert).toContain('{{ $labels.sync }}');
      const [page, anchor] = r.annotations.runbook_url!.split('#');
      expect(page, r.alert).toBe('https://github.com/idra/idra/blob/main/docs/operations.md');
      expect(anchors.has(anchor!), `docs/operations.md has a section #${anchor} for ${r.alert}`).toBe(true);
    }
  });

  it('the rules query only metrics that Idra exports (agents, API servers) or etcd itself', () => {
    const exporters = ['apps/agent/src/http/agent-metrics.ts', 'apps/api-server/src/cluster-metrics.ts', 'apps/api-server/src/metrics.ts'].map(read).join('\n');
    const exported = new Set([...exporters.matchAll(/(?:name: |gauge\()'(idra_[a-z_]+)'/g)].map((m) => m[1]!));
    for (const r of rules) {
      for (const [metric] of r.expr.matchAll(/\b(idra|etcd)_[a-z_]+/g)) {
        if (metric.startsWith('etcd_')) continue;
        expect(exported.has(metric) || PLACEHOLDERS.has(metric), `${metric} in ${r.alert}`).toBe(true);
      }
    }
    for (const placeholder of PLACEHOLDERS) expect(read('docs/operations.md')).toContain(placeholder);
  });
});

describe('alerting in compose and the Helm chart', () => {
  it('compose: Prometheus loads the rules file and sends to Alertmanager, whose config amtool accepts', async () => {
    const compose = parse(read('deploy/compose.yaml'), { merge: true }) as {
      services: Record<string, { volumes?: string[]; profiles?: string[]; healthcheck?: unknown }>;
    };
    const prometheus = parse(read('deploy/compose/prometheus.yml')) as {
      rule_files: string[];
      alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
    };
    const mounted = compose.services.prometheus!.volumes!.find((v) => v.startsWith('./prometheus/idra-alerts.yml:'))!;
    expect(mounted.split(':')[1]).toBe(prometheus.rule_files[0]);
    expect(prometheus.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(['alertmanager:9093']);
    const alertmanager = compose.services.alertmanager!;
    expect(alertmanager.profiles).toEqual(['monitoring']);
    expect(alertmanager.volumes).toEqual(['./compose/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro']);
    if (amtool) await run('amtool', ['check-config', join(DEPLOY, 'compose/alertmanager.yml')]);
  });

  it.skipIf(!helm)(
    helm
      ? 'Helm: alerts.prometheusRule.enabled renders the same rules as a PrometheusRule, runbook links to alerts.runbookBaseUrl'
      : 'Helm PrometheusRule (SKIPPED: no helm)',
    async () => {
      const base = ['template', 'idra', join(DEPLOY, 'helm/idra'), '--kube-version', KUBERNETES_VERSION, '--set', 'secrets.existingSecret=idra-secrets'];
      const kinds = async (extra: string[]) =>
        parseAllDocuments((await run(helm!, [...base, ...extra], { maxBuffer: 16 << 20 })).stdout)
          .map((d) => d.toJS() as { kind: string; spec: any; metadata: any } | null)
          .filter((o) => o !== null);
      expect((await kinds([])).some((o) => o.kind === 'PrometheusRule')).toBe(false);
      const rendered = await kinds([
        '--set',
        'alerts.prometheusRule.enabled=true,alerts.runbookBaseUrl=https://wiki.example/idra-ops',
        '--set',
        'alerts.prometheusRule.labels.release=kps',
      ]);
      const rule = rendered.find((o) => o.kind === 'PrometheusRule')!;
      expect(rule.metadata.labels.release).toBe('kps');
      const expected = parse(read(RULES).replaceAll('https://github.com/idra/idra/blob/main/docs/operations.md', 'https://wiki.example/idra-ops'));
      expect(rule.spec).toEqual(expected);
      const api = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'idra-api')!;
      expect(api.spec.template.spec.containers[0].env.find((e: any) => e.name === 'IDRA_EXPECTED_AGENTS').value).toBe('3');
    },
  );
});
