/**
 * A FIFO among file:// images: before it was opened with O_NONBLOCK, one request for it blocked the consumer's
 * event loop for good (0 of the following requests predicted, no dead letter, no heartbeat). It must be
 * dead-lettered as fetch/ForbiddenUri while the requests behind it are predicted.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import type { DeadLetter } from '../../platform/dead-letter.ts';
import { newImageRequest } from '../../producers/image-request.ts';
import { writeSamples } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';

const GOOD = 8;
const h = new PipelineHarness();
const fifoDir = join(REPO_ROOT, 'data', 'samples', `e2e-fifo-${process.pid}`);

afterAll(async () => {
  await h.close();
  await rm(fifoDir, { recursive: true, force: true });
});

it('dead-letters a FIFO named like an image and predicts the requests behind it', async () => {
  await h.connect();
  const dataDir = join(REPO_ROOT, 'data', 'samples');
  const set = await writeSamples(join(dataDir, 'e2e-lossless'), 'lossless', GOOD);
  await mkdir(fifoDir, { recursive: true });
  execFileSync('mkfifo', [join(fifoDir, 'pipe.png')]);
  const predictions = await h.collect<Prediction>(h.clients.topics.predictions);
  const deadLetters = await h.collect<DeadLetter>(h.clients.topics.dlq);
  await h.setExperiment({ id: 'all-v1', versions: ['v1'], default_version: 'v1', rules: [] });
  await h.start('router', 'router');
  await h.start('inference-v1', 'inference', { MODEL_VERSION: 'v1', MAX_BATCH_SIZE: '4', FETCH_FILE_ROOTS: dataDir });

  const fifo = newImageRequest(pathToFileURL(join(fifoDir, 'pipe.png')).href, { source: 'fifo-test', stickinessKey: 'same' });
  const good = set.samples.slice(0, GOOD).map((s) =>
    newImageRequest(pathToFileURL(join(set.dir, s.file)).href, { source: 'fifo-test', stickinessKey: 'same' }));
  await h.publish([fifo]);
  await h.publish(good);

  await predictions.waitFor((items) => items.length >= GOOD, 120_000, () => `${predictions.items.length} of ${GOOD} predicted`);
  await deadLetters.waitFor((items) => items.length >= 1, 60_000);
  expect(new Set(predictions.items.map((p) => p.value.request_id))).toEqual(new Set(good.map((r) => r.request_id)));
  expect(deadLetters.items.map(({ value }) => ({ id: value.request_id, stage: value.stage, errorClass: value.error_class }))).toEqual([
    { id: fifo.request_id, stage: 'fetch', errorClass: 'ForbiddenUri' },
  ]);
}, 300_000);
