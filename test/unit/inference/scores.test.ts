import ort from 'onnxruntime-node';
import { describe, expect, it, vi } from 'vitest';
import { runBatch } from '../../../models/runtime/run-batch.ts';
import { softmax, topK } from '../../../models/runtime/scores.ts';
import { allocateBatch } from '../../../models/runtime/preprocess/batch-tensor.ts';
import { validManifest } from './fixtures.ts';

describe('softmax', () => {
  it('matches hand values and sums to 1', () => {
    const p = softmax([0, Math.log(3)]);
    expect(p[0]).toBeCloseTo(0.25, 6);
    expect(p[1]).toBeCloseTo(0.75, 6);
  });

  it('is stable for large logits', () => {
    const p = softmax([1000, 1000, 999]);
    expect(Array.from(p).every(Number.isFinite)).toBe(true);
    expect(p[0]).toBeCloseTo(1 / (2 + Math.exp(-1)), 6);
  });
});

describe('topK', () => {
  it('returns the k best with labels, best first, ties by lower index', () => {
    expect(topK([0.1, 0.4, 0.1, 0.4], 3, ['a', 'b', 'c', 'd'])).toEqual([
      { index: 1, label: 'b', score: 0.4 },
      { index: 3, label: 'd', score: 0.4 },
      { index: 0, label: 'a', score: 0.1 },
    ]);
  });

  it('caps k at the number of classes', () => {
    expect(topK([1, 2], 5, ['a', 'b'])).toHaveLength(2);
  });
});

describe('runBatch', () => {
  const manifest = validManifest({ labels: ['a', 'b', 'c'], output: { name: 'logits', kind: 'logits', num_classes: 3 } });

  it('calls the session once with an [N, C, H, W] view of the filled slots and softmaxes each row', async () => {
    const batch = allocateBatch(manifest.input, 4);
    const run = vi.fn(async (feeds: Record<string, ort.Tensor>) => {
      const input = feeds.input as ort.Tensor;
      expect(input.dims).toEqual([2, 1, 28, 28]);
      expect((input.data as Float32Array).buffer).toBe(batch.data.buffer);
      return { logits: new ort.Tensor('float32', Float32Array.from([0, Math.log(3), -Infinity, 5, 5, 5]), [2, 3]) };
    });
    const results = await runBatch({ run } as unknown as ort.InferenceSession, manifest, batch, 2, 2);
    expect(run).toHaveBeenCalledTimes(1);
    expect(results[0]?.top).toEqual([
      { index: 1, label: 'b', score: expect.closeTo(0.75, 6) },
      { index: 0, label: 'a', score: expect.closeTo(0.25, 6) },
    ]);
    expect(Array.from(results[1]?.probabilities ?? [])).toEqual([1 / 3, 1 / 3, 1 / 3].map(Math.fround));
  });

  it('passes probabilities through when the model outputs them', async () => {
    const probs = { ...manifest, output: { ...manifest.output, kind: 'probabilities' as const } };
    const run = async () => ({ logits: new ort.Tensor('float32', Float32Array.from([0.2, 0.5, 0.3]), [1, 3]) });
    const [result] = await runBatch({ run } as unknown as ort.InferenceSession, probs, allocateBatch(probs.input, 1), 1, 1);
    expect(result?.top).toEqual([{ index: 1, label: 'b', score: Math.fround(0.5) }]);
  });

  it('reports an output that does not match the manifest as an InferenceError', async () => {
    const run = async () => ({ logits: new ort.Tensor('float32', new Float32Array(4), [1, 4]) });
    await expect(runBatch({ run } as unknown as ort.InferenceSession, manifest, allocateBatch(manifest.input, 1), 1)).rejects.toMatchObject({
      stage: 'inference',
      errorClass: 'InferenceError',
      message: expect.stringMatching(/expected float32 or float16 \[1, 3\]/),
    });
  });
});
