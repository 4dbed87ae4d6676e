/**
 * At-least-once under a crash: an inference consumer is SIGKILLed in the middle of a run and started again;
 * every request still gets a prediction. Duplicates are allowed (records predicted but not yet committed at the
 * kill) and counted in the output.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import { newImageRequest } from '../../producers/image-request.ts';
import { writeSamples } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';

const COUNT = 600;
const h = new PipelineHarness();

afterAll(async () => {
  await h.close();
});

it('loses no request when a consumer is killed with SIGKILL mid-run', async () => {
  await h.connect();
  const dataDir = join(REPO_ROOT, 'data', 'samples');
  const set = await writeSamples(join(dataDir, 'e2e-lossless'), 'lossless', 300);
  const predictions = await h.collect<Prediction>(h.clients.topics.predictions);
  await h.setExperiment({ id: 'all-v1', versions: ['v1'], default_version: 'v1', rules: [] });
  await h.start('router', 'router');
  // Small batches and a slow, paced input so that the kill lands while work is in flight.
  const consumerEnv = { MODEL_VERSION: 'v1', MAX_BATCH_SIZE: '8', FETCH_FILE_ROOTS: dataDir };
  const victim = await h.start('inference-v1-a', 'inference', consumerEnv);

  const requests = Array.from({ length: COUNT }, (_, i) =>
    newImageRequest(pathToFileURL(join(set.dir, set.samples[i % set.samples.length]?.file as string)).href, { source: 'crash-test' }));
  const publishing = (async () => {
    for (let i = 0; i < requests.length; i += 20) {
      await h.publish(requests.slice(i, i + 20));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  await predictions.waitFor((items) => items.length >= COUNT / 4, 120_000);
  await victim.kill();
  const atKill = predictions.items.length;
  await publishing;
  await h.start('inference-v1-b', 'inference', consumerEnv);

  const ids = new Set(requests.map((r) => r.request_id));
  await predictions.waitFor((items) => new Set(items.map((p) => p.value.request_id)).size >= COUNT, 180_000,
    () => `${new Set(predictions.items.map((p) => p.value.request_id)).size} of ${COUNT} requests predicted`);
  const seen = new Map<string, number>();
  for (const p of predictions.items) seen.set(p.value.request_id, (seen.get(p.value.request_id) ?? 0) + 1);
  const duplicates = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
  process.stdout.write(`${JSON.stringify({ test: 'consumer-crash', requests: COUNT, predictions: predictions.items.length, duplicates, predictions_at_kill: atKill })}\n`);
  expect([...ids].every((id) => seen.has(id))).toBe(true);
  expect(victim.child.signalCode).toBe('SIGKILL');
}, 600_000);
