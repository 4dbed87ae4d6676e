/**
 * One preallocated buffer per batch, of the input's dtype: images are normalised straight into their slot,
 * and the inference call wraps the filled prefix without copying.
 */
import { fixedBatchSize, type InputSpec } from '../../manifest.ts';
import { allocateTensorData, itemSize, type TensorData } from './normalise.ts';

export interface BatchTensor {
  /** Room for `capacity` images, rounded up to whole slices of a fixed batch size (the model call pads with them). */
  readonly data: TensorData;
  readonly dtype: InputSpec['dtype'];
  /** Slots available. */
  readonly capacity: number;
  /** Elements per image. */
  readonly itemSize: number;
  readonly layout: InputSpec['layout'];
  /** Dimensions of one image in layout order, e.g. [1, 28, 28] for NCHW. */
  readonly itemDims: readonly number[];
}

type AllocationSpec = Pick<InputSpec, 'layout' | 'channels' | 'width' | 'height' | 'dtype' | 'shape'>;

export function allocateBatch(spec: AllocationSpec, capacity: number): BatchTensor {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`allocateBatch: capacity must be a positive integer, got ${capacity}`);
  return {
    data: allocateTensorData(spec.dtype, dataLength(spec, capacity)),
    dtype: spec.dtype,
    capacity,
    itemSize: itemSize(spec),
    layout: spec.layout,
    itemDims: itemDims(spec),
  };
}

/** Whether a tensor allocated for one spec serves another (a reloaded model with the same input). */
export function fitsSpec(batch: BatchTensor, spec: AllocationSpec): boolean {
  return batch.dtype === spec.dtype && batch.layout === spec.layout && batch.itemDims.join() === itemDims(spec).join() &&
    batch.data.length === dataLength(spec, batch.capacity);
}

function itemDims(spec: AllocationSpec): number[] {
  return spec.layout === 'NCHW' ? [spec.channels, spec.height, spec.width] : [spec.height, spec.width, spec.channels];
}

function dataLength(spec: AllocationSpec, capacity: number): number {
  const slice = fixedBatchSize(spec) ?? 1;
  return itemSize(spec) * Math.ceil(capacity / slice) * slice;
}

/** Element offset of a slot. */
export function slotOffset(batch: BatchTensor, slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= batch.capacity) {
    throw new RangeError(`slot ${slot} is outside a batch of ${batch.capacity}`);
  }
  return slot * batch.itemSize;
}
