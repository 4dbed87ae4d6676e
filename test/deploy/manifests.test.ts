/**
 * The Kubernetes manifests as kustomize renders them: valid against the Kubernetes API schemas and KEDA's CRDs
 * (kubeconform, strict, offline), and right for this pipeline: probes, limits, a restricted security context,
 * disruption budgets, configuration and secrets, and KEDA triggers that match the topics and consumer groups.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { OVERLAYS, renderOverlay, validateManifests } from '../../deploy/checks/kubernetes-manifests.ts';
import { deployTools, type DeployTools } from '../../deploy/checks/tools.ts';
import { parseTokens } from '../../gateway/http/auth.ts';
import { REPO_ROOT } from '../../stack/paths.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are checked field by field */
type Resource = any;

let tools: DeployTools;
const rendered: Record<string, { yaml: string; resources: Resource[] }> = {};

beforeAll(async () => {
  tools = await deployTools();
  for (const overlay of OVERLAYS) {
    const yaml = await renderOverlay(tools, overlay);
    rendered[overlay] = { yaml, resources: parseAllDocuments(yaml).map((d) => d.toJS()) };
  }
});

const of = (overlay: string, kind: string): Resource[] => rendered[overlay]!.resources.filter((r) => r.kind === kind);
/** The pipeline's own Deployments: their pods run the imgpipe image as container "app". */
const services = (overlay: string): Resource[] => of(overlay, 'Deployment').filter((d) => d.spec.template.spec.containers.some((c: Resource) => c.name === 'app'));
const app = (d: Resource): Resource => d.spec.template.spec.containers.find((c: Resource) => c.name === 'app');
const envOf = (d: Resource, name: string): string | undefined => app(d).env?.find((e: Resource) => e.name === name)?.value;
const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  it('renders manifests that are valid for every supported Kubernetes version and KEDA', async () => {
    const report = await validateManifests(tools, rendered[overlay]!.yaml, overlay);
    expect(report.problems).toEqual([]);
    expect(report.resources).toBe(rendered[overlay]!.resources.length);
  });

  it('has a Deployment per service and one per model version', () => {
    expect(services(overlay).map((d) => d.metadata.name).sort()).toEqual(['drift-monitor', 'gateway', 'inference-v1', 'inference-v2', 'rollouts', 'router']);
  });

  it('routes each Service to the pods of one Deployment, on ports their container names', () => {
    const named = of(overlay, 'Service').filter((s) => services(overlay).some((d) => d.metadata.name === s.metadata.name));
    expect(named.map((s) => s.metadata.name).sort()).toEqual(['drift-monitor', 'gateway', 'rollouts']);
    for (const svc of named) {
      const targets = services(overlay).filter((d) => selects(svc.spec.selector, d.spec.template.metadata.labels));
      expect(targets.map((d) => d.metadata.name), svc.metadata.name).toEqual([svc.metadata.name]);
      const ports = app(targets[0]).ports.map((p: Resource) => p.name);
      for (const p of svc.spec.ports) expect(ports, `${svc.metadata.name} port ${p.name}`).toContain(p.targetPort);
    }
  });

  it('serves the gateway on its HTTP port on all interfaces, with the client tokens from the Secret', () => {
    const gateway = services(overlay).find((d) => d.metadata.name === 'gateway');
    const http = app(gateway).ports.find((p: Resource) => p.name === 'http');
    expect(String(http.containerPort)).toBe(envOf(gateway, 'GATEWAY_PORT'));
    expect(envOf(gateway, 'GATEWAY_HOST')).toBe('0.0.0.0');
    expect(app(gateway).env.find((e: Resource) => e.name === 'GATEWAY_TOKENS').valueFrom).toEqual({ secretKeyRef: { name: 'imgpipe-secrets', key: 'GATEWAY_TOKENS' } });
    const svc = of(overlay, 'Service').find((s) => s.metadata.name === 'gateway');
    expect(svc.spec.ports.find((p: Resource) => p.name === 'http')).toMatchObject({ port: 8000, targetPort: 'http' });
    const secret = of(overlay, 'Secret').find((s) => s.metadata.name === 'imgpipe-secrets');
    // The local overlay brings its development Secret: its tokens must be ones the gateway accepts.
    if (secret) expect(parseTokens(Buffer.from(secret.data.GATEWAY_TOKENS, 'base64').toString('utf8')).ok).toBe(true);
  });

  it('runs single-instance services (drift monitor, rollout controller) as one replica, replaced rather than rolled', () => {
    for (const name of ['drift-monitor', 'rollouts']) {
      const d = services(overlay).find((s) => s.metadata.name === name);
      expect(d.spec.replicas, name).toBe(1);
      expect(d.spec.strategy, name).toEqual({ type: 'Recreate' });
    }
    // The controller's transactional id derives from ROLLOUT_CONTROLLER_ID: a fixed value, so a replacement fences its predecessor.
    const controller = services(overlay).find((s) => s.metadata.name === 'rollouts');
    expect(envOf(controller, 'ROLLOUT_CONTROLLER_ID')).toMatch(/^[a-zA-Z0-9._-]+$/);
  });

  it('probes /readyz and /healthz on the ops port the service listens on, on all interfaces', () => {
    const config = of(overlay, 'ConfigMap').find((c) => c.metadata.name === 'imgpipe-config');
    expect(config.data.METRICS_HOST).toBe('0.0.0.0');
    for (const d of services(overlay)) {
      const c = app(d);
      const ops = c.ports.find((p: Resource) => p.name === 'ops');
      expect(String(ops.containerPort), d.metadata.name).toBe(envOf(d, 'METRICS_PORT'));
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'ops' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'ops' });
    }
  });

  it('sets requests and limits of CPU and memory on every container', () => {
    for (const d of of(overlay, 'Deployment').concat(of(overlay, 'StatefulSet'))) {
      for (const c of d.spec.template.spec.containers) {
        expect(Object.keys(c.resources.requests).sort(), `${d.metadata.name}/${c.name}`).toEqual(['cpu', 'memory']);
        expect(c.resources.limits.memory, `${d.metadata.name}/${c.name}`).toBeDefined();
      }
    }
    for (const d of services(overlay)) expect(Object.keys(app(d).resources.limits).sort(), d.metadata.name).toEqual(['cpu', 'memory']);
  });

  it('runs the services under the restricted security context with writable emptyDirs for caches', () => {
    for (const d of services(overlay)) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(app(d).securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      const mounts = Object.fromEntries(app(d).volumeMounts.map((m: Resource) => [m.mountPath, m.name]));
      expect(mounts['/tmp']).toBeDefined();
      expect(mounts['/var/cache/imgpipe']).toBeDefined();
      for (const name of Object.values(mounts)) expect(pod.volumes.find((v: Resource) => v.name === name).emptyDir, String(name)).toBeDefined();
    }
  });

  it('reads configuration from the ConfigMap and secrets from the Secret, never a secret in the ConfigMap', () => {
    for (const d of services(overlay)) {
      expect(app(d).envFrom).toEqual([{ configMapRef: { name: 'imgpipe-config' } }, { secretRef: { name: 'imgpipe-secrets' } }]);
    }
    const config = of(overlay, 'ConfigMap').find((c) => c.metadata.name === 'imgpipe-config');
    for (const key of Object.keys(config.data)) expect(key).not.toMatch(/PASSWORD|SECRET|TOKEN|ACCESS_KEY/);
  });

  it('covers every service with a PodDisruptionBudget that does not block a drain of a single replica', () => {
    for (const d of services(overlay)) {
      const budgets = of(overlay, 'PodDisruptionBudget').filter((b) => selects(b.spec.selector.matchLabels, d.spec.template.metadata.labels));
      expect(budgets.length, d.metadata.name).toBe(1);
      const replicas = d.spec.replicas ?? 1;
      if (budgets[0].spec.minAvailable !== undefined) expect(budgets[0].spec.minAvailable, d.metadata.name).toBeLessThan(replicas);
    }
  });

  it('scales each version\'s consumers on its group\'s lag over both lanes, up to the topic\'s partition count', () => {
    const config = of(overlay, 'ConfigMap').find((c) => c.metadata.name === 'imgpipe-config').data;
    const prefix = config.TOPIC_PREFIX;
    const partitions = Number(config.TOPIC_PARTITIONS);
    const consumers = services(overlay).filter((d) => envOf(d, 'MODEL_VERSION'));
    expect(consumers.length).toBe(2);
    for (const d of consumers) {
      const version = envOf(d, 'MODEL_VERSION');
      const scalers = of(overlay, 'ScaledObject').filter((s) => s.spec.scaleTargetRef.name === d.metadata.name);
      expect(scalers.length, d.metadata.name).toBe(1);
      const { spec } = scalers[0];
      expect(spec.triggers).toHaveLength(1);
      expect(spec.triggers[0].type).toBe('kafka');
      expect(spec.triggers[0].metadata).toMatchObject({ consumerGroup: `${prefix}.inference-${version}`, bootstrapServersFromEnv: 'KAFKA_BROKERS' });
      // No topic: KEDA sums the group's lag over both lanes' topics.
      expect(spec.triggers[0].metadata.topic).toBeUndefined();
      expect(spec.maxReplicaCount).toBeLessThanOrEqual(partitions);
      expect(spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      expect(spec.minReplicaCount).toBeLessThanOrEqual(spec.maxReplicaCount);
      // The HPA owns the replica count; a replicas field would reset it on every apply.
      expect(d.spec.replicas, d.metadata.name).toBeUndefined();
      const auth = spec.triggers[0].authenticationRef?.name;
      if (auth) expect(of(overlay, 'TriggerAuthentication').map((t) => t.metadata.name)).toContain(auth);
      if (config.KAFKA_SASL_MECHANISM && config.KAFKA_SASL_MECHANISM !== 'none') {
        const kedaSasl: Record<string, string> = { plain: 'plaintext', 'scram-sha-256': 'scram_sha256', 'scram-sha-512': 'scram_sha512' };
        expect(spec.triggers[0].metadata.sasl).toBe(kedaSasl[config.KAFKA_SASL_MECHANISM]);
        expect(auth).toBeDefined();
      }
    }
  });
});

