/**
 * Two real third-party image classifiers from PyPI wheels (models/third-party/catalog.json), onboarded with
 * `npm run model -- import` and served through the whole pipeline (router, inference consumers, predictions
 * topic) on 200 images each, in one deployment beside Fashion-MNIST (the default model): three models, each
 * with its own experiment (keyed by model name), version topics, consumer group, drift stream and gateway name,
 * and all three with a version called v1. Their predictions are compared with the authors' own preprocessing
 * and inference (models/third-party/reference.py, run in the authors' venv): top-1 agreement at least 99 % and
 * the largest top-1 score difference at most 0.01. One model's samples and files go through S3 (import
 * --samples s3://... --upload s3://..., consumer MODEL_URI=s3://...), the other's stay on the local disk.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import type { WindowSummary as DriftReport } from '../../drift-monitor/analytics/window-summary.ts';
import type { DeadLetter } from '../../platform/dead-letter.ts';
import type { ModelManifest } from '../../models/manifest.ts';
import { findModel, readCatalog } from '../../models/third-party/catalog.ts';
import { prepareThirdParty, type PreparedModel } from '../../models/third-party/prepare.ts';
import { newImageRequest, type ImageRequest } from '../../producers/image-request.ts';
import { writeSamples } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import { freePort } from '../../stack/pipeline-services.ts';
import type { TopicCollector } from '../../stack/topic-collector.ts';

const COUNT = 200;
const FASHION_COUNT = 100;
const TOKEN = 'several-models-e2e-token';
const h = new PipelineHarness();
const SAMPLES = join(REPO_ROOT, 'data', 'samples');
const catalog = readCatalog();

interface Served {
  name: string;
  version: string;
  prepared: PreparedModel;
  flags: string[];
  viaS3: boolean;
  manifest?: ModelManifest;
  importOutput?: string;
  /** Where the consumer loads it from. */
  uri?: string;
  /** request id -> sample file name */
  requests: Map<string, string>;
  published: ImageRequest[];
}

// The authors' preprocessing in manifest terms (models/third-party/README.md says where each comes from).
const models: Served[] = [
  {
    name: 'text-orientation', version: 'v1', viaS3: false, requests: new Map(), published: [],
    prepared: undefined as unknown as PreparedModel,
    flags: ['--preset', 'imagenet', '--kernel', 'lanczos3', '--channel-order', 'BGR'],
  },
  {
    name: 'text-direction', version: 'v1', viaS3: true, requests: new Map(), published: [],
    prepared: undefined as unknown as PreparedModel,
    flags: ['--preset', 'stretch', '--width', '192', '--height', '48', '--mean', '0.5,0.5,0.5', '--std', '0.5,0.5,0.5', '--channel-order', 'BGR'],
  },
];
let predictions: TopicCollector<Prediction>;
let reports: TopicCollector<DriftReport>;
let deadLetters: TopicCollector<DeadLetter>;
let gatewayBase = '';
/** Every served model's manifests, as the gateway's catalog and the drift monitor read them. */
let catalogDir = '';
const fashion = { requests: new Map<string, string>(), published: [] as ImageRequest[] };
const expected = new Map<string, Map<string, { top1: string; score: number }>>();

