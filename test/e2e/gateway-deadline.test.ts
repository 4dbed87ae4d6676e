/**
 * The gateway's deadline on the real pipeline (issue 17): a request answered 504 because no consumer served it
 * within its timeout carries that timeout as its deadline, so a consumer that starts later dead-letters it
 * (inference/Expired) without serving it, and the caller collecting the result learns so (504, stage and class)
 * instead of waiting on a prediction no one wants. A request sent once the consumer runs is served as before.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import type { DeadLetter } from '../../platform/dead-letter.ts';
import { writeSamples } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import { freePort } from '../../stack/pipeline-services.ts';
import type { TopicCollector } from '../../stack/topic-collector.ts';

const TOKEN = 'e2e-deadline-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const h = new PipelineHarness();
let base: string;
let png: Buffer;
let predictions: TopicCollector<Prediction>;
let deadLetters: TopicCollector<DeadLetter>;

beforeAll(async () => {
  await h.connect();
  const set = await writeSamples(join(REPO_ROOT, 'data', 'samples', 'e2e-lossless'), 'lossless', 1);
  png = await readFile(join(set.dir, set.samples[0]?.file as string));
  predictions = await h.collect<Prediction>(h.clients.topics.predictions);
  deadLetters = await h.collect<DeadLetter>(h.clients.topics.dlq);
  await h.setExperiment({ id: 'all-v1', versions: ['v1'], default_version: 'v1', rules: [] });
  await h.start('router', 'router');
  const port = await freePort();
  await h.start('gateway', 'gateway', { GATEWAY_PORT: String(port), GATEWAY_TOKENS: `e2e:${TOKEN}`, GATEWAY_UPLOAD_PREFIX: `${h.prefix}/uploads/` });
  base = `http://127.0.0.1:${port}`;
}, 600_000);

afterAll(async () => {
  await h.close();
});

const infer = (timeoutMicros: number) => fetch(`${base}/v2/models/fashion-mnist/infer`, {
  method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
  body: JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [png.toString('base64')] }], parameters: { timeout: timeoutMicros } }),
});

it('dead-letters a request whose caller got 504 instead of serving it later, and says so to the caller collecting it', async () => {
  const timedOut = await infer(1_500_000);
  expect(timedOut.status).toBe(504);
  const id = timedOut.headers.get('x-request-id') as string;

  await h.start('inference-v1', 'inference', { MODEL_VERSION: 'v1' });
  await deadLetters.waitFor((items) => items.some((d) => d.value.request_id === id), 120_000, () => `no dead letter for ${id}`);
  // The gateway reads the dead letter moments after it lands; until then the result is pending (202).
  const collect = () => fetch(`${base}/v2/results/${id}`, { headers: auth });
  let result = await collect();
  for (let i = 0; i < 150 && result.status === 202; i++) {
    await sleep(200);
    result = await collect();
  }
  expect(result.status).toBe(504);
  expect(await result.json()).toMatchObject({ request_id: id, stage: 'inference', error_class: 'Expired' });

  const served = await infer(60_000_000);
  expect(served.status).toBe(200);
  const servedId = served.headers.get('x-request-id') as string;
  await predictions.waitFor((items) => items.some((p) => p.value.request_id === servedId), 30_000);
  expect(deadLetters.items.filter((d) => d.value.request_id === id).map((d) => `${d.value.stage}/${d.value.error_class}`)).toEqual(['inference/Expired']);
  expect(predictions.items.filter((p) => p.value.request_id === id)).toEqual([]);
}, 300_000);
