import type { InputSpec } from '../../models/manifest.ts';
import { allocateBatch, type BatchTensor } from '../preprocess/batch-tensor.ts';

/**
 * Reuses batch tensors across polls (a 224×224×3 batch of 64 is 38 MB): one per batch in flight, reallocated
 * only when a reloaded model changes the input shape.
 */
export class TensorPool {
  private free: BatchTensor[] = [];
  private key = '';

  constructor(private readonly capacity: number) {}

  acquire(spec: InputSpec): BatchTensor {
    const key = `${spec.layout}:${spec.channels}:${spec.height}:${spec.width}`;
    if (key !== this.key) {
      this.free = [];
      this.key = key;
    }
    return this.free.pop() ?? allocateBatch(spec, this.capacity);
  }

  release(tensor: BatchTensor, spec: InputSpec): void {
    if (tensor.itemSize === spec.channels * spec.height * spec.width && tensor.layout === spec.layout) this.free.push(tensor);
  }
}