describe('the check script (deploy/check.ts)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'imgpipe-broken-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const check = (file: string): Promise<{ code: number; out: string }> =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'deploy', 'check.ts'), file], { cwd: REPO_ROOT }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }),
    );

  const deployment = (): Resource => structuredClone(rendered.local!.resources.find((r) => r.kind === 'Deployment' && r.metadata.name === 'router'));
  const scaler = (): Resource => structuredClone(rendered.local!.resources.find((r) => r.kind === 'ScaledObject'));
  const write = (name: string, resources: Resource[]): string => {
    const file = join(dir, name);
    writeFileSync(file, resources.map((r) => JSON.stringify(r)).join('\n---\n'));
    return file;
  };

  it('fails on an invalid manifest and names the field', async () => {
    const broken = deployment();
    broken.spec.template.spec.containers[0].readinessProbe.httpGet = { path: '/readyz', prot: 'ops' };
    const brokenScaler = scaler();
    brokenScaler.spec.triggers[0].metadata.lagThreshold = 200;
    const { code, out } = await check(write('broken.yaml', [broken, brokenScaler]));
    expect(code).toBe(1);
    expect(out).toMatch(/FAIL .*Deployment router .*readinessProbe\/httpGet.*'prot' not allowed/);
    expect(out).toMatch(/FAIL .*ScaledObject inference-v1 .*lagThreshold.*want string/);
  });

  it('fails on a kind it has no schema for', async () => {
    const { code, out } = await check(write('unknown.yaml', [{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]));
    expect(code).toBe(1);
    expect(out).toMatch(/FAIL .*Widget w .*could not find schema/);
  });

  it('passes the same manifests unbroken', async () => {
    const { code, out } = await check(write('fine.yaml', [deployment(), scaler()]));
    expect(out).toMatch(/^ok .*2 resources valid/m);
    expect(code).toBe(0);
  });
});
