/**
 * promtool, offline: the alert rules' syntax and their unit tests, the scrape configurations, and the dashboard's
 * queries (as recording rules of a temporary file, the one way promtool parses PromQL without a server).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../stack/paths.ts';
import { RULE_TESTS_DIR, RULES_DIR, withGrafanaVariablesResolved, yamlFiles, type Query } from './observability-queries.ts';
import { runTool, type DeployTools } from './tools.ts';

/** docker-compose's scrape configuration (prometheus-kubernetes.yml needs a promtool with Kubernetes discovery, which Debian's lacks). */
export const SCRAPE_CONFIGS = [join(REPO_ROOT, 'deploy', 'prometheus', 'prometheus.yml')];

export function checkRules(tools: DeployTools, files = yamlFiles(RULES_DIR)): Promise<string> {
  return runTool(tools.promtool, ['check', 'rules', ...files]);
}

/** Rule unit tests name their rule files relative to themselves. */
export function testRules(tools: DeployTools, files = yamlFiles(RULE_TESTS_DIR)): Promise<string> {
  return runTool(tools.promtool, ['test', 'rules', ...files], {}, RULE_TESTS_DIR);
}

/** --syntax-only: the rule files they name are container paths (/etc/prometheus/...), checked above instead. */
export function checkScrapeConfigs(tools: DeployTools, files = SCRAPE_CONFIGS): Promise<string> {
  return runTool(tools.promtool, ['check', 'config', '--syntax-only', ...files]);
}

export async function checkQueries(tools: DeployTools, queries: Query[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'imgpipe-queries-'));
  try {
    const file = join(dir, 'dashboard-queries.yml');
    const rules = queries.map((q, i) => ({ record: `dashboard_query_${i}`, expr: withGrafanaVariablesResolved(q.expr) }));
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    try {
      return await runTool(tools.promtool, ['check', 'rules', file]);
    } catch (err) {
      // Say which panel the failing recording rule stands for.
      const index = Number((err as Error).message.match(/dashboard_query_(\d+)/)?.[1]);
      const where = queries[index] ? ` (${queries[index].source})` : '';
      throw new Error(`${(err as Error).message}${where}`, { cause: err });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
