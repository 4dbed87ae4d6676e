/**
 * The PromQL of the provisioned Grafana dashboard and of the Prometheus alert rules, with where each comes from,
 * for the checks that run it through promtool and compare its metric names with what the services export.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../stack/paths.ts';
import { metricNamesInExpr } from './promql-names.ts';

export const DASHBOARD_DIR = join(REPO_ROOT, 'deploy', 'grafana', 'dashboards');
export const RULES_DIR = join(REPO_ROOT, 'deploy', 'prometheus', 'rules');
export const RULE_TESTS_DIR = join(REPO_ROOT, 'deploy', 'prometheus', 'tests');

/**
 * Series that Prometheus or Kubernetes provide, not the pipeline's services: the rules may use them, and the
 * check of exported names does not look for them on a service's /metrics.
 */
export const EXTERNAL_METRICS: Record<string, string> = {
  up: 'Prometheus: 1 while a scrape target answers',
  kube_deployment_spec_replicas: 'kube-state-metrics: replicas a Deployment wants',
  kube_deployment_status_replicas_ready: 'kube-state-metrics: replicas passing their readiness probe (/readyz)',
};

export interface Query {
  /** Where the expression is, for a failing check's message. */
  source: string;
  expr: string;
}

export function yamlFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f));
}

export function dashboardFiles(): string[] {
  return readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json')).sort().map((f) => join(DASHBOARD_DIR, f));
}

interface Panel {
  title?: string;
  targets?: { refId?: string; expr?: string }[];
  panels?: Panel[];
}

interface Dashboard {
  panels?: Panel[];
  templating?: { list?: { name?: string; query?: string | { query?: string } }[] };
}

/** Every panel's target expressions (rows' nested panels included) and the templating variables' queries. */
export function dashboardQueries(dashboard: Dashboard, file: string): Query[] {
  const queries: Query[] = [];
  const visit = (panels: Panel[] | undefined): void => {
    for (const panel of panels ?? []) {
      for (const t of panel.targets ?? []) if (t.expr) queries.push({ source: `${file}: panel "${panel.title}" ${t.refId ?? ''}`.trim(), expr: t.expr });
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    const q = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    // label_values(metric, label) reads metric; label_values(label) and other variable kinds read none.
    const m = q?.match(/^label_values\(\s*(.+),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$/);
    if (m) queries.push({ source: `${file}: variable $${variable.name}`, expr: m[1]! });
  }
  return queries;
}

interface RuleFile {
  groups?: { name: string; rules?: { alert?: string; record?: string; expr: string }[] }[];
}

export function ruleQueries(rules: RuleFile, file: string): Query[] {
  return (rules.groups ?? []).flatMap((g) =>
    (g.rules ?? []).map((r) => ({ source: `${file}: ${r.alert ? `alert ${r.alert}` : `record ${r.record}`}`, expr: String(r.expr) })),
  );
}

function ruleFiles(): { file: string; rules: RuleFile }[] {
  return yamlFiles(RULES_DIR).map((f) => ({ file: f.slice(REPO_ROOT.length + 1), rules: parse(readFileSync(f, 'utf8')) as RuleFile }));
}

/** Series the recording rules write: Prometheus provides them, not a service. */
export function recordedMetricNames(): string[] {
  return ruleFiles().flatMap(({ rules }) => (rules.groups ?? []).flatMap((g) => (g.rules ?? []).flatMap((r) => (r.record ? [r.record] : []))));
}

/** Grafana's variables replaced by values PromQL accepts, so promtool can parse a dashboard expression. */
export function withGrafanaVariablesResolved(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?/g, '.*');
}

export function allDashboardQueries(): Query[] {
  return dashboardFiles().flatMap((f) => dashboardQueries(JSON.parse(readFileSync(f, 'utf8')) as Dashboard, f.slice(REPO_ROOT.length + 1)));
}

export function allRuleQueries(): Query[] {
  return ruleFiles().flatMap(({ file, rules }) => ruleQueries(rules, file));
}

/**
 * Each metric name the dashboard and the rules read, with the places that read it, leaving out `provided`:
 * series of Prometheus, Kubernetes and the recording rules.
 */
export function metricsInUse(
  queries: Query[] = [...allDashboardQueries(), ...allRuleQueries()],
  provided: ReadonlySet<string> = new Set([...Object.keys(EXTERNAL_METRICS), ...recordedMetricNames()]),
): Map<string, string[]> {
  const uses = new Map<string, string[]>();
  for (const q of queries) {
    for (const name of metricNamesInExpr(withGrafanaVariablesResolved(q.expr))) {
      if (provided.has(name)) continue;
      uses.set(name, [...(uses.get(name) ?? []), q.source]);
    }
  }
  return uses;
}
