import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ETCD_USERS, validateDataSource, validateSyncConfig } from '@idra/core';
import {
  KUBERNETES_VERSION,
  findHadolint,
  findTool,
  kubeconformSchemaLocation,
  provisionKubernetesValidate,
  provisionPodmanCompose,
  tempDir,
} from '@idra/testkit';

const run = promisify(execFile);
const DEPLOY = import.meta.dirname;
const ROOT = resolve(DEPLOY, '..');
const read = (path: string) => readFileSync(join(DEPLOY, path), 'utf8');

// ---- the tools, found (or, for the schemas, installed) before the tests are named ----
// In CI (CI=true) a missing tool fails its tests instead of skipping them: `./idra test` provisions them.
const required = process.env.CI === 'true';
const helm = findTool('helm');
const dockerCompose = ['/usr/bin/docker-compose'].find((p) => existsSync(p));
const kubeconform = findTool('kubeconform');
const hadolint = findHadolint();
const pythonPath = await provisionKubernetesValidate().then(
  (dir) => ({ dir, error: undefined }),
  (err: unknown) => ({ dir: undefined, error: String((err as Error).message ?? err).split('\n')[0] }),
);
const missing = (tool: string) => `(SKIPPED: no ${tool} in the testkit cache or PATH; ./idra test-servers builds it)`;

/** The chart as deploy/k8s/idra.yaml holds it (see deploy/k8s/README.md). */
const K8S_ARGS = [
  'template',
  'idra',
  join(DEPLOY, 'helm/idra'),
  '--namespace',
  'idra',
  '--kube-version',
  KUBERNETES_VERSION,
  '--set',
  'secrets.existingSecret=idra-secrets',
];

async function helmTemplate(extra: string[] = []): Promise<string> {
  return (await run(helm!, [...K8S_ARGS, ...extra], { maxBuffer: 16 << 20 })).stdout;
}

// ---- Kubernetes objects ----
interface K8sObject {
  kind: string;
  apiVersion: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
}

function objects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const podSpec = (o: K8sObject) => o.spec.template.spec;
const envValue = (container: any, name: string): any => container.env?.find((e: any) => e.name === name);
/** Names of values that are credentials: they must come from a Secret (user names are not secret). */
const SECRET_ENV = /PASSWORD|SECRET|TOKEN/;
/** `IDRA_ETCD_KEY`/`_CERT`/`_CA` are file paths; `IDRA_SECRET_KEY` is the key itself. */
const isSecretEnv = (name: string) => SECRET_ENV.test(name) || name === 'IDRA_SECRET_KEY';

const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Tests that run external tools (helm, kubeconform, compose): their CPU is fixed, their wall time follows the machine's load. */
const TOOLS_TIMEOUT_MS = 180_000;
const ETCD_PASSWORDS = ['Root', 'Agent', 'Api'].map((who) => `secrets.etcd${who}Password=${who.toLowerCase()}-0123456789abcdef`).join(',');

