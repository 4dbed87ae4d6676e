/** One ONNX Runtime call for a whole batch, then per-item probabilities and top-k labels. */
import ort from 'onnxruntime-node';
import type { ModelManifest } from '../../models/manifest.ts';
import { PipelineError } from '../../platform/errors.ts';
import type { BatchTensor } from '../preprocess/batch-tensor.ts';
import { softmax, topK, type ScoredLabel } from './scores.ts';

export interface ItemPrediction {
  /** One per class, summing to 1. */
  probabilities: Float32Array;
  /** Best first. */
  top: ScoredLabel[];
}

/** Runs the first `count` slots of `batch` (a view of the preallocated buffer, no copy). */
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
  const input = new ort.Tensor('float32', batch.data.subarray(0, count * batch.itemSize), [count, ...batch.itemDims]);
  let output: ort.Tensor | undefined;
  try {
    const results = await session.run({ [manifest.input.name]: input }, [manifest.output.name]);
    output = results[manifest.output.name];
  } catch (err) {
    throw new PipelineError('inference', 'InferenceError', `Model call failed for a batch of ${count}: ${err instanceof Error ? err.message : String(err)}`, false, {
      cause: err,
    });
  }
  const classes = manifest.output.num_classes;
  if (output === undefined || output.type !== 'float32' || output.data.length !== count * classes) {
    throw new PipelineError(
      'inference',
      'InferenceError',
      `Model output "${manifest.output.name}" is ${output?.type ?? 'missing'} [${output?.dims.join(', ') ?? ''}], expected float32 [${count}, ${classes}]; the manifest does not match the model.`,
    );
  }
  const data = output.data as Float32Array;
  return Array.from({ length: count }, (_, i) => {
    const row = data.subarray(i * classes, (i + 1) * classes);
    const probabilities = manifest.output.kind === 'logits' ? softmax(row) : Float32Array.from(row);
    return { probabilities, top: topK(probabilities, k, manifest.labels) };
  });
}
