/**
 * What imported models do differently, served through real ONNX Runtime sessions of tiny models
 * (fixtures/onnx/generate.py, expected outputs from NumPy): a batch dimension fixed at 1, several outputs
 * with the one to read named, sigmoid multi-label scores, float16 and uint8 inputs.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBatch } from '../../../models/runtime/run-batch.ts';
import { allocateBatch } from '../../../models/runtime/preprocess/batch-tensor.ts';
import { sha256Hex } from '../../../models/loader/checksum.ts';
import { loadModel } from '../../../models/loader/load-model.ts';
import type { InputSpec, ModelManifest, OutputSpec } from '../../../models/manifest.ts';
import { createSession, defaultSessionConfig } from '../../../models/runtime/session.ts';
import { silentLogger, validManifest } from './fixtures.ts';

const dir = new URL('./fixtures/onnx/', import.meta.url);
const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8')) as {
  inputs: number[][];
  fixed_batch_logits: number[][];
  fixed_batch_sigmoid: number[][];
  float16_input_bits: number[][];
  float16_scores: number[][];
  uint8_logits: number[][];
};
const modelBytes = (name: string) => readFileSync(new URL(`${name}.onnx`, dir));
const labels = ['a', 'b', 'c', 'd'];

function manifestFor(input: Partial<InputSpec>, output: OutputSpec, classes = labels): Pick<ModelManifest, 'input' | 'output' | 'labels'> {
  return {
    input: { ...validManifest().input, channels: 3, width: 2, height: 2, mean: [0, 0, 0], std: [1, 1, 1], ...input },
    output,
    labels: classes,
  };
}

const sessions: Record<string, InferenceSession> = {};

beforeAll(async () => {
  for (const name of ['fixed-batch-two-outputs', 'float16-nhwc', 'uint8-nhwc']) {
    sessions[name] = (await createSession(modelBytes(name), defaultSessionConfig, silentLogger)).session;
  }
});

afterAll(async () => {
  await Promise.all(Object.values(sessions).map((s) => s.release()));
});

describe('a model with its batch dimension fixed at 1 and two outputs', () => {
  const fixed = manifestFor({ name: 'pixels', shape: [1, 3, 2, 2], layout: 'NCHW' }, { name: 'logits', kind: 'sigmoid', num_classes: 4 });

  function filledBatch(capacity: number) {
    const batch = allocateBatch(fixed.input, capacity);
    expected.inputs.slice(0, capacity).forEach((item, i) => batch.data.set(item.map((v) => v / 255), i * batch.itemSize));
    return batch;
  }

  it('serves a batch of 3 in three calls of 1, each item scored by independent sigmoids, top-k by score', async () => {
    const results = await runBatch(sessions['fixed-batch-two-outputs']!, fixed, filledBatch(3), 3, 4);
    expect(results).toHaveLength(3);
    results.forEach((r, i) => {
      const want = expected.fixed_batch_sigmoid[i]!;
      want.forEach((p, c) => expect(r.probabilities[c]).toBeCloseTo(p, 6));
      const order = want.map((p, c) => [p, c] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]).map(([, c]) => labels[c]);
      expect(r.top.map((t) => t.label)).toEqual(order);
    });
    // Multi-label: the scores are not a distribution.
    expect(results.some((r) => Math.abs(r.probabilities.reduce((a, b) => a + b, 0) - 1) > 0.1)).toBe(true);
  });

  it('serves fewer items than the capacity and a capacity that is not a multiple of the fixed size', async () => {
    const results = await runBatch(sessions['fixed-batch-two-outputs']!, fixed, filledBatch(3), 2, 1);
    expect(results.map((r) => r.probabilities[0])).toEqual(expected.fixed_batch_sigmoid.slice(0, 2).map((p) => expect.closeTo(p[0]!, 6)));
  });

  it('reads the output the manifest names among several', async () => {
    const embedding = manifestFor(fixed.input, { name: 'embedding', kind: 'probabilities', num_classes: 12 }, Array.from({ length: 12 }, (_, i) => `f${i}`));
    const [first] = await runBatch(sessions['fixed-batch-two-outputs']!, embedding, filledBatch(1), 1, 1);
    expect(Array.from(first!.probabilities)).toEqual(expected.inputs[0]!.map((v) => Math.fround(v / 255)));
  });
});

describe('float16 and uint8 inputs', () => {
  it('passes float16 bits to the model and widens its float16 output', async () => {
    const spec = manifestFor({ name: 'image', shape: [-1, 2, 2, 3], layout: 'NHWC', dtype: 'float16' }, { name: 'scores', kind: 'probabilities', num_classes: 4 });
    const batch = allocateBatch(spec.input, 3);
    expect(batch.data).toBeInstanceOf(Uint16Array);
    expected.float16_input_bits.forEach((bits, i) => batch.data.set(bits, i * batch.itemSize));
    const results = await runBatch(sessions['float16-nhwc']!, spec, batch, 3);
    expect(results.map((r) => Array.from(r.probabilities))).toEqual(expected.float16_scores);
  });

  it('passes raw uint8 pixels', async () => {
    const input: Partial<InputSpec> = { name: 'image', shape: [-1, 2, 2, 3], layout: 'NHWC', dtype: 'uint8' };
    const spec = manifestFor(input, { name: 'logits', kind: 'probabilities', num_classes: 4 });
    const batch = allocateBatch(spec.input, 2);
    expect(batch.data).toBeInstanceOf(Uint8Array);
    expected.inputs.slice(0, 2).forEach((item, i) => batch.data.set(item, i * batch.itemSize));
    const results = await runBatch(sessions['uint8-nhwc']!, spec, batch, 2);
    results.forEach((r, i) => expected.uint8_logits[i]!.forEach((l, c) => expect(r.probabilities[c]).toBeCloseTo(l, 4)));
  });
});

describe('loading checks the manifest against the model', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'model-kinds-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function write(name: string, model: string, input: Partial<InputSpec>, output: OutputSpec): Promise<string> {
    const bytes = modelBytes(model);
    const base = validManifest();
    const manifest = validManifest({
      sha256: sha256Hex(bytes),
      input: { ...base.input, channels: 3, width: 2, height: 2, mean: [0, 0, 0], std: [1, 1, 1], ...input },
      output,
      labels: Array.from({ length: output.num_classes }, (_, i) => `l${i}`),
      reference: { ...base.reference, predicted_class: { probabilities: Array.from({ length: output.num_classes }, () => 1 / output.num_classes) } },
    });
    const at = path.join(root, name);
    await mkdir(at, { recursive: true });
    await writeFile(path.join(at, 'manifest.json'), JSON.stringify(manifest));
    await writeFile(path.join(at, 'model.onnx'), bytes);
    return at;
  }

  it('loads a fixed-batch model whose manifest says so', async () => {
    const at = await write('fixed-ok', 'fixed-batch-two-outputs', { name: 'pixels', shape: [1, 3, 2, 2] }, { name: 'logits', kind: 'sigmoid', num_classes: 4 });
    const model = await loadModel(at, { session: defaultSessionConfig, logger: silentLogger });
    await model.session.release();
    expect(model.manifest.input.shape[0]).toBe(1);
  });

  it('refuses a dynamic batch in the manifest for a model fixed at 1, and a dtype the model does not take', async () => {
    const dynamic = await write('fixed-bad', 'fixed-batch-two-outputs', { name: 'pixels', shape: [-1, 3, 2, 2] }, { name: 'logits', kind: 'sigmoid', num_classes: 4 });
    await expect(loadModel(dynamic, { session: defaultSessionConfig, logger: silentLogger })).rejects.toThrow(/input\.shape\[0\] is -1 but the model's batch dimension is fixed at 1/);
    const half = await write('half-bad', 'float16-nhwc', { name: 'image', shape: [-1, 2, 2, 3], layout: 'NHWC' }, { name: 'scores', kind: 'logits', num_classes: 4 });
    await expect(loadModel(half, { session: defaultSessionConfig, logger: silentLogger })).rejects.toThrow(/input\.dtype is "float32" but the model's input "image" takes float16/);
  });
});
