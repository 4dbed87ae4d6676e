/**
 * The dashboard's way from a slow request to its trace (issue 19): every panel that reads a latency histogram whose
 * buckets carry trace exemplars asks for exemplars, and the Prometheus datasource it queries turns the exemplar's
 * trace id label into a link to a provisioned trace datasource (Jaeger, Tempo or Zipkin).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Histogram } from 'prom-client';
import { parse } from 'yaml';
import { createGatewayMetrics } from '../../gateway/metrics.ts';
import { createInferenceMetrics } from '../../inference-consumers/service/metrics.ts';
import { createMetricsRegistry, EXEMPLAR_TRACE_ID_LABEL } from '../../platform/metrics.ts';
import { REPO_ROOT } from '../../stack/paths.ts';
import { dashboardFiles, withGrafanaVariablesResolved, yamlFiles } from './observability-queries.ts';
import { metricNamesInExpr } from './promql-names.ts';

export const DATASOURCES_DIR = join(REPO_ROOT, 'deploy', 'grafana', 'provisioning', 'datasources');

/** Grafana datasource types whose queries open one trace by its id. */
export const TRACE_DATASOURCE_TYPES = ['jaeger', 'tempo', 'zipkin'];

/** The modules whose metric factories make histograms with exemplars (exemplarsFor); the deploy test checks the list. */
export const EXEMPLAR_METRIC_MODULES = ['gateway/metrics.ts', 'inference-consumers/service/metrics.ts'];

export interface Datasource {
  name: string;
  uid?: string;
  type: string;
  url?: string;
  jsonData?: { exemplarTraceIdDestinations?: { name: string; datasourceUid?: string; url?: string }[] };
}

interface Target { refId?: string; expr?: string; exemplar?: boolean; datasource?: { type?: string; uid?: string } }
interface Panel { title?: string; datasource?: { type?: string; uid?: string }; targets?: Target[]; panels?: Panel[] }
export interface Dashboard {
  panels?: Panel[];
  templating?: { list?: { name?: string; type?: string; query?: unknown }[] };
}

export function provisionedDatasources(dir = DATASOURCES_DIR): Datasource[] {
  return yamlFiles(dir).flatMap((f) => (parse(readFileSync(f, 'utf8')) as { datasources?: Datasource[] }).datasources ?? []);
}

export function provisionedDashboards(): { file: string; dashboard: Dashboard }[] {
  return dashboardFiles().map((f) => ({ file: f.slice(REPO_ROOT.length + 1), dashboard: JSON.parse(readFileSync(f, 'utf8')) as Dashboard }));
}

/** Names of the histograms the services make with exemplars. */
export function exemplarMetrics(): string[] {
  const registry = createMetricsRegistry('check');
  createGatewayMetrics(registry, () => ({ tracked: 0, waiting: 0 }));
  createInferenceMetrics(registry);
  return registry.getMetricsAsArray()
    .filter((m) => (m as unknown as Histogram & { enableExemplars?: boolean }).enableExemplars === true)
    .map((m) => (m as unknown as { name: string }).name)
    .sort();
}

/** The provisioned datasources a panel's or target's datasource reference stands for. */
function datasourcesOf(ref: { type?: string; uid?: string } | undefined, dashboard: Dashboard, datasources: Datasource[]): Datasource[] {
  const uid = ref?.uid;
  const variable = uid?.match(/^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/)?.[1];
  if (variable !== undefined) {
    const v = dashboard.templating?.list?.find((x) => x.name === variable && x.type === 'datasource');
    return v ? datasources.filter((d) => d.type === v.query) : [];
  }
  if (uid === undefined) return datasources.filter((d) => (d as { isDefault?: boolean }).isDefault === true);
  return datasources.filter((d) => d.uid === uid);
}

/**
 * Problems, one line each: a panel reading the buckets of an exemplar histogram without a target that asks for
 * exemplars; such a target whose datasource is not provisioned, or has no link from `traceIdLabel` to a trace
 * datasource (or URL with the value).
 */
export function exemplarLinkProblems(
  dashboards: { file: string; dashboard: Dashboard }[],
  datasources: Datasource[],
  metrics: string[],
  traceIdLabel: string,
): string[] {
  const problems: string[] = [];
  const buckets = new Set(metrics.map((m) => `${m}_bucket`));
  for (const { file, dashboard } of dashboards) {
    const visit = (panels: Panel[] | undefined): void => {
      for (const panel of panels ?? []) {
        visit(panel.panels);
        const targets = panel.targets ?? [];
        const read = [...new Set(targets.flatMap((t) => (t.expr ? [...metricNamesInExpr(withGrafanaVariablesResolved(t.expr))] : []).filter((n) => buckets.has(n))))];
        if (read.length === 0) continue;
        const where = `${file}: panel "${panel.title}"`;
        const asking = targets.filter((t) => t.exemplar === true);
        if (asking.length === 0) problems.push(`${where} reads ${read.join(', ')}, whose buckets carry trace exemplars, but no target has "exemplar": true`);
        for (const t of asking) {
          const sources = datasourcesOf(t.datasource ?? panel.datasource, dashboard, datasources);
          if (sources.length === 0) problems.push(`${where} ${t.refId ?? ''}: its datasource ${JSON.stringify(t.datasource ?? panel.datasource)} is not a provisioned one`);
          for (const source of sources) {
            const links = (source.jsonData?.exemplarTraceIdDestinations ?? []).filter((d) => d.name === traceIdLabel);
            const linked = links.some((d) =>
              (d.datasourceUid !== undefined && datasources.some((x) => x.uid === d.datasourceUid && TRACE_DATASOURCE_TYPES.includes(x.type)))
              || (d.url?.includes('${__value.raw}') ?? false));
            if (!linked) {
              problems.push(`${where} ${t.refId ?? ''}: datasource "${source.name}" has no exemplarTraceIdDestinations entry for label ${traceIdLabel} naming a provisioned ${TRACE_DATASOURCE_TYPES.join('/')} datasource`);
            }
          }
        }
      }
    };
    visit(dashboard.panels);
  }
  return problems;
}

/** The provisioned dashboards and datasources checked against the services' exemplar histograms. */
export function allExemplarLinkProblems(): string[] {
  return exemplarLinkProblems(provisionedDashboards(), provisionedDatasources(), exemplarMetrics(), EXEMPLAR_TRACE_ID_LABEL);
}