function checkManifests(text: string): void {
  const all = objects(text);
  const byKind = (kind: string) => all.filter((o) => o.kind === kind);
  const named = (kind: string, suffix: string) => {
    const found = byKind(kind).find((o) => o.metadata.name.endsWith(suffix));
    expect(found, `${kind} *${suffix}`).toBeDefined();
    return found!;
  };

  // etcd: a 3-member StatefulSet, members found through a headless Service that publishes unready pods.
  const etcd = named('StatefulSet', '-etcd');
  expect(etcd.spec.replicas).toBe(3);
  expect(etcd.spec.podManagementPolicy).toBe('Parallel');
  expect(etcd.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBeTruthy();
  const headless = byKind('Service').find((s) => s.metadata.name === etcd.spec.serviceName)!;
  expect(headless.spec.clusterIP).toBe('None');
  expect(headless.spec.publishNotReadyAddresses).toBe(true);
  const etcdArgs: string[] = podSpec(etcd).containers[0].command;
  const flag = (name: string) =>
    etcdArgs
      .find((a) => a.startsWith(`--${name}=`))!
      .split('=')
      .slice(1)
      .join('=');
  const peers = flag('initial-cluster')
    .split(',')
    .map((p) => p.split('='));
  expect(peers.map(([name]) => name)).toEqual([0, 1, 2].map((i) => `${etcd.metadata.name}-${i}`));
  expect(new Set(peers.map(([, url]) => url)).size).toBe(3);
  for (const [name, url] of peers) expect(url).toBe(`https://${name}.${headless.metadata.name}.idra.svc:2380`);
  expect(flag('initial-advertise-peer-urls')).toBe(`https://$(POD_NAME).${headless.metadata.name}.idra.svc:2380`);
  // Client and peer TLS from gen-certs.sh's Secret; peers show a certificate the CA signed; clients authenticate with auth.
  expect(flag('listen-client-urls')).toBe('https://0.0.0.0:2379');
  expect(etcdArgs).toEqual(
    expect.arrayContaining(['--cert-file=/etc/etcd/tls/tls.crt', '--peer-trusted-ca-file=/etc/etcd/tls/ca.crt', '--peer-client-cert-auth']),
  );
  expect(etcdArgs.some((a) => a.startsWith('--trusted-ca-file') || a === '--client-cert-auth')).toBe(false);
  expect(podSpec(etcd).volumes.find((v: any) => v.name === 'tls').secret.secretName).toBe('idra-etcd-tls');
  // One member per node, required.
  expect(podSpec(etcd).affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');
  expect(byKind('PodDisruptionBudget').some((p) => selects(p.spec.selector.matchLabels, etcd.spec.template.metadata.labels))).toBe(true);

  // Every workload: probes on the right paths and ports, resources, non-root, secrets from Secrets.
  const workloads = [...byKind('Deployment'), ...byKind('StatefulSet')];
  expect(workloads.map((w) => w.metadata.name).sort()).toEqual(['idra-agent', 'idra-api', 'idra-etcd', 'idra-web']);
  const [account] = byKind('ServiceAccount');
  expect(account!.metadata.name).toBe('idra');
  expect((account as any).automountServiceAccountToken).toBe(false);
  for (const w of [...workloads, ...byKind('Job')]) {
    const pod = podSpec(w);
    expect(pod.serviceAccountName, w.metadata.name).toBe('idra');
    expect(pod.automountServiceAccountToken, w.metadata.name).toBe(false);
    if (w.kind !== 'Job') expect(pod.containers[0].startupProbe, w.metadata.name).toBeDefined();
    if (w.kind === 'Deployment') {
      const spread = pod.topologySpreadConstraints.map((t: any) => [
        t.topologyKey,
        t.whenUnsatisfiable,
        selects(t.labelSelector.matchLabels, w.spec.template.metadata.labels),
      ]);
      expect(spread, w.metadata.name).toEqual([
        ['kubernetes.io/hostname', 'ScheduleAnyway', true],
        ['topology.kubernetes.io/zone', 'ScheduleAnyway', true],
      ]);
    }
  }
  for (const w of workloads) {
    const pod = podSpec(w);
    expect(pod.securityContext.runAsNonRoot, w.metadata.name).toBe(true);
    expect(pod.securityContext.runAsUser, w.metadata.name).toBeGreaterThan(0);
    for (const c of pod.containers) {
      const where = `${w.metadata.name}/${c.name}`;
      expect(c.securityContext.allowPrivilegeEscalation, where).toBe(false);
      expect(c.resources.requests, where).toBeDefined();
      expect(c.resources.limits?.memory, where).toBeDefined();
      expect(c.livenessProbe, where).toBeDefined();
      expect(c.readinessProbe, where).toBeDefined();
      for (const e of c.env ?? []) {
        if (isSecretEnv(e.name)) expect(e.valueFrom?.secretKeyRef?.name, `${where} ${e.name} must come from a Secret`).toBe('idra-secrets');
      }
    }
  }
  const probePort = (c: any, probe: any) => c.ports.find((p: any) => p.name === probe.httpGet.port)?.containerPort;
  const checkHttpProbes = (suffix: string, portEnv: string, live: string, ready: string) => {
    const c = podSpec(named('Deployment', suffix)).containers[0];
    const port = Number(envValue(c, portEnv).value);
    expect(c.livenessProbe.httpGet.path).toBe(live);
    expect(c.readinessProbe.httpGet.path).toBe(ready);
    expect(probePort(c, c.livenessProbe)).toBe(port);
    expect(probePort(c, c.readinessProbe)).toBe(port);
    return c;
  };
  const agentContainer = checkHttpProbes('-agent', 'IDRA_HTTP_PORT', '/healthz', '/readyz');
  checkHttpProbes('-api', 'IDRA_API_PORT', '/healthz', '/readyz');
  checkHttpProbes('-web', 'IDRA_WEB_PORT', '/healthz', '/healthz');
  const etcdContainer = podSpec(etcd).containers[0];
  expect(etcdContainer.readinessProbe.httpGet.path).toBe('/health');
  expect(flag('listen-metrics-urls')).toContain(`:${etcdContainer.ports.find((p: any) => p.name === etcdContainer.readinessProbe.httpGet.port).containerPort}`);

  // The agents: N replicas behind a PodDisruptionBudget, reaching every etcd member.
  const agents = named('Deployment', '-agent');
  expect(agents.spec.replicas).toBeGreaterThanOrEqual(2);
  const agentPdb = byKind('PodDisruptionBudget').find((p) => selects(p.spec.selector.matchLabels, agents.spec.template.metadata.labels));
  expect(agentPdb?.spec.maxUnavailable).toBe(1);
  expect(envValue(agentContainer, 'IDRA_ETCD_ENDPOINTS').value.split(',')).toHaveLength(3);
  expect(podSpec(agents).terminationGracePeriodSeconds).toBeGreaterThan(Number.parseInt(envValue(agentContainer, 'IDRA_SHUTDOWN_TIMEOUT').value));

  // Services select their pods; every Deployment has a PodDisruptionBudget.
  for (const suffix of ['-api', '-web']) {
    const svc = named('Service', suffix);
    expect(selects(svc.spec.selector, named('Deployment', suffix).spec.template.metadata.labels), suffix).toBe(true);
  }
  for (const d of byKind('Deployment')) {
    expect(
      byKind('PodDisruptionBudget').some((p) => selects(p.spec.selector.matchLabels, d.spec.template.metadata.labels)),
      d.metadata.name,
    ).toBe(true);
  }
  // No Ingress unless asked for (with TLS: see the variants).
  expect(byKind('Ingress')).toEqual([]);

  // etcd auth: each component logs in as its own user; the Job makes the users and turns auth on.
  const apiContainer = podSpec(named('Deployment', '-api')).containers[0];
  for (const [c, user, key] of [
    [agentContainer, 'idra-agent', 'etcd-agent-password'],
    [apiContainer, 'idra-api', 'etcd-api-password'],
  ] as const) {
    expect(envValue(c, 'IDRA_ETCD_USERNAME').value).toBe(user);
    expect(envValue(c, 'IDRA_ETCD_PASSWORD').valueFrom.secretKeyRef.key).toBe(key);
    expect(envValue(c, 'IDRA_ETCD_CA').value).toBe('/etc/idra/etcd-tls/ca.crt');
    // The CA only: clients show no certificate to the bundled etcd (mounting tls.crt would fail: it is not in the Secret).
    expect(envValue(c, 'IDRA_ETCD_CERT')).toBeUndefined();
    expect(
      envValue(c, 'IDRA_ETCD_ENDPOINTS')
        .value.split(',')
        .every((e: string) => e.startsWith('https://')),
    ).toBe(true);
  }
  const job = named('Job', '-etcd-access-1');
  const jobContainer = podSpec(job).containers[0];
  expect(jobContainer.args).toEqual(['etcd-access']);
  expect(jobContainer.image).toBe(apiContainer.image);
  expect(
    jobContainer.env
      .filter((e: any) => e.valueFrom)
      .map((e: any) => e.name)
      .sort(),
  ).toEqual(['IDRA_ETCD_AGENT_PASSWORD', 'IDRA_ETCD_API_PASSWORD', 'IDRA_ETCD_ROOT_PASSWORD']);
  expect(Object.values(ETCD_USERS).sort()).toEqual(['idra-agent', 'idra-api']);

  // NetworkPolicies: only agents, API servers and the Job reach etcd's clients port, only members its peers port;
  // only the web UI and the Ingress controller reach the API server, only the controller the web UI.
  const policy = (suffix: string) => named('NetworkPolicy', suffix).spec;
  const components = (rule: any) =>
    rule.from.map((f: any) => f.podSelector?.matchLabels['app.kubernetes.io/component'] ?? JSON.stringify(f.namespaceSelector.matchLabels));
  const etcdPolicy = policy('-etcd');
  expect(etcdPolicy.ingress.map((r: any) => [r.ports[0].port, components(r)])).toEqual([
    [2379, ['agent', 'api-server', 'etcd-access']],
    [2380, ['etcd']],
    [2381, ['{"kubernetes.io/metadata.name":"monitoring"}']],
  ]);
  expect(policy('-api').ingress.map((r: any) => [r.ports[0].port, components(r)])).toEqual([
    [8080, ['web-ui', '{"kubernetes.io/metadata.name":"ingress-nginx"}', '{"kubernetes.io/metadata.name":"monitoring"}']],
  ]);
  expect(policy('-web').ingress.map((r: any) => [r.ports[0].port, components(r)])).toEqual([[8080, ['{"kubernetes.io/metadata.name":"ingress-nginx"}']]]);
  expect(policy('-agent').ingress.map((r: any) => [r.ports[0].port, components(r)])).toEqual([[9464, ['{"kubernetes.io/metadata.name":"monitoring"}']]]);
  for (const suffix of ['-etcd', '-api', '-web', '-agent']) expect(policy(suffix).policyTypes).toEqual(['Ingress']);
  // Secret values never appear in the manifests: the Secret is created outside them.
  expect(byKind('Secret')).toEqual([]);
}

describe('deploy/k8s and the Helm chart', () => {
  it('deploy/k8s/idra.yaml: 3-member etcd StatefulSet, probes on /healthz and /readyz, non-root, secrets from Secrets, agents with a PDB', () => {
    checkManifests(read('k8s/idra.yaml'));
  });

  it.runIf(required)('CI has helm, kubeconform, hadolint and the Kubernetes schemas: none of the checks in this file is skipped', () => {
    expect({ helm, kubeconform, hadolint, schemas: pythonPath.dir ?? pythonPath.error }).toEqual({
      helm: expect.any(String),
      kubeconform: expect.any(String),
      hadolint: expect.any(String),
      schemas: expect.stringContaining('kubernetes-validate'),
    });
  });

  it.skipIf(!pythonPath.dir)(
    pythonPath.dir
      ? `deploy/k8s/idra.yaml validates strictly against the Kubernetes ${KUBERNETES_VERSION} schemas (kubernetes-validate)`
      : `kubernetes-validate (SKIPPED: could not be installed with pip: ${pythonPath.error})`,
    async () => {
      await run('python3', ['-m', 'kubernetes_validate', '--strict', '--quiet', '-k', KUBERNETES_VERSION, join(DEPLOY, 'k8s/idra.yaml')], {
        env: { ...process.env, PYTHONPATH: pythonPath.dir },
      });
    },
  );

  it.skipIf(!helm)(helm ? 'helm lint passes and helm template renders exactly deploy/k8s/idra.yaml' : `helm lint and render ${missing('helm')}`, async () => {
    await run(helm!, ['lint', '--strict', join(DEPLOY, 'helm/idra'), '--kube-version', KUBERNETES_VERSION, '--set', 'secrets.existingSecret=idra-secrets']);
    const rendered = await helmTemplate();
    expect(rendered, `deploy/k8s/idra.yaml is out of date: render it again (deploy/k8s/README.md)`).toBe(read('k8s/idra.yaml'));
  });

  it.skipIf(!helm)(
    helm
      ? 'helm template: secrets are required, a created Secret is referenced, external etcd replaces the StatefulSet'
      : `helm value variants ${missing('helm')}`,
    async () => {
      const noSecrets = run(helm!, ['template', 'idra', join(DEPLOY, 'helm/idra'), '--kube-version', KUBERNETES_VERSION]);
      await expect(noSecrets).rejects.toThrow(/secrets.secretKey .* is required/);
      const shortKey = run(helm!, [
        'template',
        'idra',
        join(DEPLOY, 'helm/idra'),
        '--kube-version',
        KUBERNETES_VERSION,
        '--set',
        'secrets.secretKey=short,secrets.jwtSecret=j,secrets.adminPassword=a',
      ]);
      await expect(shortKey).rejects.toThrow(/at least 16 characters/);

      const created = objects(
        (
          await run(helm!, [
            'template',
            'prod',
            join(DEPLOY, 'helm/idra'),
            '--kube-version',
            KUBERNETES_VERSION,
            '--set',
            `secrets.secretKey=0123456789abcdef0123,secrets.jwtSecret=0123456789abcdef0123456789abcdef,secrets.adminPassword=pw,${ETCD_PASSWORDS}`,
          ])
        ).stdout,
      );
      const secret = created.find((o) => o.kind === 'Secret')!;
      expect(secret.metadata.name).toBe('prod-idra');
      const api = created.find((o) => o.kind === 'Deployment' && o.metadata.name === 'prod-idra-api')!;
      expect(envValue(podSpec(api).containers[0], 'IDRA_JWT_SECRET').valueFrom.secretKeyRef.name).toBe('prod-idra');

      const external = objects(
        await helmTemplate([
          '--set',
          'etcd.bundled=false,etcd.tlsSecret=etcd-client-tls',
          '--set-json',
          'etcd.externalEndpoints=["https://e1:2379","https://e2:2379","https://e3:2379"]',
        ]),
      );
      expect(external.filter((o) => ['StatefulSet', 'Job'].includes(o.kind))).toEqual([]);
      expect(external.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name)).not.toContain('idra-etcd');
      const agent = podSpec(external.find((o) => o.metadata.name === 'idra-agent' && o.kind === 'Deployment')!);
      expect(envValue(agent.containers[0], 'IDRA_ETCD_ENDPOINTS').value).toBe('https://e1:2379,https://e2:2379,https://e3:2379');
      expect(envValue(agent.containers[0], 'IDRA_ETCD_CA').value).toBe('/etc/idra/etcd-tls/ca.crt');
      // A CA-only Secret: no certificate or key is looked for (agents exited with ENOENT tls.crt when both were always set).
      expect(envValue(agent.containers[0], 'IDRA_ETCD_CERT')).toBeUndefined();
      expect(envValue(agent.containers[0], 'IDRA_ETCD_KEY')).toBeUndefined();
      expect(agent.volumes.find((v: any) => v.name === 'etcd-tls').secret.secretName).toBe('etcd-client-tls');

      // Agents placed next to their databases: labels and capacity reach the agent as its environment.
      const placed = objects(await helmTemplate(['--set', 'agent.placementLabels.region=eu,agent.placementLabels.net=dc1,agent.maxSyncs=20']));
      const placedAgent = podSpec(placed.find((o) => o.metadata.name === 'idra-agent' && o.kind === 'Deployment')!);
      expect(envValue(placedAgent.containers[0], 'IDRA_AGENT_LABELS').value).toBe('net=dc1,region=eu');
      expect(envValue(placedAgent.containers[0], 'IDRA_AGENT_MAX_SYNCS').value).toBe('20');

      const mutual = objects(
        await helmTemplate([
          '--set',
          'etcd.bundled=false,etcd.tlsSecret=etcd-client-tls,etcd.clientCert=true',
          '--set-json',
          'etcd.externalEndpoints=["https://e1:2379"]',
        ]),
      );
      const mutualAgent = podSpec(mutual.find((o) => o.metadata.name === 'idra-agent' && o.kind === 'Deployment')!).containers[0];
      expect([envValue(mutualAgent, 'IDRA_ETCD_CERT').value, envValue(mutualAgent, 'IDRA_ETCD_KEY').value]).toEqual([
        '/etc/idra/etcd-tls/tls.crt',
        '/etc/idra/etcd-tls/tls.key',
      ]);

      // Created Secret: the etcd passwords are required too, at least 16 characters.
      const noEtcd = run(helm!, [
        'template',
        'idra',
        join(DEPLOY, 'helm/idra'),
        '--kube-version',
        KUBERNETES_VERSION,
        '--set',
        'secrets.secretKey=0123456789abcdef0123,secrets.jwtSecret=0123456789abcdef0123456789abcdef,secrets.adminPassword=pw,secrets.etcdAgentPassword=short',
      ]);
      await expect(noEtcd).rejects.toThrow(/secrets.etcdAgentPassword must be at least 16 characters/);

      // Per-component images: a tag of its own, or a digest that pins it.
      const pinned = objects(await helmTemplate(['--set', `image.agent.digest=sha256:${'a'.repeat(64)},image.webUi.tag=0.1.1`]));
      const image = (name: string) => podSpec(pinned.find((o) => o.kind === 'Deployment' && o.metadata.name === name)!).containers[0].image;
      expect([image('idra-agent'), image('idra-api'), image('idra-web')]).toEqual([
        `ghcr.io/idra/idra-agent@sha256:${'a'.repeat(64)}`,
        'ghcr.io/idra/idra-api-server:0.1.0',
        'ghcr.io/idra/idra-web-ui:0.1.1',
      ]);

      // The Ingress, when enabled, serves HTTPS only: /api to the API server, the rest to the web UI.
      const ingress = objects(await helmTemplate(['--set', 'ingress.enabled=true'])).find((o) => o.kind === 'Ingress')!;
      expect(ingress.spec.rules[0].http.paths.map((p: any) => [p.path, p.backend.service.name])).toEqual([
        ['/api', 'idra-api'],
        ['/', 'idra-web'],
      ]);
      expect(ingress.spec.tls).toEqual([{ hosts: ['idra.example.com'], secretName: 'idra-tls' }]);

      // ServiceMonitors (Prometheus Operator) select the agents' and the API servers' Services, on their http port.
      const monitored = objects(await helmTemplate(['--set', 'metrics.serviceMonitor.enabled=true']));
      const services = monitored.filter((o) => o.kind === 'Service');
      const monitors = monitored.filter((o) => o.kind === 'ServiceMonitor');
      expect(
        monitors.map((m) => services.filter((svc) => selects(m.spec.selector.matchLabels, svc.metadata.labels ?? {})).map((svc) => svc.metadata.name)),
      ).toEqual([['idra-agent-metrics'], ['idra-api']]);
      for (const m of monitors) expect(m.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s' }]);
    },
  );

  it.skipIf(!helm || !kubeconform || !pythonPath.dir)(
    helm && kubeconform && pythonPath.dir
      ? `helm template | kubeconform -strict (Kubernetes ${KUBERNETES_VERSION} schemas)`
      : `helm template | kubeconform -strict ${!helm ? missing('helm') : !kubeconform ? missing('kubeconform') : '(SKIPPED: no schemas: kubernetes-validate could not be installed)'}`,
    async () => {
      const location = await kubeconformSchemaLocation(pythonPath.dir!);
      const variants = [
        [],
        ['--set', 'etcd.bundled=false,etcd.tlsSecret=tls,agent.nodeSelector.disk=ssd', '--set-json', 'etcd.externalEndpoints=["https://e1:2379"]'],
        ['--set', 'ingress.enabled=true,etcd.antiAffinity=soft,networkPolicy.metricsFrom=null,image.agent.digest=sha256:' + 'b'.repeat(64)],
      ];
      for (const extra of variants) {
        const manifests = await helmTemplate(extra);
        const child = execFile(
          kubeconform!,
          ['-strict', '-summary', '-kubernetes-version', KUBERNETES_VERSION, '-schema-location', location, '-'],
          (err) => err,
        );
        const done = new Promise<{ code: number | null; out: string }>((resolveDone) => {
          let out = '';
          child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
          child.on('close', (code) => resolveDone({ code, out }));
        });
        child.stdin!.end(manifests);
        const { code, out } = await done;
        expect(out, extra.join(' ')).toMatch(/Invalid: 0, Errors: 0, Skipped: 0/);
        expect(code).toBe(0);
      }
    },
    // Three helm template and three kubeconform runs: 42 s of wall time measured at load average 40 on two cores.
    TOOLS_TIMEOUT_MS,
  );
});

// ---- compose ----
interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  container_name?: string;
  profiles?: string[];
  user?: string;
  deploy?: unknown;
  mem_limit?: string;
  networks?: Record<string, { ipv4_address?: string }>;
}

const compose = parse(read('compose.yaml'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
  networks: Record<string, { ipam: { config: Array<{ subnet: string }> } }>;
};
const services = compose.services;
/** `${VAR}` or `${VAR:?message}`: taken from the environment, no default. */
const FROM_ENV = /^\$\{[A-Z0-9_]+(:?\?[^}]*)?\}$/;

describe('deploy/compose.yaml', () => {
  it('3 etcd members with distinct names, peer URLs and volumes, and one initial cluster naming exactly them', () => {
    const members = Object.entries(services).filter(([, s]) => s.command?.[0] === 'etcd');
    expect(members.map(([name]) => name)).toEqual(['etcd1', 'etcd2', 'etcd3']);
    const flag = (s: ComposeService, name: string) =>
      s
        .command!.find((a) => a.startsWith(`--${name}=`))
        ?.split('=')
        .slice(1)
        .join('=');
    const clusters = new Set(members.map(([, s]) => flag(s, 'initial-cluster')));
    expect(clusters.size).toBe(1);
    const expected = members.map(([, s]) => `${flag(s, 'name')}=${flag(s, 'initial-advertise-peer-urls')}`).join(',');
    expect([...clusters][0]).toBe(expected);
    expect(new Set(members.map(([, s]) => flag(s, 'initial-advertise-peer-urls'))).size).toBe(3);
    expect(new Set(members.map(([, s]) => flag(s, 'initial-cluster-token'))).size).toBe(1);
    for (const [name, s] of members) {
      expect(flag(s, 'advertise-client-urls')).toBe(`https://${name}:2379`);
      const volume = s.volumes!.find((v) => v.endsWith(`:${flag(s, 'data-dir')}`))!.split(':')[0]!;
      expect(compose.volumes, `${name}'s data volume`).toHaveProperty(volume);
    }
    expect(new Set(members.map(([, s]) => s.volumes![0])).size).toBe(3);
    // The API server and the agents know every member and wait for all of them to be healthy.
    for (const name of ['api-server', 'agent']) {
      expect(services[name]!.environment!.IDRA_ETCD_ENDPOINTS).toBe('https://etcd1:2379,https://etcd2:2379,https://etcd3:2379');
      for (const [member] of members) expect(services[name]!.depends_on![member]!.condition).toBe('service_healthy');
    }
  });

  it("builds every image on the bases deploy/.env names (IDRA_BASE_IMAGE, IDRA_RUNTIME_IMAGE: pinned by digest), by default the Dockerfiles' own", () => {
    const built = Object.entries(services).filter(([, s]) => s.build);
    expect(built.map(([name]) => name).sort()).toEqual(['agent', 'api-server', 'etcd-access', 'web-ui']);
    for (const [name, s] of built) {
      const dockerfile = readFileSync(join(DEPLOY, '..', s.build!.dockerfile), 'utf8');
      const declared = Object.fromEntries([...dockerfile.matchAll(/^ARG (\w+_IMAGE)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
      const env: Record<string, string> = { BASE_IMAGE: 'IDRA_BASE_IMAGE', RUNTIME_IMAGE: 'IDRA_RUNTIME_IMAGE' };
      expect(Object.keys(s.build!.args ?? {}).sort(), name).toEqual(Object.keys(declared).sort());
      for (const [arg, base] of Object.entries(declared)) {
        expect(s.build!.args![arg], `${name} ${arg}`).toBe(`\${${env[arg]}:-${base}}`);
        expect(read('.env.example'), `${env[arg]} in .env.example`).toMatch(new RegExp(`^# ${env[arg]}=`, 'm'));
      }
    }
  });

  it('etcd: client and peer TLS (peers show a certificate the CA signed), auth set by the etcd-access job, one user per component', () => {
    const members = Object.entries(services).filter(([, s]) => s.command?.[0] === 'etcd');
    for (const [name, s] of members) {
      const args = s.command!;
      for (const f of ['listen-client-urls', 'listen-peer-urls', 'initial-advertise-peer-urls', 'initial-cluster']) {
        expect(
          args.find((a) => a.startsWith(`--${f}=`)),
          `${name} --${f}`,
        ).toMatch(/^--[a-z-]+=(\w+=)?https:\/\//);
      }
      expect(args).toEqual(
        expect.arrayContaining(['--cert-file=/etc/etcd/tls/tls.crt', '--peer-trusted-ca-file=/etc/etcd/tls/ca.crt', '--peer-client-cert-auth']),
      );
      // etcd 3.4 and 3.5 demand client certificates once the client side has a CA: clients authenticate with auth instead.
      expect(
        args.some((a) => a.startsWith('--trusted-ca-file') || a === '--client-cert-auth'),
        name,
      ).toBe(false);
      expect(s.volumes).toContain('./etcd/certs:/etc/etcd/tls:ro');
      expect(s.healthcheck!.test).toEqual(expect.arrayContaining(['--endpoints=https://127.0.0.1:2379', '--cacert=/etc/etcd/tls/ca.crt']));
    }
    const access = services['etcd-access']!;
    expect(access.command).toEqual(['etcd-access']);
    expect(access.image).toBe(services['api-server']!.image);
    expect(access.restart).toBe('no');
    for (const [name, user, password] of [
      ['api-server', 'idra-api', 'IDRA_ETCD_API_PASSWORD'],
      ['agent', 'idra-agent', 'IDRA_ETCD_AGENT_PASSWORD'],
    ] as const) {
      const s = services[name]!;
      expect(s.depends_on!['etcd-access']!.condition, name).toBe('service_completed_successfully');
      expect(s.environment!.IDRA_ETCD_USERNAME).toBe(user);
      expect(s.environment!.IDRA_ETCD_PASSWORD).toMatch(new RegExp(`^\\$\\{${password}:\\?`));
      expect(access.environment![password]).toBe(s.environment!.IDRA_ETCD_PASSWORD);
      expect(s.environment!.IDRA_ETCD_CA).toBe('/etc/idra/etcd-tls/ca.crt');
      expect(s.environment!.IDRA_ETCD_CERT).toBeUndefined();
      expect(s.volumes).toContain('./etcd/certs/ca.crt:/etc/idra/etcd-tls/ca.crt:ro');
    }
    expect(Object.values(ETCD_USERS).sort()).toEqual(['idra-agent', 'idra-api']);
    // The script the header and docs/operations.md name makes the certificates for these members.
    expect(read('compose.yaml')).toContain('deploy/etcd/gen-certs.sh deploy/etcd/certs etcd1 etcd2 etcd3');
  });

  it.skipIf(!dockerCompose && !required)(
    dockerCompose
      ? 'docker-compose v1 and podman-compose accept it with deploy/.env filled, and name a missing secret'
      : `compose v1 and podman-compose ${missing('docker-compose')}`,
    async () => {
      const dir = await tempDir('idra-compose-');
      const env = read('.env.example').replace(/^([A-Z0-9_]+)=$/gm, '$1=Example-0123456789abcdef');
      await writeFile(join(dir, 'full.env'), env);
      await writeFile(join(dir, 'partial.env'), env.replace(/^IDRA_ETCD_AGENT_PASSWORD=.*$/m, ''));
      const podmanPath = await provisionPodmanCompose();
      const tools: Array<[string, string, string[], NodeJS.ProcessEnv]> = [
        ['docker-compose v1', dockerCompose ?? 'docker-compose', [], process.env],
        [
          'podman-compose',
          'python3',
          ['-c', 'import sys, podman_compose; sys.argv[0] = "podman-compose"; podman_compose.main()'],
          { ...process.env, PYTHONPATH: podmanPath },
        ],
      ];
      for (const [tool, command, prefix, toolEnv] of tools) {
        const config = (file: string) =>
          run(command, [...prefix, '-f', join(DEPLOY, 'compose.yaml'), '--env-file', join(dir, file), '--profile', 'monitoring', 'config'], {
            env: toolEnv,
            maxBuffer: 16 << 20,
          });
        const rendered = parse((await config('full.env')).stdout) as { services: Record<string, ComposeService> };
        expect(Object.keys(rendered.services).sort(), tool).toEqual(Object.keys(services).sort());
        expect(rendered.services.agent!.environment!.IDRA_ETCD_PASSWORD, tool).toBe('Example-0123456789abcdef');
        await expect(config('partial.env'), tool).rejects.toThrow(/IDRA_ETCD_AGENT_PASSWORD/);
      }
    },
    // Four runs of Python compose tools: 26 s of wall time measured at load average 40 on two cores.
    TOOLS_TIMEOUT_MS,
  );

  it('safe defaults: ports published on 127.0.0.1 only, memory limits on every service, Grafana without anonymous access', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const port of s.ports ?? []) expect(port, name).toMatch(/^\$\{[A-Z_]+:-127\.0\.0\.1:\d+\}:\d+$/);
      if (s.restart !== 'no') expect(s.mem_limit, name).toMatch(/^\d+[mg]$/);
    }
    const grafana = services.grafana!.environment!;
    expect(grafana.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
    expect(grafana.GF_SECURITY_ADMIN_PASSWORD).toMatch(FROM_ENV);
    // docker-compose v1 refuses a top-level `name`: the project name comes from deploy/.env.
    expect(Object.keys(parse(read('compose.yaml')) as object)).not.toContain('name');
    expect(read('.env.example')).toMatch(/^COMPOSE_PROJECT_NAME=idra$/m);
  });

  it('every long-running service has a healthcheck; Idra services probe /healthz or /readyz on their own port', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.restart === 'no') continue;
      expect(s.healthcheck?.test.length, name).toBeGreaterThan(1);
    }
    const probe = (name: string) => services[name]!.healthcheck!.test.join(' ');
    expect(probe('api-server')).toContain(`http://127.0.0.1:${services['api-server']!.environment!.IDRA_API_PORT}/readyz`);
    expect(probe('agent')).toContain(`http://127.0.0.1:${services.agent!.environment!.IDRA_HTTP_PORT}/readyz`);
    expect(probe('web-ui')).toContain(`http://127.0.0.1:${services['web-ui']!.environment!.IDRA_WEB_PORT}/healthz`);
    expect(probe('etcd1')).toContain('endpoint health');
  });

  it('agents scale with --scale agent=N: no container name, no published port, every replica scraped by DNS', () => {
    const agent = services.agent!;
    expect(agent.container_name).toBeUndefined();
    expect(agent.ports).toBeUndefined();
    expect(agent.expose).toEqual([agent.environment!.IDRA_HTTP_PORT]);
    expect(agent.environment!.IDRA_AGENT_ID).toBeUndefined(); // each replica makes its own unique id
    const prometheus = parse(read('compose/prometheus.yml')) as {
      scrape_configs: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; port: number }> }>;
    };
    const job = prometheus.scrape_configs.find((j) => j.job_name === 'idra-agent')!;
    expect(job.dns_sd_configs![0]).toMatchObject({ names: ['agent'], port: Number(agent.environment!.IDRA_HTTP_PORT) });
  });

  it('secrets come from the environment (deploy/.env), never literals, and .env.example lists each one', () => {
    const required = new Set<string>();
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (!isSecretEnv(key) && !/^(POSTGRES|MARIADB|MYSQL)_PASSWORD$/.test(key)) continue;
        if (key === 'MARIADB_RANDOM_ROOT_PASSWORD') continue;
        expect(String(value), `${name}.${key}`).toMatch(FROM_ENV);
        required.add(/^\$\{([A-Z0-9_]+)/.exec(String(value))![1]!);
      }
    }
    expect([...required].sort()).toEqual([
      'DEMO_MYSQL_PASSWORD',
      'DEMO_PG_PASSWORD',
      'GRAFANA_ADMIN_PASSWORD',
      'IDRA_ADMIN_PASSWORD',
      'IDRA_ETCD_AGENT_PASSWORD',
      'IDRA_ETCD_API_PASSWORD',
      'IDRA_ETCD_ROOT_PASSWORD',
      'IDRA_JWT_SECRET',
      'IDRA_SECRET_KEY',
    ]);
    const example = read('.env.example');
    for (const name of required) expect(example, name).toMatch(new RegExp(`^${name}=$`, 'm'));
  });

  it('the API trusts only the web UI as its proxy, at a fixed address in the network, and nginx overwrites X-Forwarded-For', () => {
    const defaulted = (v: string | undefined) => /^\$\{[A-Z_]+:-([^}]+)\}$/.exec(v ?? '')?.[1];
    const web = defaulted(services['web-ui']!.networks?.default?.ipv4_address);
    expect(web).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(defaulted(services['api-server']!.environment!.IDRA_API_TRUST_PROXY)).toBe(web);
    const subnet = defaulted(compose.networks.default!.ipam.config[0]!.subnet)!;
    expect(web!.split('.').slice(0, 3).join('.')).toBe(subnet.split('.').slice(0, 3).join('.'));
    expect(read('docker/web-ui/default.conf.template')).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(read('k8s/idra.yaml')).toMatch(/- name: IDRA_API_TRUST_PROXY\n\s+value: "1"/);
  });

  it('the images are built from deploy/docker: Node 24, production dependencies only, non-root user, HEALTHCHECK on /healthz', () => {
    // The etcd-access job runs the API server's image, built the same way.
    expect(services['etcd-access']!.build).toEqual(services['api-server']!.build);
    const built = Object.entries(services).filter(([name, s]) => s.build && name !== 'etcd-access');
    expect(built.map(([name]) => name).sort()).toEqual(['agent', 'api-server', 'web-ui']);
    for (const [name, s] of built) {
      expect(s.build!.context).toBe('..');
      expect(s.user, name).toBeUndefined();
      const dockerfile = readFileSync(join(ROOT, s.build!.dockerfile), 'utf8');
      const lastStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
      expect(dockerfile, name).toMatch(/^ARG BASE_IMAGE=node:24-/m);
      // By number (hadolint's DL3066): 1000:1000 is the node image's user `node`, 101 the nginx user the web UI's image makes.
      expect(lastStage, name).toMatch(/^USER (1000:1000|101)$/m);
      expect(lastStage, name).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
      if (name !== 'web-ui') {
        expect(dockerfile, name).toMatch(/pnpm install --offline --frozen-lockfile --prod --filter-prod @idra\/[a-z-]+\.\.\./);
        // Tests and test support stay out of the image (what the shipped code imports is checked below).
        expect(dockerfile, name).toMatch(
          /-name '\*\.test\.ts' -delete \\\n && rm -rf packages\/\*\/src\/testing apps\/\*\/src\/testing apps\/\*\/test apps\/\*\/faults$/m,
        );
        // Node itself is PID 1 (it handles SIGTERM); the agent's launcher sizes the heap, then execs Node.
        if (name === 'agent') {
          expect(lastStage).toMatch(/^ENTRYPOINT \["apps\/agent\/bin\/idra-agent"\]$/m);
          expect(readFileSync(join(ROOT, 'apps/agent/bin/idra-agent'), 'utf8').trimEnd().split('\n').at(-1)).toMatch(/^exec node /);
        } else {
          expect(lastStage, name).toMatch(/^ENTRYPOINT \["node", "apps\/[a-z-]+\/src\/main\.ts"\]$/m);
        }
      }
    }
    expect(readFileSync(join(ROOT, '.dockerignore'), 'utf8')).toMatch(/^\*\*\/node_modules$/m);
    const nginx = read('docker/web-ui/default.conf.template');
    expect(nginx).toMatch(/location \/api\/ \{\s*proxy_pass http:\/\/\$\{IDRA_API_UPSTREAM\};/);
    expect(nginx).toMatch(/location = \/healthz/);
  });

  it('the code the images ship imports no test support, so removing it from the images breaks nothing', () => {
    const shipped = ['packages/core/src', 'packages/connectors/src', 'apps/agent/src', 'apps/api-server/src'].flatMap((dir) =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.split('/').includes('testing'))
        .map((f) => join(dir, f)),
    );
    expect(shipped.length).toBeGreaterThan(100);
    const imports = (file: string) => [...readFileSync(join(ROOT, file), 'utf8').matchAll(/^(?:import|export) [^;]*?from '([^']+)'/gm)].map((m) => m[1]!);
    const offending = shipped.flatMap((file) =>
      imports(file)
        .filter((i) => /(^|\/)testing(\/|$)|^@idra\/testkit|^vitest/.test(i))
        .map((i) => `${file} imports ${i}`),
    );
    expect(offending).toEqual([]);
  });

  it('the demo seed imports data sources and syncs that Idra validates, into the demo databases', () => {
    const script = read('compose/seed-demo.sh');
    const json = /<<JSON\n([\s\S]*?)\nJSON\n/.exec(script)![1]!.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => `test-${name.toLowerCase()}`);
    const doc = JSON.parse(json) as { dataSources: unknown[]; syncs: unknown[] };
    const dataSources = doc.dataSources.map((d) => validateDataSource(d));
    expect(dataSources.map((d) => [d.id, d.connector, d.connection.host])).toEqual([
      ['shop', 'postgres', 'postgres'],
      ['dw', 'mysql', 'mariadb'],
    ]);
    const syncs = doc.syncs.map((s) => validateSyncConfig(s));
    expect(syncs.map((s) => s.mode)).toEqual(['id', 'timestamp']);
    expect(read('compose/postgres-init.sql')).toMatch(/create table orders/);
    expect(services.seed!.depends_on!['api-server']!.condition).toBe('service_healthy');
  });
});

