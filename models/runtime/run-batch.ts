/** ONNX Runtime calls for a whole batch, then per-item scores and top-k labels. */
import ort from 'onnxruntime-node';
import { fixedBatchSize, type ModelManifest } from '../manifest.ts';
import { PipelineError } from '../../platform/errors.ts';
import type { BatchTensor } from './preprocess/batch-tensor.ts';
import { fromFloat16Bits } from './preprocess/float16.ts';
import { sigmoid, softmax, topK, type ScoredLabel } from './scores.ts';

export interface ItemPrediction {
  /** One score per class: probabilities summing to 1, or independent sigmoid scores for output kind 'sigmoid'. */
  probabilities: Float32Array;
  /** Best first. */
  top: ScoredLabel[];
}

/**
 * Runs the first `count` slots of `batch` (views of the preallocated buffer, no copy): in one call, or for a
 * model exported with a fixed batch size N in calls of exactly N, the last one padded with whatever the
 * spare slots hold (their scores are dropped; a classifier scores each image on its own).
 */
export async function runBatch(
  session: ort.InferenceSession,
  manifest: Pick<ModelManifest, 'input' | 'output' | 'labels'>,
  batch: BatchTensor,
  count: number,
  k = 5,
): Promise<ItemPrediction[]> {
  if (!Number.isInteger(count) || count < 1 || count > batch.capacity) {
    throw new RangeError(`runBatch: count must be 1..${batch.capacity}, got ${count}`);
  }
  const slice = fixedBatchSize(manifest.input);
  const predictions: ItemPrediction[] = [];
  for (let start = 0; start < count; start += slice ?? count) {
    const size = slice ?? count;
    const scores = await runSlice(session, manifest, batch, start, size);
    const classes = manifest.output.num_classes;
    for (let i = 0; i < Math.min(size, count - start); i++) {
      const row = scores.subarray(i * classes, (i + 1) * classes);
      const probabilities = manifest.output.kind === 'logits' ? softmax(row) : manifest.output.kind === 'sigmoid' ? sigmoid(row) : Float32Array.from(row);
      predictions.push({ probabilities, top: topK(probabilities, k, manifest.labels) });
    }
  }
  return predictions;
}

/** The output scores of `size` slots from `start`, as float32 (a float16 output is widened). */
async function runSlice(
  session: ort.InferenceSession,
  manifest: Pick<ModelManifest, 'input' | 'output'>,
  batch: BatchTensor,
  start: number,
  size: number,
): Promise<Float32Array> {
  const data = batch.data.subarray(start * batch.itemSize, (start + size) * batch.itemSize);
  const input = new ort.Tensor(batch.dtype, data, [size, ...batch.itemDims]);
  let output: ort.Tensor | undefined;
  try {
    const results = await session.run({ [manifest.input.name]: input }, [manifest.output.name]);
    output = results[manifest.output.name];
  } catch (err) {
    throw new PipelineError('inference', 'InferenceError', `Model call failed for a batch of ${size}: ${err instanceof Error ? err.message : String(err)}`, false, {
      cause: err,
    });
  }
  const classes = manifest.output.num_classes;
  if (output === undefined || (output.type !== 'float32' && output.type !== 'float16') || output.data.length !== size * classes) {
    throw new PipelineError(
      'inference',
      'InferenceError',
      `Model output "${manifest.output.name}" is ${output?.type ?? 'missing'} [${output?.dims.join(', ') ?? ''}], expected float32 or float16 [${size}, ${classes}]; the manifest does not match the model.`,
    );
  }
  if (output.type === 'float32') return output.data as Float32Array;
  // float16 arrives as raw bits (Uint16Array), or as numbers where the runtime has a Float16Array.
  const half = output.data as ArrayLike<number>;
  return half instanceof Uint16Array ? Float32Array.from(half, fromFloat16Bits) : Float32Array.from(half);
}
