/**
 * The first ONNX Runtime calls of a session pay for memory arenas, kernel selection and (on a GPU) CUDA
 * initialisation; at the largest batch they allocate what every later batch reuses. A consumer makes those
 * calls on a blank batch before it joins its group, so the first records after a scale-out do not pay for them.
 */
import { performance } from 'node:perf_hooks';
import type { LoadedModel } from '../../models/loader/load-model.ts';
import { runBatch } from '../../models/runtime/run-batch.ts';
import { allocateBatch } from '../../models/runtime/preprocess/batch-tensor.ts';

/** Runs `calls` batches of `batchSize` blank images through the model; returns their duration in seconds. */
export async function warmUp(model: Pick<LoadedModel, 'session' | 'manifest'>, batchSize: number, calls = 1): Promise<number> {
  const batch = allocateBatch(model.manifest.input, batchSize);
  const started = performance.now();
  for (let i = 0; i < calls; i++) await runBatch(model.session, model.manifest, batch, batchSize, 1);
  return (performance.now() - started) / 1000;
}