// ---- the Dockerfiles, checked without building them (deploy/images/images.test.ts builds and runs them) ----
/** `pnpm list --json`'s tree of dependencies. */
type Dependencies = Record<string, { version: string; dependencies?: Dependencies }>;

describe('deploy/docker', () => {
  const dockerfiles = readdirSync(join(DEPLOY, 'docker')).filter((file) => /(^|\.)Dockerfile$/.test(file));

  it.skipIf(!hadolint)(
    hadolint
      ? 'hadolint finds nothing in any Dockerfile, at any level (deploy/docker/.hadolint.yaml gives each exception its reason)'
      : 'hadolint (SKIPPED: no hadolint in the testkit cache or PATH; ./idra test-servers installs it from PyPI)',
    async () => {
      expect(dockerfiles.sort()).toEqual(['agent.Dockerfile', 'api-server.Dockerfile', 'web-ui.Dockerfile']);
      const config = join(DEPLOY, 'docker/.hadolint.yaml');
      // --no-fail: every finding is in the JSON whatever its level, and a failure shows them all, not an exit code.
      const { stdout } = await run(hadolint!, ['--config', config, '--no-fail', '--no-color', '--format', 'json', ...dockerfiles], {
        cwd: join(DEPLOY, 'docker'),
      });
      const findings = JSON.parse(stdout) as Array<{ file: string; line: number; code: string; level: string; message: string }>;
      expect(findings.map((f) => `${f.file}:${f.line} ${f.code} (${f.level}) ${f.message}`)).toEqual([]);
      // The exceptions are the config's alone: a `# hadolint ignore=` comment would hide a finding from this test.
      expect(parse(readFileSync(config, 'utf8'))).toMatchObject({ 'failure-threshold': 'style', 'disable-ignore-pragma': true });
    },
    TOOLS_TIMEOUT_MS,
  );

  it(
    'the agent and API images install only what their app runs: no UI, test or type packages of ours, no Fastify in the agent',
    async () => {
      for (const app of ['agent', 'api-server'] as const) {
        // The selection the Dockerfile installs (`--prod --filter-prod @idra/<app>...`), listed by pnpm from the lockfile.
        const selection = /pnpm install --offline --frozen-lockfile (--prod --filter(?:-prod)? @idra\/[a-z-]+\.\.\.)/.exec(read(`docker/${app}.Dockerfile`));
        expect(selection, app).not.toBeNull();
        const listed = JSON.parse(
          (await run('pnpm', ['list', ...selection![1]!.split(' '), '--depth', 'Infinity', '--json'], { cwd: ROOT, maxBuffer: 64 << 20 })).stdout,
        ) as Array<{ name: string; dependencies?: Dependencies }>;
        expect(listed.map((p) => p.name).sort(), app).toEqual([`@idra/${app}`, '@idra/connectors', '@idra/core'].sort());
        const installed = new Set<string>();
        const seen = new Set<string>();
        const visit = (dependencies: Dependencies = {}) => {
          for (const [name, dependency] of Object.entries(dependencies)) {
            installed.add(name);
            if (seen.has(`${name}@${dependency.version}`)) continue;
            seen.add(`${name}@${dependency.version}`);
            visit(dependency.dependencies);
          }
        };
        for (const project of listed) visit(project.dependencies);
        expect(installed, app).toContain(app === 'agent' ? 'better-sqlite3' : 'fastify');
        const forbidden = /^(react|react-dom|@tanstack\/.*|vite|vitest|typescript|s3rver|@idra\/(testkit|api-client|web-ui|cli))$/;
        expect(
          [...installed].filter((name) => forbidden.test(name) || (app === 'agent' && /^(fastify|@fastify\/.*)$/.test(name))),
          app,
        ).toEqual([]);
        // Type packages come only where a runtime dependency requires them itself (mongodb: @types/whatwg-url), never from our manifests.
        expect(
          listed.flatMap((p) => Object.keys(p.dependencies ?? {}).filter((name) => name.startsWith('@types/'))),
          app,
        ).toEqual([]);
      }
    },
    TOOLS_TIMEOUT_MS,
  );
});

