/**
 * The whole pipeline on the real stack: 1,000 image references (s3:// and file://) through a 50/50 sticky
 * experiment, with bad records mixed in. Every good request yields exactly one prediction from the version its
 * stickiness key maps to; every bad one lands on the dead-letter topic with its stage and reason.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../models/manifest.ts';
import type { DeadLetter } from '../../platform/dead-letter.ts';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import { newImageRequest, type ImageRequest } from '../../producers/image-request.ts';
import { compileExperiment } from '../../router/experiment/index.ts';
import { checkExperiment } from '../../router/experiment-publisher.ts';
import { uploadSamples } from '../../scripts/samples/upload-samples.ts';
import { writeSamples, type Sample } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import type { TopicCollector } from '../../stack/topic-collector.ts';

const COUNT = 1_000;
const h = new PipelineHarness();
const experiment = checkExperiment(JSON.parse(await readFile(join(REPO_ROOT, 'router/experiments/ab-50-50-sticky.json'), 'utf8')));
const manifests: Record<string, ModelManifest> = {};
let predictions: TopicCollector<Prediction>;
let deadLetters: TopicCollector<DeadLetter>;
const labelOf = new Map<string, Sample>();
const expectedVersion = new Map<string, string>();
const bad = new Map<string, { stage: string; errorClass: string }>();

beforeAll(async () => {
  for (const v of ['v1', 'v2']) manifests[v] = JSON.parse(await readFile(join(REPO_ROOT, `models/fashion-mnist/${v}/manifest.json`), 'utf8'));
  await h.connect();
  const dataDir = join(REPO_ROOT, 'data', 'samples');
  const set = await writeSamples(join(dataDir, 'e2e-mixed'), 'mixed', COUNT);
  const s3Uris = await uploadSamples(h.s3(), h.s3Settings.bucket, `${h.prefix}/mixed`, set);

  // Bad inputs, each with the stage and class it must be dead-lettered with.
  const badDir = join(dataDir, 'e2e-bad');
  await mkdir(badDir, { recursive: true });
  await writeFile(join(badDir, 'corrupt.png'), Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(200, 7)]));
  await writeFile(join(badDir, 'notes.txt'), 'this is not an image\n');
  const huge = await sharp({ create: { width: 1200, height: 1000, channels: 3, background: '#000000' } }).png().toBuffer();
  await h.s3().send(new PutObjectCommand({ Bucket: h.s3Settings.bucket, Key: `${h.prefix}/huge.png`, Body: huge }));
  const badRequests: [string, string, string][] = [
    [pathToFileURL(join(badDir, 'corrupt.png')).href, 'preprocess', 'NotAnImage'],
    [pathToFileURL(join(badDir, 'notes.txt')).href, 'preprocess', 'NotAnImage'],
    [`s3://${h.s3Settings.bucket}/${h.prefix}/missing.png`, 'fetch', 'NotFound'],
    [`s3://${h.s3Settings.bucket}/${h.prefix}/huge.png`, 'preprocess', 'TooManyPixels'],
  ];

  const router = compileExperiment(experiment);
  const requests: ImageRequest[] = set.samples.map((s, i) => {
    const uri = i % 2 === 0 ? (s3Uris.get(s.file) as string) : pathToFileURL(join(set.dir, s.file)).href;
    const r = newImageRequest(uri, { stickinessKey: `user-${i % 97}`, source: 'e2e' });
    labelOf.set(r.request_id, s);
    const decision = router.route({ request: r, headers: {} });
    if (!decision.ok) throw new Error(decision.message);
    expectedVersion.set(r.request_id, decision.primary.version);
    return r;
  });
  for (const [uri, stage, errorClass] of badRequests) {
    const r = newImageRequest(uri, { stickinessKey: 'user-bad', source: 'e2e' });
    bad.set(r.request_id, { stage, errorClass });
    requests.splice(Math.floor(requests.length / 2), 0, r);
  }

  predictions = await h.collect<Prediction>(h.clients.topics.predictions);
  deadLetters = await h.collect<DeadLetter>(h.clients.topics.dlq);
  await h.setExperiment(experiment);
  await h.start('router', 'router');
  const consumerEnv = { MAX_BATCH_SIZE: '32', MAX_PIXELS: '1000000', FETCH_FILE_ROOTS: dataDir };
  await h.start('inference-v1', 'inference', { ...consumerEnv, MODEL_VERSION: 'v1' });
  await h.start('inference-v2', 'inference', { ...consumerEnv, MODEL_VERSION: 'v2' });

  await h.publish(requests);
  // A record that never went through the registry: the router must dead-letter it at decode.
  await h.clients.producer.send({ topic: h.clients.topics.requests, messages: [{ key: 'raw', value: Buffer.from('{"uri":"file:///x.png"}'), headers: { 'x-request-id': 'raw-json' } }] });
  bad.set('raw-json', { stage: 'decode', errorClass: 'SchemaError' });

  await Promise.all([
    predictions.waitFor((items) => new Set(items.map((p) => p.value.request_id)).size >= COUNT, 240_000, () => `${predictions.items.length} predictions of ${COUNT}`),
    deadLetters.waitFor((items) => items.length >= bad.size, 240_000, () => `${deadLetters.items.length} dead letters of ${bad.size}`),
  ]);
  // Give stragglers (duplicates would show up here) a moment.
  await new Promise((r) => setTimeout(r, 2_000));
}, 600_000);

afterAll(async () => {
  await h.close();
});

describe('pipeline end to end', () => {
  it('gives every good request exactly one prediction, from the version its stickiness key maps to', () => {
    const byRequest = new Map<string, Prediction[]>();
    for (const { value } of predictions.items) byRequest.set(value.request_id, [...(byRequest.get(value.request_id) ?? []), value]);
    expect(byRequest.size).toBe(COUNT);
    const duplicates = [...byRequest.values()].filter((list) => list.length > 1).length;
    expect(duplicates).toBe(0);
    for (const [id, [p]] of byRequest) {
      expect(labelOf.has(id)).toBe(true);
      expect(p?.model_version).toBe(expectedVersion.get(id));
      expect(p?.experiment_id).toBe(experiment.id);
      expect(p?.shadow).toBe(false);
    }
  });

  it('keeps each user on one version', () => {
    const versionsByUser = new Map<string, Set<string>>();
    for (const { value } of predictions.items) {
      const set = versionsByUser.get(value.stickiness_key ?? '') ?? new Set();
      set.add(value.model_version);
      versionsByUser.set(value.stickiness_key ?? '', set);
    }
    for (const versions of versionsByUser.values()) expect(versions.size).toBe(1);
    expect(new Set(predictions.items.map((p) => p.value.model_version))).toEqual(new Set(['v1', 'v2']));
  });

  it('matches each manifest accuracy within 2 points', () => {
    for (const version of ['v1', 'v2']) {
      const mine = predictions.items.filter((p) => p.value.model_version === version);
      const correct = mine.filter((p) => p.value.predicted_index === labelOf.get(p.value.request_id)?.labelIndex).length;
      const accuracy = correct / mine.length;
      const expected = manifests[version]?.metrics?.test_accuracy ?? NaN;
      process.stdout.write(`${JSON.stringify({ test: 'pipeline-accuracy', version, predictions: mine.length, accuracy, manifest: expected })}\n`);
      expect(mine.length).toBeGreaterThan(300);
      expect(Math.abs(accuracy - expected), `${version}: ${accuracy.toFixed(4)} on ${mine.length} vs manifest ${expected}`).toBeLessThanOrEqual(0.02);
    }
  });

  it('reports timings, input statistics and trace headers on predictions', () => {
    const first = predictions.items[0];
    const value = first?.value;
    const headers: Record<string, string> = first?.headers ?? {};
    expect(value?.timings.total_ms).toBeGreaterThan(0);
    expect(value?.timings.inference_ms).toBeGreaterThan(0);
    expect(value?.batch_size).toBeGreaterThanOrEqual(1);
    expect(value?.input_stats.brightness).toBeGreaterThan(0);
    expect(value?.top_k.length).toBe(5);
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('dead-letters every bad record with its stage, class and original value', () => {
    expect(deadLetters.items).toHaveLength(bad.size);
    for (const { value } of deadLetters.items) {
      const id = value.request_id ?? '';
      expect(bad.get(id), `unexpected dead letter ${JSON.stringify({ ...value, original_value: null })}`).toBeDefined();
      expect({ stage: value.stage, errorClass: value.error_class }).toEqual(bad.get(id));
      expect(value.error_message.length).toBeGreaterThan(0);
      expect(value.original_value?.length).toBeGreaterThan(0);
    }
    expect(predictions.items.some((p) => bad.has(p.value.request_id))).toBe(false);
  });
});
