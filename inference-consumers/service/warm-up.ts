/**
 * The first ONNX Runtime call of a session pays for memory arenas, kernel selection and (on a GPU) CUDA
 * initialisation; at the largest batch it allocates what every later batch reuses. A consumer runs that call
 * on a blank batch before it joins its group, so the first records after a scale-out do not pay for it.
 */
import { performance } from 'node:perf_hooks';
import type { LoadedModel } from '../../models/loader/load-model.ts';
import { runBatch } from '../onnx/run-batch.ts';
import { allocateBatch } from '../preprocess/batch-tensor.ts';

/** Runs one batch of `batchSize` blank images through the model; returns its duration in seconds. */
export async function warmUp(model: Pick<LoadedModel, 'session' | 'manifest'>, batchSize: number): Promise<number> {
  const batch = allocateBatch(model.manifest.input, batchSize);
  const started = performance.now();
  await runBatch(model.session, model.manifest, batch, batchSize, 1);
  return (performance.now() - started) / 1000;
}