function runModelCli(args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'models/import/cli.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ...h.env } });
  if (r.status !== 0) throw new Error(`npm run model -- ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  await h.connect();
  const bucket = h.s3Settings.bucket;
  catalogDir = join(REPO_ROOT, '.state', 'third-party', h.prefix, 'models');
  await mkdir(join(catalogDir, 'fashion-mnist', 'v1'), { recursive: true });
  await copyFile(join(REPO_ROOT, 'models', 'fashion-mnist', 'v1', 'manifest.json'), join(catalogDir, 'fashion-mnist', 'v1', 'manifest.json'));
  const fashionSet = await writeSamples(join(SAMPLES, 'e2e-several-models'), 'lossless', FASHION_COUNT);
  for (const f of fashionSet.samples) {
    const r = newImageRequest(pathToFileURL(join(fashionSet.dir, f.file)).href, { source: 'fashion' });
    fashion.requests.set(r.request_id, f.label);
    fashion.published.push(r);
  }
  for (const m of models) {
    m.prepared = prepareThirdParty(findModel(catalog, m.name), join(SAMPLES, m.name), COUNT, (l) => process.stderr.write(`${l}\n`));
    const lines = (await readFile(m.prepared.expected, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { image: string; top1: string; score: number });
    expected.set(m.name, new Map(lines.map((l) => [l.image, l])));
    const files = (await readdir(m.prepared.samples)).filter((f) => f.endsWith('.png')).sort();
    let samples = m.prepared.samples;
    const uriOf = new Map(files.map((f) => [f, pathToFileURL(join(m.prepared.samples, f)).href]));
    if (m.viaS3) {
      samples = `s3://${bucket}/${h.prefix}/samples/${m.name}/`;
      for (const f of files) {
        await h.s3().send(new PutObjectCommand({ Bucket: bucket, Key: `${h.prefix}/samples/${m.name}/${f}`, Body: await readFile(join(m.prepared.samples, f)) }));
        uriOf.set(f, `${samples}${f}`);
      }
    }
    const out = join(catalogDir, m.name, m.version);
    const upload = `s3://${bucket}/${h.prefix}/models/${m.name}/${m.version}`;
    m.importOutput = runModelCli([
      'import', m.prepared.onnx, '--name', m.name, '--version', m.version, ...m.flags, '--labels', m.prepared.labels,
      '--samples', samples, '--parity', m.prepared.expected, '--out', out,
      '--source', `PyPI ${m.prepared.model.package} ${m.prepared.model.version} (${m.prepared.model.member})`, '--licence', m.prepared.model.licence,
      ...(m.viaS3 ? ['--upload', upload] : []),
    ]);
    m.manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as ModelManifest;
    for (const f of files) {
      const r = newImageRequest(uriOf.get(f)!, { source: m.name, model: m.name });
      m.requests.set(r.request_id, f);
      m.published.push(r);
    }
    m.uri = m.viaS3 ? upload : out;
  }

  predictions = await h.collect<Prediction>(h.clients.topics.predictions);
  reports = await h.collect<DriftReport>(h.clients.topics.drift);
  deadLetters = await h.collect<DeadLetter>(h.clients.topics.dlq);
  // One experiment per model: the default model's under key "default", each other model's under its name.
  await h.setExperiment({ id: 'fashion-v1', versions: ['v1'], default_version: 'v1', rules: [] });
  for (const m of models) {
    await h.setExperiment({ id: `${m.name}-v1`, versions: [m.version], default_version: m.version, rules: [{ id: 'all', split: [], allow_pinned: true }] }, m.name);
  }
  await h.start('router', 'router');
  await h.start('inference-fashion-mnist-v1', 'inference', { MODEL_VERSION: 'v1', FETCH_FILE_ROOTS: SAMPLES });
  for (const m of models) {
    await h.start(`inference-${m.name}-${m.version}`, 'inference', {
      MODEL_NAME: m.name, MODEL_VERSION: m.version, MODEL_URI: m.uri!, TOP_K: '4', MAX_BATCH_SIZE: '16', FETCH_FILE_ROOTS: SAMPLES,
    });
  }
  await h.start('drift-monitor', 'drift-monitor', {
    DRIFT_WINDOW_SIZE: '100',
    DRIFT_MANIFESTS: ['fashion-mnist', ...models.map((m) => m.name)].map((name) => join(catalogDir, name, 'v1', 'manifest.json')).join(','),
  });
  const port = await freePort();
  await h.start('gateway', 'gateway', { GATEWAY_PORT: String(port), GATEWAY_TOKENS: `e2e:${TOKEN}`, GATEWAY_MODELS_DIR: catalogDir, GATEWAY_UPLOAD_PREFIX: `${h.prefix}/uploads/` });
  gatewayBase = `http://127.0.0.1:${port}`;
  // Interleaved, so every consumer works at once.
  await h.publish([...Array.from({ length: COUNT }, (_, i) => models.map((m) => m.published[i]!)).flat(), ...fashion.published]);
  const total = models.reduce((n, m) => n + m.requests.size, 0) + fashion.requests.size;
  await predictions.waitFor((items) => new Set(items.map((p) => p.value.request_id)).size >= total, 300_000, () => `${predictions.items.length} predictions of ${total}`);
}, 900_000);

afterAll(async () => {
  await h.close();
  await rm(join(REPO_ROOT, '.state', 'third-party', h.prefix), { recursive: true, force: true });
});

