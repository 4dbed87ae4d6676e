/**
 * The model import command on tiny ONNX files: what it refuses (not an image model, bad flags, labels that do
 * not match, a dynamic size left open) with messages naming what it found and expected, and what it writes.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../../models/manifest.ts';
import { parseModelArgs, type ImportCommand } from '../../../models/import/args.ts';
import { importModel } from '../../../models/import/import-model.ts';
import { NotAnImageModel } from '../../../models/import/inspect.ts';
import { ImportUsageError } from '../../../models/import/spec.ts';
import { silentLogger } from '../inference/fixtures.ts';
import { ELEM, tinyOnnx, type TinyModel } from './import-onnx-fixtures.ts';

let dir: string;
const lines: string[] = [];
const deps = { say: (l: string) => void lines.push(l), logger: silentLogger, s3: () => { throw new Error('no S3 in unit tests'); } };

async function model(name: string, m: TinyModel): Promise<string> {
  const file = join(dir, `${name}.onnx`);
  await writeFile(file, tinyOnnx(m));
  return file;
}

const image = { input: { shape: ['batch', 3, 8, 8] }, outputShape: ['batch', 3] } satisfies TinyModel;

function command(file: string, ...flags: string[]): ImportCommand {
  const cmd = parseModelArgs(['import', file, '--name', 'tiny', '--version', 'v1', '--out', join(dir, 'out', file.split('/').at(-1)!), ...flags]);
  if (cmd.command !== 'import') throw new Error('expected an import command');
  return cmd;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'model-import-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('import refuses what is not an image classifier', () => {
  it('names the rank it found and the one expected', async () => {
    const file = await model('rank2', { input: { shape: ['batch', 10] }, axes: [1], outputShape: ['batch'] });
    const err = await importModel(command(file), deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotAnImageModel);
    expect((err as Error).message).toMatch(/input x float32 \[batch, 10\] has rank 2; expected a batch of images of rank 4/);
  });

  it('names the channel dimensions it found when neither is 1 or 3', async () => {
    const file = await model('channels5', { input: { shape: ['batch', 5, 8, 8] }, outputShape: ['batch', 5] });
    await expect(importModel(command(file), deps)).rejects.toThrow(/neither dimension 1 \(5\) nor dimension 3 \(8\) is 1 or 3; expected grayscale or RGB/);
  });

  it('refuses a non-image element type', async () => {
    const file = await model('int64', { input: { elem: ELEM.int64, shape: ['batch', 3, 8, 8] }, outputShape: ['batch', 3], outputElem: ELEM.int64 });
    await expect(importModel(command(file), deps)).rejects.toThrow(/input x int64 .* is not an image tensor: expected float32, float16 or uint8/);
  });

  it('refuses an output that is not [N, classes]', async () => {
    const file = await model('spatial', { input: { shape: ['batch', 3, 8, 8] }, axes: [1], outputShape: ['batch', 8, 8] });
    await expect(importModel(command(file), deps)).rejects.toThrow(/output scores float32 \[batch, 8, 8\] is not a classifier's: expected class scores of shape \[N, classes\]/);
  });

  it('asks which input when there are several', async () => {
    const file = await model('two-inputs', { ...image, extraInput: true });
    await expect(importModel(command(file), deps)).rejects.toThrow(/the model has 2 inputs .*name the one to use with --input/);
  });

  it('refuses a file that is not ONNX at all', async () => {
    const file = join(dir, 'text.onnx');
    await writeFile(file, 'hello, not a model');
    await expect(importModel(command(file), deps)).rejects.toThrow(NotAnImageModel);
  });
});

describe('import refuses flags that do not fit the model', () => {
  it('a labels file whose count differs from the classes', async () => {
    const file = await model('labels', image);
    const labels = join(dir, 'two-labels.txt');
    await writeFile(labels, 'cat\ndog\n');
    const err = await importModel(command(file, '--labels', labels), deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportUsageError);
    expect((err as Error).message).toMatch(/two-labels.txt has 2 labels; the model's output has 3 classes/);
  });

  it('a dynamic width and height left open', async () => {
    const file = await model('dynamic', { input: { shape: ['batch', 3, 'h', 'w'] }, outputShape: ['batch', 3] });
    await expect(importModel(command(file), deps)).rejects.toThrow(/input x has a dynamic width and height; give --width and --height/);
  });

  it('a width other than the fixed one', async () => {
    const file = await model('fixed', image);
    await expect(importModel(command(file, '--width', '16'), deps)).rejects.toThrow(/--width 16: the model's input x is fixed at width 8/);
  });

  it('mean or std of the wrong length for the channels', async () => {
    const file = await model('gray', { input: { shape: ['batch', 1, 8, 8] }, outputShape: ['batch', 1] });
    await expect(importModel(command(file, '--mean', '0.5,0.5,0.5'), deps)).rejects.toThrow(/--mean has 3 values; the model's input has 1 channel/);
  });

  it('an existing manifest without --force', async () => {
    const file = await model('twice', image);
    await importModel(command(file), deps);
    await expect(importModel(command(file), deps)).rejects.toThrow(/manifest.json exists: choose another --version or --out, or --force/);
    await expect(importModel(command(file, '--force'), deps)).resolves.toBeDefined();
  });
});

describe('parseModelArgs', () => {
  const base = ['import', 'm.onnx', '--name', 'x', '--version', 'v1'];
  it.each([
    [['import', 'm.onnx', '--bogus'], /Unknown option '--bogus'/],
    [['import', 'm.onnx', '--version', 'v1'], /needs --name and --version/],
    [[...base, '--preset', 'yolo'], /--preset yolo: expected one of imagenet, letterbox, stretch/],
    [[...base, '--pad-color', '300,0,0'], /--pad-color 300,0,0: expected R,G,B with integers from 0 to 255/],
    [[...base, '--std', '0.5,0,0.5'], /--std 0.5,0,0.5: expected 1 or 3 comma-separated positive numbers/],
    [[...base, '--width=-3'], /--width -3: expected an integer from 1/],
    [[...base, '--width', '2.5'], /--width 2.5: expected an integer from 1/],
    [[...base, '--min-agreement', '2'], /--min-agreement 2: expected a number from 0 to 1/],
    [[...base, '--parity', 'p.jsonl'], /--parity needs --samples/],
    [['import', 'm.onnx', '--name', '../x', '--version', 'v1'], /--name "..\/x": use letters, digits/],
    [['deploy', 'm.onnx'], /unknown command deploy: expected import or fetch/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseModelArgs(argv)).toThrow(ImportUsageError);
    expect(() => parseModelArgs(argv)).toThrow(message);
  });

  it('answers --help and no arguments with help', () => {
    expect(parseModelArgs(['--help'])).toEqual({ command: 'help' });
    expect(parseModelArgs([])).toEqual({ command: 'help' });
  });
});

describe('import writes a manifest the serving loader accepts', () => {
  it('without samples: provenance, labels from the ONNX metadata, no reference, and says the monitor learns one', async () => {
    lines.length = 0;
    const file = await model('meta', { ...image, metadata: { character: 'red\ngreen\nblue' } });
    const result = await importModel(command(file, '--preset', 'imagenet', '--source', 'a test', '--licence', 'MIT'), deps);
    const written = JSON.parse(await readFile(join(result.dir, 'manifest.json'), 'utf8')) as ModelManifest;
    expect(written.labels).toEqual(['red', 'green', 'blue']);
    expect(written.reference).toBeUndefined();
    expect(written.lineage).toBeUndefined();
    expect(written.provenance).toMatchObject({ source: 'a test', licence: 'MIT', sha256: written.sha256 });
    expect(written.framework).toEqual({ exporter: 'imgpipe-test 1', opset: 13 });
    expect(written.input).toMatchObject({ resize: 'shorter_side_crop', resize_shorter: 9, mean: [0.485, 0.456, 0.406], width: 8, height: 8 });
    expect(written.output.kind).toBe('logits');
    expect(lines.join('\n')).toMatch(/learns one from the first live predictions/);
  });

  it('with samples: a reference computed through serving, and parity that fails exit-worthy on a wrong expectation', async () => {
    const samples = join(dir, 'samples');
    await mkdir(samples, { recursive: true });
    // Red, green and blue images: the tiny model's top class is the brightest channel.
    const colours = [[250, 10, 10], [10, 250, 10], [10, 10, 250], [240, 20, 20]] as const;
    await Promise.all(colours.map(([r, g, b], i) => sharp({ create: { width: 12, height: 10, channels: 3, background: { r, g, b } } }).png().toFile(join(samples, `c${i}.png`))));
    const parity = join(dir, 'expected.jsonl');
    const expected = ['red', 'green', 'blue', 'blue'].map((top1, i) => JSON.stringify({ image: `c${i}.png`, top1, score: 0.5 }));
    await writeFile(parity, `${expected.join('\n')}\n`);
    const labels = join(dir, 'rgb.txt');
    await writeFile(labels, 'red\ngreen\nblue\n');
    const file = await model('rgb', image);
    lines.length = 0;
    const result = await importModel(command(file, '--labels', labels, '--samples', samples, '--parity', parity, '--output-kind', 'logits'), deps);
    expect(result.manifest.reference?.samples).toBe(4);
    expect(result.manifest.reference?.predicted_class.probabilities).toEqual([0.5, 0.25, 0.25]);
    expect(result.manifest.reference?.source).toMatch(/^samples: .*samples, 4 images/);
    expect(result.parity).toMatchObject({ compared: 4, agreed: 3, passed: false });
    expect(lines.join('\n')).toMatch(/parity: 3\/4 top-1 agree \(75.00 %.*\n.*c3.png: expected blue/);
  });
});

describe('a model exported with a fixed batch of 1', () => {
  it('keeps the fixed batch in the manifest and scores samples through serving in slices', async () => {
    const samples = join(dir, 'fixed-samples');
    await mkdir(samples, { recursive: true });
    await Promise.all([0, 1, 2].map((i) => sharp({ create: { width: 9, height: 9, channels: 3, background: { r: i === 0 ? 200 : 0, g: i === 1 ? 200 : 0, b: i === 2 ? 200 : 0 } } }).png().toFile(join(samples, `s${i}.png`))));
    const file = await model('batch1', { input: { shape: [1, 3, 8, 8] }, outputShape: [1, 3] });
    const result = await importModel(command(file, '--samples', samples, '--batch-size', '4'), deps);
    expect(result.manifest.input.shape).toEqual([1, 3, 8, 8]);
    expect(result.manifest.reference?.predicted_class.probabilities).toEqual([1 / 3, 1 / 3, 1 / 3]);
  });
});

describe('the CLI process', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'models/import/cli.ts', ...args], { encoding: 'utf8' });

  it('answers --help with the usage and an example on stdout, exit code 0', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: npm run model -- import [\s\S]*\nexample:\n {2}npm run model -- /);
  });

  it('answers an unknown option with the usage and exit code 2', () => {
    const r = cli(['import', 'x.onnx', '--name', 'a', '--version', 'v1', '--frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^Unknown option '--frobnicate'\.\nusage: npm run model -- [\s\S]*example:/);
    expect(r.stdout).toBe('');
  });

  it('answers a model that is not an image model with exit code 1 and what it found', async () => {
    const file = await model('cli-rank2', { input: { shape: ['batch', 10] }, axes: [1], outputShape: ['batch'] });
    const r = cli(['import', file, '--name', 'a', '--version', 'v1', '--out', join(dir, 'cli-out')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not an image model: input x float32 \[batch, 10\] has rank 2/);
  });
});
