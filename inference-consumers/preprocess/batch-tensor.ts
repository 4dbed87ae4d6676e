/**
 * One preallocated Float32 buffer per batch: images are normalised straight into their slot, and the
 * inference call wraps the filled prefix without copying.
 */
import type { InputSpec } from '../../models/manifest.ts';
import { itemSize } from './normalise.ts';

export interface BatchTensor {
  readonly data: Float32Array;
  /** Slots available. */
  readonly capacity: number;
  /** Float32 elements per image. */
  readonly itemSize: number;
  readonly layout: InputSpec['layout'];
  /** Dimensions of one image in layout order, e.g. [1, 28, 28] for NCHW. */
  readonly itemDims: readonly number[];
}

export function allocateBatch(spec: Pick<InputSpec, 'layout' | 'channels' | 'width' | 'height'>, capacity: number): BatchTensor {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`allocateBatch: capacity must be a positive integer, got ${capacity}`);
  const size = itemSize(spec);
  return {
    data: new Float32Array(size * capacity),
    capacity,
    itemSize: size,
    layout: spec.layout,
    itemDims: spec.layout === 'NCHW' ? [spec.channels, spec.height, spec.width] : [spec.height, spec.width, spec.channels],
  };
}

/** Element offset of a slot. */
export function slotOffset(batch: BatchTensor, slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= batch.capacity) {
    throw new RangeError(`slot ${slot} is outside a batch of ${batch.capacity}`);
  }
  return slot * batch.itemSize;
}
