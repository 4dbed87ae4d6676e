/**
 * Every metric the Grafana dashboard (deploy/grafana/dashboards) and the Prometheus alert rules
 * (deploy/prometheus/rules) read is exported by a running service: the router, an inference consumer, the drift
 * monitor, the rollout controller and the HTTP gateway, started as the pipeline runs them, with requests pushed
 * through (one of them over HTTP) and a rollout started, so their labelled series exist. A renamed metric, or a
 * panel for a metric nobody exports, fails here instead of drawing an empty graph in production.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EXTERNAL_METRICS, metricsInUse } from '../../deploy/checks/observability-queries.ts';
import { exportedMetricNames } from '../../deploy/checks/promql-names.ts';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import { newImageRequest } from '../../producers/image-request.ts';
import { writeSamples } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import { freePort, type RunningProcess } from '../../stack/pipeline-services.ts';
import { startRollout } from './rollout-helpers.ts';

const COUNT = 40;
const TOKEN = 'e2e-metric-names-token-0123456789';
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

/** Polls `p`'s /metrics until the counter `name` reaches `count` (or 60 s pass; the test then names what is missing). */
async function waitForTotal(p: RunningProcess, name: string, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (total(await scrape(p), name) < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
}

beforeAll(async () => {
  await h.connect();
  const dataDir = join(REPO_ROOT, 'data', 'samples');
  const set = await writeSamples(join(dataDir, 'e2e-metric-names'), 'lossless', COUNT);
  const predictions = await h.collect<Prediction>(h.clients.topics.predictions);
  const httpPort = await freePort();
  services.push(...await Promise.all([
    h.start('router', 'router'),
    h.start('inference-v1', 'inference', { MODEL_VERSION: 'v1', FETCH_FILE_ROOTS: dataDir }),
    h.start('drift-monitor', 'drift-monitor', { DRIFT_WINDOW_SIZE: '10' }),
    h.start('rollouts', 'rollouts'),
    h.start('gateway', 'gateway', { GATEWAY_PORT: String(httpPort), GATEWAY_TOKENS: `e2e:${TOKEN}`, GATEWAY_UPLOAD_PREFIX: `${h.prefix}/uploads/` }),
  ]));
  const [, , monitor, controller] = services as [RunningProcess, RunningProcess, RunningProcess, RunningProcess, RunningProcess];
  const requests = set.samples.map((s, i) => newImageRequest(pathToFileURL(join(set.dir, s.file)).href, { stickinessKey: `user-${i}`, source: 'e2e' }));
  // One that cannot be fetched, so the dead-letter series exist too.
  requests.push(newImageRequest(pathToFileURL(join(dataDir, 'e2e-metric-names', 'missing.png')).href, { source: 'e2e' }));
  await h.publish(requests);
  // One image through the gateway, as a client sends it: its request, stage and result series.
  const image = (await readFile(join(set.dir, set.samples[0]!.file))).toString('base64');
  const answer = await fetch(`http://127.0.0.1:${httpPort}/v2/models/fashion-mnist/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [image] }] }),
  });
  expect(answer.status, await answer.clone().text()).toBe(200);
  await predictions.waitFor((items) => items.length >= COUNT + 1, 120_000, () => `${predictions.items.length} predictions of ${COUNT + 1}`);
  await waitForTotal(monitor, 'drift_predictions_total', COUNT);
  // A rollout, last: its first step routes to v2 too. Its step, status and guard series exist from its start.
  await startRollout(h, JSON.parse(await readFile(join(REPO_ROOT, 'rollouts', 'examples', 'v2-demo.json'), 'utf8')));
  await waitForTotal(controller, 'rollout_decisions_total', 1);
}, 300_000);

afterAll(async () => {
  await h.close();
});

it('exports every metric the dashboard and the alert rules read', async () => {
  const pages = await Promise.all(services.map(scrape));
  const [router, inference, monitor, controller, gateway] = pages as [string, string, string, string, string];
  expect(total(router, 'router_routed_total'), 'the router routed the requests').toBeGreaterThanOrEqual(COUNT);
  expect(total(inference, 'inference_predictions_total'), 'the consumer predicted them').toBeGreaterThanOrEqual(COUNT);
  expect(total(monitor, 'drift_predictions_total'), 'the drift monitor read them').toBeGreaterThanOrEqual(COUNT);
  expect(total(controller, 'rollout_decisions_total'), 'the controller started the rollout').toBeGreaterThanOrEqual(1);
  expect(total(gateway, 'gateway_results_total'), 'the gateway answered with a prediction').toBeGreaterThanOrEqual(1);

  const exported = new Set(pages.flatMap((page) => [...exportedMetricNames(page)]));
  const used = metricsInUse();
  expect(used.size).toBeGreaterThan(10);
  const missing = [...used].filter(([name]) => !exported.has(name)).map(([name, sources]) => `${name} (read by ${sources.join('; ')})`);
  expect(missing, 'metrics no running service exports').toEqual([]);
  // The series kept out of this comparison must not be ones a service is meant to export.
  for (const name of Object.keys(EXTERNAL_METRICS)) expect(exported.has(name), name).toBe(false);
});
