/**
 * What an ONNX file's inputs and outputs say about it: whether it is an image classifier and, if so, the input
 * spec they imply (layout, channels, size, batch, dtype) and the output holding the class scores. Pure: the
 * tensor descriptions come from onnxruntime-node's session metadata (onnx-file.ts).
 */
import { INPUT_DTYPES, type InputDtype } from '../manifest.ts';

/** One input or output as ONNX Runtime describes it; a string dimension is symbolic (dynamic). */
export interface TensorInfo {
  name: string;
  /** onnxruntime-node's type name ('float32', 'uint8', ...); undefined for a non-tensor value. */
  type: string | undefined;
  shape: ReadonlyArray<number | string>;
}

export interface ModelIo {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

const OUTPUT_DTYPES: readonly string[] = ['float32', 'float16'];

export interface ProposedInput {
  name: string;
  layout: 'NCHW' | 'NHWC';
  channels: 1 | 3;
  /** Undefined when the model leaves it dynamic: then it must be given. */
  width: number | undefined;
  height: number | undefined;
  /** A fixed batch size, or -1 for a dynamic one. */
  batch: number;
  dtype: InputDtype;
}

export interface ProposedOutput {
  name: string;
  numClasses: number;
}

/** The file is not an image classifier this pipeline can serve; the message says what was found and expected. */
export class NotAnImageModel extends Error {
  override name = 'NotAnImageModel';
}

const describe = (t: TensorInfo): string => `${t.name} ${t.type ?? 'non-tensor'} [${t.shape.map((d) => (typeof d === 'number' ? d : d === '' ? '?' : d)).join(', ')}]`;
const fixed = (d: number | string | undefined): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);

function pick(tensors: TensorInfo[], wanted: string | undefined, what: 'input' | 'output', flag: string): TensorInfo {
  if (wanted !== undefined) {
    const found = tensors.find((t) => t.name === wanted);
    if (!found) throw new NotAnImageModel(`${flag} ${wanted}: the model has no ${what} of that name; its ${what}s: ${tensors.map(describe).join('; ')}`);
    return found;
  }
  if (tensors.length === 1) return tensors[0]!;
  throw new NotAnImageModel(
    `the model has ${tensors.length} ${what}s (${tensors.map(describe).join('; ')}); expected one image ${what === 'input' ? 'batch' : 'score tensor'}: name the one to use with ${flag}`,
  );
}

export function proposeInput(io: ModelIo, options: { input?: string; layout?: 'NCHW' | 'NHWC' } = {}): ProposedInput {
  const t = pick(io.inputs, options.input, 'input', '--input');
  if (t.type === undefined || !(INPUT_DTYPES as readonly string[]).includes(t.type)) {
    throw new NotAnImageModel(`input ${describe(t)} is not an image tensor: expected float32, float16 or uint8 values`);
  }
  if (t.shape.length !== 4) {
    throw new NotAnImageModel(`input ${describe(t)} has rank ${t.shape.length}; expected a batch of images of rank 4, [N, C, H, W] or [N, H, W, C]`);
  }
  const isChannels = (d: number | string | undefined): boolean => d === 1 || d === 3;
  let layout = options.layout;
  if (layout === undefined) {
    if (isChannels(t.shape[1])) layout = 'NCHW';
    else if (isChannels(t.shape[3])) layout = 'NHWC';
    else {
      throw new NotAnImageModel(
        `input ${describe(t)}: neither dimension 1 (${t.shape[1]}) nor dimension 3 (${t.shape[3]}) is 1 or 3; expected grayscale or RGB channels, [N, 1|3, H, W] or [N, H, W, 1|3]`,
      );
    }
  }
  const [c, h, w] = layout === 'NCHW' ? [t.shape[1], t.shape[2], t.shape[3]] : [t.shape[3], t.shape[1], t.shape[2]];
  if (!isChannels(c)) throw new NotAnImageModel(`input ${describe(t)} as ${layout} has ${c} channels; expected 1 (grayscale) or 3 (RGB)`);
  return {
    name: t.name,
    layout,
    channels: c as 1 | 3,
    width: fixed(w),
    height: fixed(h),
    batch: fixed(t.shape[0]) ?? -1,
    dtype: t.type as InputDtype,
  };
}

export function proposeOutput(io: ModelIo, options: { output?: string } = {}): ProposedOutput {
  const t = pick(io.outputs, options.output, 'output', '--output');
  if (t.type === undefined || !OUTPUT_DTYPES.includes(t.type)) {
    throw new NotAnImageModel(`output ${describe(t)} is not a score tensor: expected float32 or float16 class scores`);
  }
  const classes = fixed(t.shape[1]);
  if (t.shape.length !== 2 || classes === undefined) {
    throw new NotAnImageModel(`output ${describe(t)} is not a classifier's: expected class scores of shape [N, classes] with a fixed number of classes`);
  }
  return { name: t.name, numClasses: classes };
}
