import type { InputSpec } from '../../models/manifest.ts';
import { allocateBatch, fitsSpec, type BatchTensor } from '../../models/runtime/preprocess/batch-tensor.ts';

/**
 * Reuses batch tensors across polls (a 224×224×3 batch of 64 is 38 MB in float32): one per batch in flight,
 * reallocated only when a reloaded model changes the input's shape or dtype.
 */
export class TensorPool {
  private free: BatchTensor[] = [];

  constructor(private readonly capacity: number) {}

  acquire(spec: InputSpec): BatchTensor {
    this.free = this.free.filter((t) => fitsSpec(t, spec));
    return this.free.pop() ?? allocateBatch(spec, this.capacity);
  }

  release(tensor: BatchTensor, spec: InputSpec): void {
    if (fitsSpec(tensor, spec)) this.free.push(tensor);
  }
}
