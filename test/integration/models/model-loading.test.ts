/**
 * Real models, no broker: the sha256 refusal, accuracy parity of the TypeScript serving path with the
 * training-time test accuracy, and replacing a model at run time.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../models/loader/checksum.ts';
import { loadModel } from '../../../models/loader/load-model.ts';
import { ModelRegistry } from '../../../models/loader/model-registry.ts';
import { classify, logger, MODEL_DIR, paritySamples, sessionConfig, type Sample } from './parity-helpers.ts';

const PARITY_TOLERANCE = 0.005;
// All 10,000 test images: the manifest's test_accuracy is measured on exactly these, so the comparison has no sampling noise.
const PARITY_COUNT = 10_000;

describe('sha256 verification', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'model-sha-'));
    await cp(MODEL_DIR('v1'), dir, { recursive: true });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads an unaltered copy', async () => {
    const model = await loadModel(dir, { session: sessionConfig, logger });
    expect(model.provider).toBe('cpu');
    await model.session.release();
  });

  it('refuses a model file with one byte changed, naming the file, both hashes and the fix', async () => {
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { file: string; sha256: string };
    const modelPath = path.join(dir, manifest.file);
    const bytes = await readFile(modelPath);
    const middle = Math.floor(bytes.length / 2);
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0x01, middle);
    await writeFile(modelPath, bytes);
    const failure = loadModel(`file://${dir}`, { session: sessionConfig, logger });
    await expect(failure).rejects.toMatchObject({ stage: 'inference', errorClass: 'InferenceError' });
    const message = await failure.catch((err: Error) => err.message);
    expect(message).toContain(`Refusing model file ${modelPath}`);
    expect(message).toContain(`its sha256 is ${sha256Hex(bytes)}`);
    expect(message).toContain(`expects ${manifest.sha256}`);
    expect(message).toMatch(/copy the model version again/);
  });
});

describe('execution provider', () => {
  it('falls back to CPU with a warning when CUDA is configured but this onnxruntime-node build has none', async () => {
    const lines: string[] = [];
    const capture = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const model = await loadModel(MODEL_DIR('v1'), { session: { ...sessionConfig, executionProviders: ['cuda', 'cpu'] }, logger: capture });
    try {
      if (model.provider === 'cpu') expect(lines.join('')).toMatch(/CUDA execution provider unavailable.*falling back to CPU/);
      else expect(model.provider).toBe('cuda');
    } finally {
      await model.session.release();
    }
  });
});

describe('parity of the TypeScript serving path with training metrics', () => {
  let samples: Sample[];
  let root: string;

  beforeAll(async () => {
    ({ dir: root, samples } = await paritySamples(PARITY_COUNT));
  }, 300_000);

  it.each(['v1', 'v2', 'v2-int8', 'v3-broken'])('%s: accuracy within 0.5 points of manifest.metrics.test_accuracy', async (version) => {
    const model = await loadModel(MODEL_DIR(version), { session: sessionConfig, logger });
    try {
      const expected = model.manifest.metrics!.test_accuracy;
      const started = performance.now();
      const { accuracy, predicted } = await classify(model, samples, root);
      // Shown to justify using all 10,000: the first 2,000 alone sit well away from the full-set number.
      const first2000 = predicted.slice(0, 2000).filter((p, i) => p === samples[i]?.label).length / 2000;
      process.stdout.write(
        `parity ${version}: serving ${(accuracy * 100).toFixed(2)}% on ${samples.length} images ` +
          `(first 2,000: ${(first2000 * 100).toFixed(2)}%), manifest ${(expected * 100).toFixed(2)}% ` +
          `on ${model.manifest.metrics!.test_samples}; ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
      expect(model.manifest.metrics!.test_samples).toBe(PARITY_COUNT);
      expect(Math.abs(accuracy - expected)).toBeLessThanOrEqual(PARITY_TOLERANCE);
    } finally {
      await model.session.release();
    }
  }, 300_000);
});

describe('run-time model replacement', () => {
  it('replaces v1 with v2 under one label without a restart, and predictions change', async () => {
    const { dir: root, samples } = await paritySamples(PARITY_COUNT);
    const some = samples.slice(0, 512);
    const registry = new ModelRegistry((uri) => loadModel(uri, { session: sessionConfig, logger }), logger);
    try {
      await registry.load('current', MODEL_DIR('v1'));
      const before = await registry.use('current', (model) => classify(model, some, root));
      const v1 = registry.get('current');

      await registry.load('current', MODEL_DIR('v2'));
      const v2 = registry.get('current');
      const after = await registry.use('current', (model) => classify(model, some, root));

      expect(v1?.manifest.version).toBe('v1');
      expect(v2?.manifest.version).toBe('v2');
      expect(v2?.sha256).not.toBe(v1?.sha256);
      const changed = before.predicted.filter((p, i) => p !== after.predicted[i]).length;
      expect(changed).toBeGreaterThan(0);
      // The released v1 session no longer runs.
      await expect(classify(v1!, some.slice(0, 1), root)).rejects.toThrow();
    } finally {
      await registry.close();
    }
  }, 120_000);
});
