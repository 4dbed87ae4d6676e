/**
 * Traces wired into the deployments (issue 19): the dashboard's latency exemplars link to traces, Prometheus keeps
 * exemplars and scrapes the format that carries them, and the services export to the trace backend that Grafana
 * reads, in Docker Compose and in the Kubernetes overlays.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import {
  EXEMPLAR_METRIC_MODULES,
  exemplarLinkProblems,
  exemplarMetrics,
  provisionedDashboards,
  provisionedDatasources,
  type Dashboard,
} from '../../deploy/checks/exemplar-links.ts';
import { renderOverlay } from '../../deploy/checks/kubernetes-manifests.ts';
import { deployTools } from '../../deploy/checks/tools.ts';
import { EnvReader } from '../../platform/config.ts';
import { EXEMPLAR_TRACE_ID_LABEL } from '../../platform/metrics.ts';
import { DEFAULT_SAMPLER, DEFAULT_SAMPLER_RATIO, readTracingSettings } from '../../platform/tracing.ts';
import { REPO_ROOT } from '../../stack/paths.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- compose files and rendered manifests are checked field by field */
type Resource = any;

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');

/** Repository .ts files outside tests, dependencies and build output. */
function sources(dir = REPO_ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return ['node_modules', 'dist', 'test', '.git'].includes(e.name) ? [] : sources(join(dir, e.name));
    return e.name.endsWith('.ts') ? [relative(REPO_ROOT, join(dir, e.name))] : [];
  });
}

/** The settings a service reads from this environment, with problems as errors. */
function tracingSettingsOf(env: Record<string, string>) {
  const reader = new EnvReader(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('OTEL_'))));
  const settings = readTracingSettings(reader, 'svc');
  reader.done();
  return settings;
}

