/**
 * The alert rules and the dashboard through promtool (syntax, rule unit tests, scrape configuration, every
 * dashboard query parsed), and what the dashboard and the rules must show.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allDashboardQueries, allRuleQueries, dashboardFiles } from '../../deploy/checks/observability-queries.ts';
import { checkQueries, checkRules, checkScrapeConfigs, testRules } from '../../deploy/checks/promtool.ts';
import { deployTools, type DeployTools } from '../../deploy/checks/tools.ts';
import { REPO_ROOT } from '../../stack/paths.ts';

let tools: DeployTools;
beforeAll(async () => {
  tools = await deployTools();
});

describe('Prometheus', () => {
  it('accepts the alert rules (promtool check rules)', async () => {
    expect(await checkRules(tools)).toMatch(/SUCCESS/);
  });

  it('passes the rules\' unit tests (promtool test rules)', async () => {
    expect(await testRules(tools)).toMatch(/SUCCESS/);
  });

  it('accepts the compose scrape configuration (promtool check config)', async () => {
    expect(await checkScrapeConfigs(tools)).toMatch(/SUCCESS/);
  });

  it('alerts on significant PSI, growing lag, dead letters, a service down or not ready, missing predictions, gateway errors and timeouts, and rollbacks', () => {
    const alerts = allRuleQueries().map((q) => q.source.replace(/.*alert /, ''));
    expect(alerts).toEqual(expect.arrayContaining([
      'DriftPsiSignificant', 'ConsumerLagGrowing', 'InferenceDeadLetterRateHigh', 'RouterDeadLetterRateHigh', 'ServiceDown', 'ServiceNotReady', 'NoPredictions',
      'GatewayServerErrors', 'GatewayTimeouts', 'RolloutRolledBack',
    ]));
  });

  it('scrapes each component under the job name the rules use, in Kubernetes too, and watches every one for ServiceDown', () => {
    const jobs = ['drift-monitor', 'gateway', 'inference', 'rollouts', 'router'];
    const k8s = parse(readFileSync(join(REPO_ROOT, 'deploy', 'prometheus', 'prometheus-kubernetes.yml'), 'utf8'));
    const relabel = k8s.scrape_configs[0].relabel_configs as { source_labels?: string[]; target_label?: string; regex?: string; action?: string }[];
    expect(relabel).toContainEqual({ source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_component'], target_label: 'job' });
    const kept = relabel.find((r) => r.action === 'keep' && r.source_labels?.[0] === '__meta_kubernetes_pod_label_app_kubernetes_io_component');
    expect(kept?.regex?.split('|').sort()).toEqual(jobs);
    const compose = parse(readFileSync(join(REPO_ROOT, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8'));
    expect(compose.scrape_configs.map((s: { job_name: string }) => s.job_name).sort()).toEqual(jobs);
    const down = allRuleQueries().find((q) => q.source.endsWith('alert ServiceDown'))!.expr;
    expect(down.match(/job=~"([^"]+)"/)?.[1]?.split('|').sort()).toEqual(jobs);
  });
});

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(dashboardFiles()[0]!, 'utf8'));
  const panels = (dashboard.panels as { type: string; title: string; targets?: { expr: string }[]; fieldConfig?: { defaults: Record<string, unknown> } }[]).filter((p) => p.type !== 'row');
  const panel = (title: RegExp) => panels.find((p) => title.test(p.title)) ?? expect.fail(`no panel titled ${title}`);
  const exprs = (title: RegExp): string => (panel(title).targets ?? []).map((t) => t.expr).join('\n');

  it('has queries promtool parses', async () => {
    expect(await checkQueries(tools, allDashboardQueries())).toMatch(/SUCCESS/);
  });

  it('shows throughput, end-to-end latency and batch size per version', () => {
    expect(exprs(/^Predictions per second/)).toMatch(/sum by \(version\) \(rate\(inference_predictions_total/);
    expect(exprs(/^End-to-end latency/)).toMatch(/histogram_quantile\(0\.99, sum by \(version, le\) \(rate\(inference_end_to_end_latency_seconds_bucket/);
    expect(exprs(/^Batch size/)).toMatch(/inference_batch_size_bucket/);
  });

  it('shows consumer lag, and dead letters by stage and class for every service', () => {
    expect(exprs(/^Consumer lag/)).toMatch(/kafka_consumer_lag_records/);
    const dead = exprs(/^Dead letters/);
    for (const m of ['inference_dead_letters_total', 'router_dead_letters_total', 'drift_dead_letters_total']) expect(dead).toContain(m);
    expect(dead).toMatch(/by \((version, )?stage, error_class\)/);
  });

  it('draws PSI per version and metric against the 0.1 and 0.25 lines', () => {
    const psi = panel(/^PSI/);
    expect(exprs(/^PSI/)).toMatch(/by \(model_version, variant, metric\) \(drift_psi/);
    const steps = (psi.fieldConfig!.defaults.thresholds as { steps: { value: number | null }[] }).steps.map((s) => s.value);
    expect(steps).toEqual([null, 0.1, 0.25]);
    expect(psi.fieldConfig!.defaults.custom).toMatchObject({ thresholdsStyle: { mode: expect.stringMatching(/line/) } });
  });

  it('shows the gateway\'s requests by route and status code, and its latency by route', () => {
    expect(exprs(/^Gateway requests per second/)).toMatch(/sum by \(route, code\) \(rate\(gateway_requests_total/);
    expect(exprs(/^Gateway latency/)).toMatch(/histogram_quantile\(0\.99, sum by \(route, le\) \(rate\(gateway_request_duration_seconds_bucket/);
  });

  it('shows each rollout\'s current step, its decisions by result and its guards\' values', () => {
    expect(exprs(/^Rollouts: status and current step/)).toMatch(/rollout_step/);
    expect(exprs(/^Rollout decisions/)).toMatch(/sum by \(rollout, decision\) \(rollout_decisions_total/);
    expect(exprs(/^Rollout guard values/)).toMatch(/by \(rollout, guard, value\) \(rollout_guard_value/);
    expect(exprs(/^Rollout guard outcomes/)).toMatch(/rollout_guard_outcome/);
  });

  it('shows accuracy per variant with its interval', () => {
    const accuracy = panel(/^Accuracy/);
    expect(accuracy.targets).toHaveLength(3);
    expect(exprs(/^Accuracy/)).toMatch(/drift_labeled_predictions/);
  });
});