// ---- compose and chart: the images and environment deploy/images/images.test.ts builds and runs ----
describe('compose and the Helm chart run the tested images with the tested environment', () => {
  /**
   * Where compose and the chart must differ: addresses of their own networks (etcd, upstream, trusted proxies), secrets (a Secret
   * in the chart), and the number of agents (compose's --scale, the chart's agent.replicas).
   */
  const PER_PLATFORM = new Set(['IDRA_ETCD_ENDPOINTS', 'IDRA_API_UPSTREAM', 'IDRA_API_TRUST_PROXY', 'IDRA_EXPECTED_AGENTS']);

  it.skipIf(!helm && !required)(
    helm ? 'same image repositories, same variable names, same values but addresses and secrets' : `compose vs chart ${missing('helm')}`,
    async () => {
      const deployments = objects(await helmTemplate()).filter((o) => o.kind === 'Deployment');
      for (const [service, suffix] of [
        ['agent', '-agent'],
        ['api-server', '-api'],
        ['web-ui', '-web'],
      ] as const) {
        const composed = services[service]!;
        const container = podSpec(deployments.find((d) => d.metadata.name.endsWith(suffix))!).containers[0];
        // compose builds `idra-<service>` from deploy/docker/<service>.Dockerfile; the chart pulls <registry>/idra-<service>.
        expect(composed.build!.dockerfile).toBe(`deploy/docker/${service}.Dockerfile`);
        expect(composed.image!.split(':')[0], service).toBe(`idra-${service}`);
        expect(container.image.split('/').at(-1).split(':')[0], service).toBe(`idra-${service}`);
        const chartEnv = new Map<string, any>(container.env.map((e: any) => [e.name, e]));
        for (const [name, value] of Object.entries(composed.environment ?? {})) {
          expect(chartEnv.has(name), `${service}: the chart sets ${name}`).toBe(true);
          if (PER_PLATFORM.has(name)) continue;
          if (isSecretEnv(name)) expect(chartEnv.get(name).valueFrom?.secretKeyRef, `${service} ${name}`).toBeDefined();
          else expect(chartEnv.get(name).value, `${service} ${name}`).toBe(String(value).replace(/^\$\{[A-Z_]+:-([^}]*)\}$/, '$1'));
        }
      }
    },
  );
});

