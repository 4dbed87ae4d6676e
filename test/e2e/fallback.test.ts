/**
 * Fallback when a version is down, on the real pipeline: under a 50/50 canary whose rule names v1 as fallback,
 * stopping every v2 consumer moves v2's share to v1 (predictions marked fallback) within seconds, restarting
 * them moves it back, and no request is lost: those routed to v2 before the switch wait on its topic and are
 * predicted once v2 is back.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import { PipelineHarness } from '../../stack/pipeline-harness.ts';
import type { RunningProcess } from '../../stack/pipeline-services.ts';
import type { TopicCollector } from '../../stack/topic-collector.ts';
import { consumerEnv, samples, Traffic } from './rollout-helpers.ts';

const h = new PipelineHarness();
let router: RunningProcess;
let v2: RunningProcess;
let predictions: TopicCollector<Prediction>;

const healthEnv = { ROUTER_HEALTH_POLL_MS: '500', ROUTER_HEALTH_NO_MEMBERS_MS: '2000', ROUTER_HEALTH_RECOVER_MS: '2000' };

async function metric(name: string, labels: string): Promise<number | null> {
  const text = await (await fetch(`${router.opsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((label) => l.includes(label)));
  return line ? Number(line.split(' ').pop()) : null;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return Date.now() - started;
}

beforeAll(async () => {
  await h.connect();
  predictions = await h.collect<Prediction>(h.clients.topics.predictions);
  await h.setExperiment({
    id: 'canary-fallback', versions: ['v1', 'v2'], default_version: 'v1',
    rules: [{ id: 'canary', split: [{ version: 'v1', weight: 50 }, { version: 'v2', weight: 50 }], fallback: 'v1' }],
  });
  [router, , v2] = await Promise.all([
    h.start('router', 'router', healthEnv),
    h.start('inference-v1', 'inference', consumerEnv('v1')),
    h.start('inference-v2', 'inference', consumerEnv('v2')),
  ]);
}, 600_000);

afterAll(async () => {
  await h.close();
});

it('moves v2\'s traffic to v1 while every v2 consumer is stopped and back when they return, losing no request', async () => {
  const set = await samples('lossless', 500, 6_000);
  const traffic = new Traffic(h, set, { rate: 20, feedback: false }).start();
  const served = (version: string, fallback: boolean) => predictions.items.filter((p) => p.value.model_version === version && p.value.fallback === fallback && !p.value.shadow);
  try {
    await predictions.waitFor(() => served('v2', false).length >= 30, 120_000, () => 'v2 predictions before the stop');
    expect(await metric('router_version_up', 'version="v2"')).toBe(1);

    const stoppedAt = Date.now();
    await v2.stop();
    const downAfter = await until(async () => (await metric('router_version_up', 'version="v2"')) === 0, 30_000, 'the router to mark v2 down');
    await predictions.waitFor(() => served('v1', true).length >= 30, 60_000, () => `${served('v1', true).length} fallback predictions`);
    const firstFallback = Math.min(...served('v1', true).map((p) => p.value.predicted_at));

    v2 = await h.start('inference-v2-again', 'inference', consumerEnv('v2'));
    const restartedAt = Date.now();
    const upAfter = await until(async () => (await metric('router_version_up', 'version="v2"')) === 1, 60_000, 'the router to mark v2 up');
    const backAt = Date.now();
    await predictions.waitFor(() => served('v2', false).some((p) => p.value.submitted_at > backAt), 60_000, () => 'v2 predictions of requests sent after its return');
    process.stdout.write(`${JSON.stringify({
      test: 'fallback', down_detected_seconds: downAfter / 1000, first_fallback_prediction_seconds: (firstFallback - stoppedAt) / 1000,
      up_detected_after_restart_seconds: upAfter / 1000, restart_to_ready_seconds: (restartedAt - stoppedAt) / 1000,
    })}\n`);
  } finally {
    await traffic.stop();
  }

  // No request lost: every published request has a served prediction.
  const ids = new Set(traffic.published.map((r) => r.request_id));
  await predictions.waitFor((items) => new Set(items.filter((p) => !p.value.shadow).map((p) => p.value.request_id)).size >= ids.size, 120_000,
    () => `${new Set(predictions.items.map((p) => p.value.request_id)).size} of ${ids.size} requests predicted`);
  const servedIds = predictions.items.filter((p) => !p.value.shadow).map((p) => p.value.request_id);
  expect([...ids].filter((id) => !servedIds.includes(id))).toEqual([]);
  const fallbacks = predictions.items.filter((p) => p.value.fallback);
  expect(fallbacks.every((p) => p.value.model_version === 'v1' && p.value.rule_id === 'canary' && p.value.experiment_id === 'canary-fallback')).toBe(true);
  process.stdout.write(`${JSON.stringify({ test: 'fallback', requests: ids.size, predictions: servedIds.length, duplicates: servedIds.length - new Set(servedIds).size, fallback_predictions: fallbacks.length })}\n`);

  expect(await metric('router_version_health_switches_total', 'version="v2",to="down"')).toBe(1);
  expect(await metric('router_version_health_switches_total', 'version="v2",to="up"')).toBe(1);
  const log = await readFile(router.logFile, 'utf8');
  expect(log).toMatch(/version v2 is down \(no consumer in its group for \d+\.\d s\); rules with a fallback send its traffic to their fallback/);
  expect(log).toMatch(/version v2 is up again/);
}, 600_000);
