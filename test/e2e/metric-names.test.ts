/**
 * Every metric the Grafana dashboard (deploy/grafana/dashboards) and the Prometheus alert rules
 * (deploy/prometheus/rules) read is exported by a running service: the router, an inference consumer and the drift
 * monitor, started as the pipeline runs them, with requests pushed through so their labelled series exist. A renamed
 * metric, or a panel for a metric nobody exports, fails here instead of drawing an empty graph in production.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EXTERNAL_METRICS, metricsInUse } from '../../deploy/checks/observability-queries.ts';
import { exportedMetricNames } from '../../deploy/checks/promql-names.ts';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import { newImageRequest } from '../../producers/image-request.ts';
import { writeSamples } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import type { RunningProcess } from '../../stack/pipeline-services.ts';

const COUNT = 40;
const h = new PipelineHarness();
const services: RunningProcess[] = [];

const scrape = async (p: RunningProcess): Promise<string> => {
  const res = await fetch(`${p.opsUrl}/metrics`);
  expect(res.status, `${p.name} /metrics`).toBe(200);
  return res.text();
};

/** The value of a counter summed over its label sets, from the exposition text. */
const total = (text: string, name: string): number =>
  text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);

beforeAll(async () => {
  await h.connect();
  const dataDir = join(REPO_ROOT, 'data', 'samples');
  const set = await writeSamples(join(dataDir, 'e2e-metric-names'), 'lossless', COUNT);
  const predictions = await h.collect<Prediction>(h.clients.topics.predictions);
  services.push(await h.start('router', 'router'));
  services.push(await h.start('inference-v1', 'inference', { MODEL_VERSION: 'v1', FETCH_FILE_ROOTS: dataDir }));
  services.push(await h.start('drift-monitor', 'drift-monitor', { DRIFT_WINDOW_SIZE: '10' }));
  const requests = set.samples.map((s, i) => newImageRequest(pathToFileURL(join(set.dir, s.file)).href, { stickinessKey: `user-${i}`, source: 'e2e' }));
  // One that cannot be fetched, so the dead-letter series exist too.
  requests.push(newImageRequest(pathToFileURL(join(dataDir, 'e2e-metric-names', 'missing.png')).href, { source: 'e2e' }));
  await h.publish(requests);
  await predictions.waitFor((items) => items.length >= COUNT, 120_000, () => `${predictions.items.length} predictions of ${COUNT}`);
  const monitor = services[2]!;
  const deadline = Date.now() + 60_000;
  while (total(await scrape(monitor), 'drift_predictions_total') < COUNT && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
}, 300_000);

afterAll(async () => {
  await h.close();
});

it('exports every metric the dashboard and the alert rules read', async () => {
  const pages = await Promise.all(services.map(scrape));
  const router = pages[0]!;
  expect(total(router, 'router_routed_total'), 'the router routed the requests').toBeGreaterThanOrEqual(COUNT);
  expect(total(pages[1]!, 'inference_predictions_total'), 'the consumer predicted them').toBeGreaterThanOrEqual(COUNT);
  expect(total(pages[2]!, 'drift_predictions_total'), 'the drift monitor read them').toBeGreaterThanOrEqual(COUNT);

  const exported = new Set(pages.flatMap((page) => [...exportedMetricNames(page)]));
  const used = metricsInUse();
  expect(used.size).toBeGreaterThan(10);
  const missing = [...used].filter(([name]) => !exported.has(name)).map(([name, sources]) => `${name} (read by ${sources.join('; ')})`);
  expect(missing, 'metrics no running service exports').toEqual([]);
  // The series kept out of this comparison must not be ones a service is meant to export.
  for (const name of Object.keys(EXTERNAL_METRICS)) expect(exported.has(name), name).toBe(false);
});
