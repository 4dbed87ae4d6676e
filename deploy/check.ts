/**
 * The deployment checks that need no cluster, no Docker engine and no network once the tools are cached:
 *   npm run check:deploy                    every overlay rendered by kustomize and validated (Kubernetes API
 *                                           schemas and KEDA's CRDs, strict), promtool on the alert rules, their
 *                                           unit tests, the scrape configurations, the dashboard's queries and
 *                                           its links from latency exemplars to traces
 *   npm run check:deploy -- FILE.yaml ...   only these manifests
 * Exits 1 naming every problem. npm test runs the same checks (test/deploy/).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { K8S_DIR, OVERLAYS, renderOverlay, validateManifests, type ValidationReport } from './checks/kubernetes-manifests.ts';
import { allExemplarLinkProblems } from './checks/exemplar-links.ts';
import { allDashboardQueries } from './checks/observability-queries.ts';
import { checkQueries, checkRules, checkScrapeConfigs, testRules } from './checks/promtool.ts';
import { deployTools } from './checks/tools.ts';

const { positionals: files } = parseArgs({ allowPositionals: true });
const tools = await deployTools();
const failures: string[] = [];
const say = (line: string): boolean => process.stdout.write(`${line}\n`);

function report(source: string, result: ValidationReport): void {
  if (result.resources === 0 && result.problems.length === 0) failures.push(`${source}: no Kubernetes resources found`);
  for (const p of result.problems) failures.push(`${p.source}: ${p.kind} ${p.name} (Kubernetes ${p.kubernetesVersion}): ${p.message}`);
  if (result.problems.length === 0 && result.resources > 0) say(`ok   ${source}: ${result.resources} resources valid`);
}

const manifests = files.length > 0
  ? files.map((f) => ({ source: f, yaml: () => Promise.resolve(readFileSync(f, 'utf8')) }))
  : OVERLAYS.map((o) => ({ source: `${K8S_DIR.slice(process.cwd().length + 1) || K8S_DIR}/${o}`, yaml: () => renderOverlay(tools, o) }));
for (const m of manifests) {
  try {
    report(m.source, await validateManifests(tools, await m.yaml(), m.source));
  } catch (err) {
    failures.push(`${m.source}: ${(err as Error).message}`);
  }
}

if (files.length === 0) {
  const steps: [string, () => Promise<string>][] = [
    ['alert rules (promtool check rules)', () => checkRules(tools)],
    ['alert rule unit tests (promtool test rules)', () => testRules(tools)],
    ['scrape configurations (promtool check config)', () => checkScrapeConfigs(tools)],
    ['dashboard queries (promtool check rules)', () => checkQueries(tools, allDashboardQueries())],
    ['dashboard exemplar links to traces', async () => {
      const problems = allExemplarLinkProblems();
      if (problems.length > 0) throw new Error(problems.join('\n'));
      return 'ok';
    }],
  ];
  for (const [name, step] of steps) {
    await step().then(() => say(`ok   ${name}`), (err: Error) => failures.push(`${name}: ${err.message}`));
  }
}

for (const f of failures) say(`FAIL ${f}`);
process.exit(failures.length > 0 ? 1 : 0);
