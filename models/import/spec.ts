/**
 * From what the ONNX file says (inspect.ts) and what the user asks for (a preset and flags) to the manifest's
 * input and output specs. Pure. Every preset field can be overridden by its flag; a field the model leaves open
 * (a dynamic width or height) must be given.
 */
import { OUTPUT_KINDS, RESIZE_MODES, type InputSpec, type OutputSpec, type Rgb } from '../manifest.ts';
import type { ProposedInput, ProposedOutput } from './inspect.ts';

export const PRESETS = ['imagenet', 'letterbox', 'stretch'] as const;
export type PresetName = (typeof PRESETS)[number];
export const KERNELS: readonly InputSpec['kernel'][] = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'];
export { OUTPUT_KINDS, RESIZE_MODES };

/** The preprocessing choices a user can make; undefined means the preset's (or the model's) value. */
export interface PreprocessChoices {
  preset?: PresetName;
  width?: number;
  height?: number;
  resize?: InputSpec['resize'];
  resizeShorter?: number;
  padColor?: Rgb;
  kernel?: InputSpec['kernel'];
  scale?: number;
  mean?: number[];
  std?: number[];
  channelOrder?: 'RGB' | 'BGR';
  background?: Rgb;
  exifOrientation?: boolean;
}

/** A wrong combination of flags or of flags and model; the CLI answers it with usage and exit code 2. */
export class ImportUsageError extends Error {
  override name = 'ImportUsageError';
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

interface Preset {
  resize: InputSpec['resize'];
  kernel: InputSpec['kernel'];
  scale: number;
  mean: number[];
  std: number[];
  padColor?: Rgb;
  /** Shorter side before the crop, from the crop size (ImageNet evaluation: 256 for 224). */
  shorter?: (crop: number) => number;
}

const PRESET: Record<PresetName, Preset> = {
  // torchvision's and PaddleClas' evaluation transform: shorter side to 256/224 of the crop, centre crop, ImageNet statistics.
  imagenet: { resize: 'shorter_side_crop', kernel: 'linear', scale: 255, mean: IMAGENET_MEAN, std: IMAGENET_STD, shorter: (crop) => Math.round((crop * 256) / 224) },
  // YOLO-style: scale to fit, pad with grey 114, values in [0, 1].
  letterbox: { resize: 'letterbox', kernel: 'linear', scale: 255, mean: [0, 0, 0], std: [1, 1, 1], padColor: [114, 114, 114] },
  stretch: { resize: 'fill', kernel: 'linear', scale: 255, mean: [0, 0, 0], std: [1, 1, 1] },
};

/** A preset's 3-channel statistics for a grayscale model: their average. */
const forChannels = (values: number[], channels: 1 | 3): number[] =>
  channels === 3 || values.length === 1 ? values : [values.reduce((a, b) => a + b, 0) / values.length];

export function buildInputSpec(model: ProposedInput, choices: PreprocessChoices): InputSpec {
  const preset = PRESET[choices.preset ?? 'stretch'];
  const width = choices.width ?? model.width;
  const height = choices.height ?? model.height;
  if (width === undefined || height === undefined) {
    throw new ImportUsageError(
      `input ${model.name} has a dynamic ${width === undefined ? 'width' : ''}${width === undefined && height === undefined ? ' and ' : ''}${height === undefined ? 'height' : ''}; give ${width === undefined ? '--width' : ''}${width === undefined && height === undefined ? ' and ' : ''}${height === undefined ? '--height' : ''}`,
    );
  }
  if (model.width !== undefined && width !== model.width) throw new ImportUsageError(`--width ${width}: the model's input ${model.name} is fixed at width ${model.width}`);
  if (model.height !== undefined && height !== model.height) throw new ImportUsageError(`--height ${height}: the model's input ${model.name} is fixed at height ${model.height}`);

  const channels = model.channels;
  const uint8 = model.dtype === 'uint8';
  // uint8 models take the raw 0..255 values: no scale or statistics apply.
  const mean = uint8 ? new Array<number>(channels).fill(0) : choices.mean ?? forChannels(preset.mean, channels);
  const std = uint8 ? new Array<number>(channels).fill(1) : choices.std ?? forChannels(preset.std, channels);
  if (uint8 && (choices.mean || choices.std || choices.scale !== undefined)) {
    throw new ImportUsageError(`input ${model.name} is uint8: the model takes raw 0..255 values, so --scale, --mean and --std do not apply`);
  }
  if (mean.length !== channels) throw new ImportUsageError(`--mean has ${mean.length} values; the model's input has ${channels} channel${channels === 1 ? '' : 's'}`);
  if (std.length !== channels) throw new ImportUsageError(`--std has ${std.length} values; the model's input has ${channels} channel${channels === 1 ? '' : 's'}`);

  const resize = choices.resize ?? preset.resize;
  const spec: InputSpec = {
    name: model.name,
    shape: model.layout === 'NCHW' ? [model.batch, channels, height, width] : [model.batch, height, width, channels],
    layout: model.layout,
    channels,
    width,
    height,
    resize,
    kernel: choices.kernel ?? preset.kernel,
    scale: uint8 ? 1 : choices.scale ?? preset.scale,
    mean,
    std,
    dtype: model.dtype,
  };
  if (resize === 'shorter_side_crop') {
    const shorter = choices.resizeShorter ?? (preset.shorter ?? PRESET.imagenet.shorter!)(Math.max(width, height));
    if (shorter < Math.max(width, height)) {
      throw new ImportUsageError(`--resize-shorter ${shorter} is smaller than the ${width}x${height} crop; it must be at least ${Math.max(width, height)}`);
    }
    spec.resize_shorter = shorter;
  } else if (choices.resizeShorter !== undefined) {
    throw new ImportUsageError(`--resize-shorter applies to --resize shorter_side_crop only (resize is ${resize})`);
  }
  const pad = choices.padColor ?? (resize === 'letterbox' ? preset.padColor ?? PRESET.letterbox.padColor : undefined);
  if (pad !== undefined) {
    if (resize !== 'letterbox' && resize !== 'contain') throw new ImportUsageError(`--pad-color applies to --resize letterbox or contain only (resize is ${resize})`);
    spec.pad_color = pad;
  }
  if (choices.channelOrder !== undefined) {
    if (channels === 1 && choices.channelOrder === 'BGR') throw new ImportUsageError(`--channel-order BGR: the model's input ${model.name} has one channel`);
    spec.channel_order = choices.channelOrder;
  }
  if (choices.background !== undefined) spec.background = choices.background;
  if (choices.exifOrientation !== undefined) spec.exif_orientation = choices.exifOrientation;
  return spec;
}

export function buildOutputSpec(model: ProposedOutput, kind: OutputSpec['kind']): OutputSpec {
  return { name: model.name, kind, num_classes: model.numClasses };
}

/**
 * What a probe batch's output rows say the output is: rows of non-negative values summing to 1 are
 * probabilities; anything else is taken for logits (sigmoid outputs cannot be told from probabilities of a
 * single row reliably, so they are only chosen by --output-kind).
 */
export function guessOutputKind(rows: readonly ArrayLike<number>[]): 'logits' | 'probabilities' {
  const isDistribution = (row: ArrayLike<number>): boolean => {
    let sum = 0;
    for (let i = 0; i < row.length; i++) {
      const v = row[i]!;
      if (!(v >= 0 && v <= 1)) return false;
      sum += v;
    }
    return Math.abs(sum - 1) < 1e-3;
  };
  return rows.length > 0 && rows.every(isDistribution) ? 'probabilities' : 'logits';
}

/** Labels from a file: one a line, blank lines and surrounding spaces dropped; the count must match the output. */
export function parseLabels(text: string, numClasses: number, source: string): string[] {
  const labels = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (labels.length !== numClasses) {
    throw new ImportUsageError(`${source} has ${labels.length} label${labels.length === 1 ? '' : 's'}; the model's output has ${numClasses} classes (one label a line, in class-index order)`);
  }
  return labels;
}

/** Labels an exporter left in the ONNX metadata (PaddleOCR's and RapidAI's 'character'), if they fit. */
export function metadataLabels(metadata: Record<string, string>, numClasses: number): string[] | undefined {
  for (const key of ['labels', 'classes', 'character']) {
    const value = metadata[key];
    if (value === undefined) continue;
    const labels = value.split(/\r?\n|,/).map((l) => l.trim()).filter((l) => l !== '');
    if (labels.length === numClasses) return labels;
  }
  return undefined;
}