// ---- Grafana ----
describe('deploy/grafana/idra.json', () => {
  it('queries only metrics the agents export', () => {
    const dashboard = JSON.parse(read('grafana/idra.json')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const source = readFileSync(join(ROOT, 'apps/agent/src/http/agent-metrics.ts'), 'utf8');
    const exported = new Set([...source.matchAll(/name: '(idra_[a-z_]+)'/g)].map((m) => m[1]!));
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(15);
    for (const expr of exprs) {
      for (const [metric] of expr.matchAll(/idra_[a-z_]+/g)) {
        // Histograms expose _bucket/_sum/_count; process metrics come from prom-client with the idra_agent_ prefix.
        const base = metric.replace(/_(bucket|sum|count)$/, '');
        expect(exported.has(base) || metric.startsWith('idra_agent_process_') || metric.startsWith('idra_agent_nodejs_'), `${metric} in ${expr}`).toBe(true);
      }
    }
  });

  it('draws every metric the agents export', () => {
    const dashboard = JSON.parse(read('grafana/idra.json')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const source = readFileSync(join(ROOT, 'apps/agent/src/http/agent-metrics.ts'), 'utf8');
    const drawn = new Set(
      dashboard.panels
        .flatMap((p) => p.targets ?? [])
        .flatMap((t) => [...t.expr.matchAll(/idra_[a-z_]+/g)].map(([m]) => m.replace(/_(bucket|sum|count)$/, ''))),
    );
    const exported = [...source.matchAll(/name: '(idra_[a-z_]+)'/g)].map((m) => m[1]!);
    expect(exported.length).toBeGreaterThan(25);
    expect(exported.filter((m) => !drawn.has(m))).toEqual([]);
  });

  it("draws rows deleted and schema changes by the agents' own outcomes, a refused change in red", () => {
    type Panel = {
      title: string;
      targets?: Array<{ expr: string }>;
      fieldConfig?: { overrides: Array<{ matcher: { options: string }; properties: Array<{ value: { fixedColor?: string } }> }> };
    };
    const panels = (JSON.parse(read('grafana/idra.json')) as { panels: Panel[] }).panels;
    const drawing = (metric: string) => panels.filter((p) => p.targets?.some((t) => t.expr.includes(metric)));
    expect(drawing('idra_rows_deleted_total').map((p) => p.title)).toEqual(['Rows deleted / min by sync']);
    const schema = drawing('idra_schema_changes_total');
    expect(schema.map((p) => p.title)).toEqual(['Schema changes by outcome', 'Schema changes refused']);
    // The outcomes agent-metrics.ts counts (its SCHEMA_CHANGE_OUTCOMES), not names a panel guessed.
    const source = readFileSync(join(ROOT, 'apps/agent/src/http/agent-metrics.ts'), 'utf8');
    const outcomes = [...source.match(/SCHEMA_CHANGE_OUTCOMES = Object\.keys\(\{([^}]*)\}/)![1]!.matchAll(/(\w+): 0/g)].map((m) => m[1]);
    expect(outcomes).toEqual(['applied', 'ignored', 'refused']);
    const colours = Object.fromEntries(
      schema[0]!.fieldConfig!.overrides.map((o) => [o.matcher.options.match(/(\w+)\$$/)![1], o.properties[0]!.value.fixedColor]),
    );
    expect(Object.keys(colours).sort()).toEqual(outcomes);
    expect(colours.refused).toBe('red');
    expect(schema[1]!.targets![0]!.expr).toContain('outcome="refused"');
  });
});

it('compose, chart and dashboard files exist where the docs say', () => {
  for (const path of [
    'docker/agent.Dockerfile',
    'docker/api-server.Dockerfile',
    'docker/web-ui.Dockerfile',
    'helm/idra/Chart.yaml',
    'k8s/idra.yaml',
    'grafana/idra.json',
  ]) {
    expect(existsSync(join(DEPLOY, path)), path).toBe(true);
  }
});