describe.each(models.map((m) => [m.name, m] as const))('%s served through the pipeline', (_name, m) => {
  it('passes the import command\'s own parity check through the serving code path', () => {
    expect(m.importOutput).toMatch(/parity: PASSED/);
    expect(m.manifest?.provenance).toMatchObject({ licence: 'Apache-2.0', sha256: m.prepared.model.sha256 });
    expect(m.manifest?.reference?.samples).toBe(COUNT);
  });

  it('agrees with the authors\' own preprocessing and inference on 200 images (top-1 >= 99 %, top-1 score within 0.01)', () => {
    const mine = predictions.items.map((p) => p.value).filter((p) => m.requests.has(p.request_id));
    expect(new Set(mine.map((p) => p.request_id)).size).toBe(COUNT);
    expect(new Set(mine.map((p) => `${p.model_name} ${p.model_version} ${p.experiment_id}`))).toEqual(new Set([`${m.name} v1 ${m.name}-v1`]));
    const byImage = expected.get(m.name)!;
    let agreed = 0;
    let maxDiff = 0;
    for (const p of mine) {
      const e = byImage.get(m.requests.get(p.request_id)!)!;
      if (p.predicted_label === e.top1) agreed++;
      const served = p.top_k.find((s) => s.label === e.top1)?.score ?? 0;
      maxDiff = Math.max(maxDiff, Math.abs(served - e.score));
    }
    process.stderr.write(`${m.name}: ${agreed}/${mine.length} top-1 agree with the authors' pipeline, largest top-1 score difference ${maxDiff.toFixed(6)}\n`);
    expect(agreed / mine.length).toBeGreaterThanOrEqual(0.99);
    expect(maxDiff).toBeLessThanOrEqual(0.01);
  });
});

describe('three models in one deployment', () => {
  it('serves Fashion-MNIST requests (no model named) by the default model\'s experiment, unchanged', () => {
    const mine = predictions.items.map((p) => p.value).filter((p) => fashion.requests.has(p.request_id));
    expect(mine).toHaveLength(FASHION_COUNT);
    expect(new Set(mine.map((p) => `${p.model_name} ${p.model_version} ${p.experiment_id}`))).toEqual(new Set(['fashion-mnist v1 fashion-v1']));
    expect(mine.filter((p) => p.predicted_label === fashion.requests.get(p.request_id)).length).toBeGreaterThanOrEqual(80);
  });

  it('keeps a drift stream per model, each against its own manifest reference', async () => {
    const names = ['fashion-mnist', ...models.map((m) => m.name)];
    await reports.waitFor((items) => names.every((n) => items.some((r) => r.value.model_name === n)), 60_000,
      () => `reports for ${[...new Set(reports.items.map((r) => r.value.model_name))].join(', ')}`);
    for (const name of names) {
      const mine = reports.items.map((r) => r.value).filter((r) => r.model_name === name);
      expect(new Set(mine.map((r) => r.model_version))).toEqual(new Set(['v1']));
      expect(mine[0]?.metrics.map((x) => x.reference)).toContain('manifest');
      expect(mine[0]?.count).toBe(100);
    }
    // Drift is measured against the model's own reference: its served classes, not Fashion-MNIST's.
    const text = reports.items.map((r) => r.value).find((r) => r.model_name === 'text-orientation')!;
    expect(Object.keys(text.class_shares).every((label) => models[0]!.manifest!.labels.includes(label))).toBe(true);
  });

  it('answers each gateway model name with that model\'s prediction, and 404 for a name it does not serve', async () => {
    const infer = (path: string, file: string) => readFile(file).then((bytes) => fetch(`${gatewayBase}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [bytes.toString('base64')] }] }),
    }));
    const textFile = join(models[0]!.prepared.samples, [...models[0]!.requests.values()][0]!);
    const fashionFile = new URL(fashion.published[0]!.uri).pathname;
    const [text, pinned, fm, unknown] = await Promise.all([
      infer('/v2/models/text-orientation/infer', textFile), infer('/v2/models/text-orientation/versions/v1/infer', textFile),
      infer('/v2/models/fashion-mnist/infer', fashionFile), infer('/v2/models/resnet/infer', fashionFile),
    ]);
    const body = async (r: Response) => ({ status: r.status, ...(await r.json() as { model_name?: string; model_version?: string; error?: string }) });
    expect(await body(text)).toMatchObject({ status: 200, model_name: 'text-orientation', model_version: 'v1' });
    expect(await body(pinned)).toMatchObject({ status: 200, model_name: 'text-orientation', model_version: 'v1' });
    expect(await body(fm)).toMatchObject({ status: 200, model_name: 'fashion-mnist', model_version: 'v1' });
    expect(await body(unknown)).toMatchObject({ status: 404, error: expect.stringContaining('unknown model "resnet"') });
  });

  it('dead-letters a Kafka request for a model without an experiment as route/UnknownModel', async () => {
    const lost = newImageRequest(fashion.published[0]!.uri, { model: 'resnet' });
    await h.publish([lost]);
    await deadLetters.waitFor((items) => items.some((d) => d.value.request_id === lost.request_id), 30_000);
    const mine = deadLetters.items.find((d) => d.value.request_id === lost.request_id)!.value;
    expect([mine.stage, mine.error_class]).toEqual(['route', 'UnknownModel']);
    expect(mine.error_message).toContain('models routed here: fashion-mnist, text-direction, text-orientation');
  });
});