describe('Grafana links from latency exemplars to traces', () => {
  it('knows every module that makes histograms with exemplars', () => {
    const users = sources().filter((f) => f !== 'platform/metrics.ts' && read(f).includes('exemplarsFor('));
    expect(users.sort()).toEqual([...EXEMPLAR_METRIC_MODULES].sort());
    expect(exemplarMetrics()).toEqual(['gateway_request_duration_seconds', 'inference_end_to_end_latency_seconds']);
  });

  it('every panel reading those histograms asks for exemplars, and its datasource links their trace id to a trace datasource', () => {
    const dashboards = provisionedDashboards();
    expect(exemplarLinkProblems(dashboards, provisionedDatasources(), exemplarMetrics(), EXEMPLAR_TRACE_ID_LABEL)).toEqual([]);
    const asking = dashboards.flatMap(({ dashboard }) => (dashboard.panels ?? []) as { title: string; targets?: { exemplar?: boolean }[] }[])
      .filter((p) => p.targets?.some((t) => t.exemplar === true)).map((p) => p.title);
    expect(asking).toEqual(['End-to-end latency by version', 'Gateway latency by route']);
  });

  it('names the panel without exemplars, an unknown datasource and a Prometheus datasource without the trace link', () => {
    const panel = (exemplar: boolean, uid = '${datasource}') => ({
      title: 'Latency', datasource: { type: 'prometheus', uid },
      targets: [{ refId: 'A', exemplar, expr: 'histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket[$__rate_interval])))' }],
    });
    const dashboard = (p: object): { file: string; dashboard: Dashboard } => ({
      file: 'd.json', dashboard: { panels: [p], templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus' }] } },
    });
    const jaeger = { name: 'Jaeger', uid: 'jaeger', type: 'jaeger' };
    const linked = { name: 'Prometheus', uid: 'prometheus', type: 'prometheus', jsonData: { exemplarTraceIdDestinations: [{ name: 'trace_id', datasourceUid: 'jaeger' }] } };
    expect(exemplarLinkProblems([dashboard(panel(true))], [linked, jaeger], ['x_seconds'], 'trace_id')).toEqual([]);
    expect(exemplarLinkProblems([dashboard(panel(false))], [linked, jaeger], ['x_seconds'], 'trace_id'))
      .toEqual(['d.json: panel "Latency" reads x_seconds_bucket, whose buckets carry trace exemplars, but no target has "exemplar": true']);
    expect(exemplarLinkProblems([dashboard(panel(true, 'elsewhere'))], [linked, jaeger], ['x_seconds'], 'trace_id')[0]).toMatch(/is not a provisioned one/);
    const unlinked = { ...linked, jsonData: {} };
    expect(exemplarLinkProblems([dashboard(panel(true))], [unlinked, jaeger], ['x_seconds'], 'trace_id')[0]).toMatch(/datasource "Prometheus" has no exemplarTraceIdDestinations entry for label trace_id/);
    // A link to a datasource that is not a trace backend, or under another label, is no link.
    const toItself = { ...linked, jsonData: { exemplarTraceIdDestinations: [{ name: 'trace_id', datasourceUid: 'prometheus' }] } };
    expect(exemplarLinkProblems([dashboard(panel(true))], [toItself, jaeger], ['x_seconds'], 'trace_id')).toHaveLength(1);
    expect(exemplarLinkProblems([dashboard(panel(true))], [linked, jaeger], ['x_seconds'], 'traceID')).toHaveLength(1);
  });
});

describe('Docker Compose', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Resource> };
  /** A compose value with its `${VAR:-default}` references replaced by their defaults (nothing set in the shell). */
  const resolved = (value: unknown): string => String(value).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
  const pipeline = Object.entries(compose.services).filter(([, s]) => s.build === '.');

  it('runs Prometheus with exemplar storage on the configuration it mounts, asking for OpenMetrics (its default)', () => {
    const prometheus = compose.services.prometheus;
    expect(prometheus.command).toContain('--enable-feature=exemplar-storage');
    expect(prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    expect(prometheus.volumes).toContain('./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    // Prometheus 2.x and 3.x ask for OpenMetrics first unless scrape_protocols says otherwise; exemplars exist only there.
    for (const file of ['prometheus.yml', 'prometheus-kubernetes.yml']) {
      const config = parse(read(`deploy/prometheus/${file}`)) as { global?: { scrape_protocols?: string[] }; scrape_configs: { scrape_protocols?: string[] }[] };
      for (const protocols of [config.global?.scrape_protocols, ...config.scrape_configs.map((s) => s.scrape_protocols)]) {
        if (protocols) expect(protocols[0], file).toMatch(/^OpenMetricsText/);
      }
    }
  });

  it('has every pipeline service export traces to the jaeger service, whose query API Grafana\'s Jaeger datasource reads', () => {
    expect(pipeline.map(([name]) => name).sort()).toEqual(['drift-monitor', 'gateway', 'inference-v1', 'inference-v2', 'rollouts', 'router']);
    const jaeger = compose.services.jaeger;
    expect(jaeger.image).toMatch(/^jaegertracing\/jaeger:2\.\d+\.\d+$/);
    for (const [name, service] of pipeline) {
      const env = Object.fromEntries(Object.entries(service.environment as Record<string, unknown>).map(([k, v]) => [k, resolved(v)]));
      const settings = tracingSettingsOf(env);
      expect(settings.tracesUrl, name).toBe('http://jaeger:4318/v1/traces');
      expect([settings.sampler, settings.samplerRatio], name).toEqual([DEFAULT_SAMPLER, DEFAULT_SAMPLER_RATIO]);
    }
    const datasources = provisionedDatasources();
    const traces = datasources.find((d) => d.uid === 'jaeger');
    expect(traces?.type).toBe('jaeger');
    expect(new URL(traces!.url!).host).toBe('jaeger:16686');
    expect(new URL(datasources.find((d) => d.type === 'prometheus')!.url!).hostname).toBe('prometheus');
    expect(compose.services.grafana.volumes).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(compose.services.grafana.depends_on).toEqual(expect.arrayContaining(['prometheus', 'jaeger']));
  });
});

describe('the Kubernetes overlays', () => {
  const rendered: Record<string, Resource[]> = {};
  beforeAll(async () => {
    const tools = await deployTools();
    for (const overlay of ['local', 'production']) rendered[overlay] = parseAllDocuments(await renderOverlay(tools, overlay)).map((d) => d.toJS());
  });
  const config = (overlay: string): Record<string, string> => rendered[overlay]!.find((r) => r.kind === 'ConfigMap' && r.metadata.name === 'imgpipe-config').data;

  it('local: the services export to the Jaeger stand-in, on a port its Service routes to its container', () => {
    const settings = tracingSettingsOf(config('local'));
    expect([settings.sampler, settings.samplerRatio]).toEqual([DEFAULT_SAMPLER, DEFAULT_SAMPLER_RATIO]);
    const url = new URL(settings.tracesUrl!);
    const service = rendered.local!.find((r) => r.kind === 'Service' && r.metadata.name === url.hostname);
    const port = service?.spec.ports.find((p: Resource) => String(p.port) === url.port);
    expect(port, `Service ${url.hostname} port ${url.port}`).toBeDefined();
    const deployment = rendered.local!.find((r) => r.kind === 'Deployment'
      && Object.entries(service.spec.selector as Record<string, string>).every(([k, v]) => r.spec.template.metadata.labels[k] === v));
    const container = deployment.spec.template.spec.containers[0];
    expect(container.image).toMatch(/^jaegertracing\/jaeger:2\./);
    expect(container.ports.map((p: Resource) => p.name)).toContain(port.targetPort);
  });

  it('production: tracing is the operator\'s choice (components/tracing), off until then', () => {
    expect(tracingSettingsOf(config('production')).tracesUrl).toBeUndefined();
  });
});
