import { describe, expect, it } from 'vitest';
import { parseManifestJson } from '../../../models/loader/parse-manifest.ts';
import { precisionOf, type InputSpec, type ModelManifest } from '../../../models/manifest.ts';
import { validateManifest } from '../../../models/loader/validate-manifest.ts';
import { PipelineError } from '../../../platform/errors.ts';
import { validManifest } from './fixtures.ts';

function problems(raw: unknown): string {
  try {
    validateManifest(raw, 'fixture/manifest.json');
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineError);
    expect(err).toMatchObject({ stage: 'inference', errorClass: 'SchemaError' });
    return (err as Error).message;
  }
  throw new Error('expected the manifest to be refused');
}

describe('validateManifest', () => {
  it('accepts a complete manifest and returns it typed', () => {
    const manifest = validManifest();
    expect(validateManifest(manifest, 'x')).toBe(manifest);
    expect(validateManifest(validManifest({ input: { ...manifest.input, layout: 'NHWC', shape: [-1, 28, 28, 1] } }), 'x').input.layout).toBe('NHWC');
  });

  it('names the source and every bad field at once', () => {
    const m = validManifest() as unknown as Record<string, unknown>;
    m.sha256 = 'abc';
    delete m.version;
    m.input = { ...(m.input as object), channels: 4 };
    const message = problems(m);
    expect(message).toContain('fixture/manifest.json');
    expect(message).toMatch(/sha256 must be 64 hexadecimal characters \(got "abc"\)/);
    expect(message).toMatch(/version must be a non-empty string \(got nothing\)/);
    expect(message).toMatch(/input\.channels must be one of 1, 3 \(got 4\)/);
  });

  it('takes an optional precision, fp32 when absent, and refuses an unknown one', () => {
    const base = validManifest();
    expect(precisionOf(validateManifest(base, 'x'))).toBe('fp32');
    expect(precisionOf(validateManifest(validManifest({ precision: 'int8' }), 'x'))).toBe('int8');
    expect(problems({ ...base, precision: 'int4' })).toMatch(/precision must be one of "fp32", "int8", "fp16" \(got "int4"\)/);
  });

  it('checks where a quantized model came from', () => {
    const base = validManifest();
    const derived = { ...base.lineage, quantized_from: { version: 'v2', sha256: 'b'.repeat(64) } };
    expect(validateManifest(validManifest({ lineage: derived }), 'x').lineage?.quantized_from?.version).toBe('v2');
    expect(problems(validManifest({ lineage: { ...derived, quantized_from: { version: '', sha256: 'nope' } } }))).toMatch(
      /lineage\.quantized_from\.version must be a non-empty string[\s\S]*lineage\.quantized_from\.sha256 must be 64 hexadecimal characters/,
    );
  });

  it('checks the input shape against layout, channels and size', () => {
    const base = validManifest();
    expect(problems(validManifest({ input: { ...base.input, shape: [-1, 28, 28, 1] } }))).toMatch(/input\.shape must be \[-1 or a fixed batch size, 1, 28, 28\] for layout NCHW/);
    expect(validateManifest(validManifest({ input: { ...base.input, shape: [1, 1, 28, 28] } }), 'x').input.shape[0]).toBe(1);
    expect(problems(validManifest({ input: { ...base.input, shape: [0.5, 1, 28, 28] } }))).toMatch(/input\.shape must be/);
  });

  it('takes the preprocessing fields of imported models, each checked and named', () => {
    const base = validManifest();
    const rgb = { ...base.input, shape: [-1, 3, 224, 224], channels: 3 as const, width: 224, height: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    const imagenet = { ...rgb, resize: 'shorter_side_crop' as const, resize_shorter: 256, channel_order: 'BGR' as const, dtype: 'float16' as const, background: [255, 255, 255] as [number, number, number], exif_orientation: false };
    expect(validateManifest(validManifest({ input: imagenet }), 'x').input).toEqual(imagenet);
    expect(validateManifest(validManifest({ input: { ...rgb, resize: 'letterbox', pad_color: [114, 114, 114] } }), 'x').input.pad_color).toEqual([114, 114, 114]);
    const message = problems(validManifest({
      input: { ...rgb, resize: 'shorter_side_crop', resize_shorter: 200, channel_order: 'GBR', dtype: 'int8', background: [0, 0, 256], exif_orientation: 'yes' } as never,
    }));
    expect(message).toMatch(/input\.resize_shorter must be an integer >= 224 \(got 200\)/);
    expect(message).toMatch(/input\.channel_order must be one of "RGB", "BGR" \(got "GBR"\)/);
    expect(message).toMatch(/input\.dtype must be one of "float32", "float16", "uint8" \(got "int8"\)/);
    expect(message).toMatch(/input\.background must be an array of 3 integers 0\.\.255/);
    expect(message).toMatch(/input\.exif_orientation must be true or false \(got "yes"\)/);
    expect(problems(validManifest({ input: { ...rgb, resize: 'shorter_side_crop' } }))).toMatch(/input\.resize_shorter must be an integer >= 224 \(got nothing\)/);
    expect(problems(validManifest({ input: { ...rgb, resize_shorter: 256 } }))).toMatch(/input\.resize_shorter must be absent unless input\.resize is "shorter_side_crop"/);
    expect(problems(validManifest({ input: { ...rgb, resize: 'cover', pad_color: [1, 2, 3] } }))).toMatch(/input\.pad_color must be absent unless input\.resize is "contain" or "letterbox"/);
    expect(problems(validManifest({ input: { ...rgb, resize: 'stretch' } as never }))).toMatch(/input\.resize must be one of "fill", "cover", "contain", "letterbox", "shorter_side_crop"/);
  });

  it('takes a uint8 input without normalisation (or the identity), and refuses any other', () => {
    const base = validManifest();
    const raw: InputSpec = { ...base.input };
    delete raw.scale;
    delete raw.mean;
    delete raw.std;
    expect(validateManifest(validManifest({ input: { ...raw, dtype: 'uint8' } }), 'x').input.dtype).toBe('uint8');
    expect(validateManifest(validManifest({ input: { ...raw, dtype: 'uint8', scale: 1, mean: [0], std: [1] } }), 'x').input.scale).toBe(1);
    expect(problems(validManifest({ input: { ...base.input, dtype: 'uint8' } }))).toMatch(
      /input\.scale must be absent \(or 1\) for dtype "uint8"[\s\S]*input\.mean must be absent \(or 0\)[\s\S]*input\.std must be absent \(or 1\)/,
    );
    expect(problems(validManifest({ input: { ...raw, dtype: 'float16' } }))).toMatch(/input\.scale must be a number >= 5e-324 \(got nothing\)/);
  });

  it('takes an imported model: provenance instead of lineage, no metrics, no reference; and a sigmoid output', () => {
    const rest: ModelManifest = validManifest();
    delete rest.lineage;
    delete rest.metrics;
    delete rest.reference;
    const provenance = { source: 'pypi:some-model==1.0', licence: 'MIT', sha256: 'c'.repeat(64), imported_at: '2026-01-01T00:00:00Z', importer: 'model import' };
    const imported = { ...rest, provenance, output: { ...rest.output, kind: 'sigmoid' as const } };
    expect(validateManifest(imported, 'x')).toBe(imported);
    expect(problems(rest)).toMatch(/lineage must be present when provenance is absent/);
    expect(problems({ ...imported, provenance: { ...provenance, licence: '', sha256: 'x' } })).toMatch(
      /provenance\.licence must be a non-empty string[\s\S]*provenance\.sha256 must be 64 hexadecimal characters/,
    );
    expect(problems({ ...imported, output: { ...imported.output, kind: 'softmax' } })).toMatch(/output\.kind must be one of "logits", "probabilities", "sigmoid"/);
  });

  it('requires one label per class and mean/std per channel', () => {
    const base = validManifest();
    expect(problems(validManifest({ labels: ['a'] }))).toMatch(/labels must be an array of 10 strings/);
    expect(problems(validManifest({ input: { ...base.input, mean: [0.1, 0.2] } }))).toMatch(/input\.mean must be an array of 1 numbers/);
    expect(problems(validManifest({ input: { ...base.input, std: [0] } }))).toMatch(/input\.std must be positive numbers/);
  });

  it('refuses a model file outside the manifest directory', () => {
    expect(problems(validManifest({ file: '../other/model.onnx' }))).toMatch(/file must be a plain file name next to the manifest/);
  });

  it('checks reference histograms', () => {
    const base = validManifest();
    const reference = { ...base.reference, brightness: { edges: [0, 0.5, 0.4], probabilities: [0.5, 0.5] } };
    expect(problems(validManifest({ reference }))).toMatch(/reference\.brightness\.edges must be at least 2 strictly increasing numbers/);
    const skewed = { ...base.reference, predicted_class: { probabilities: Array(10).fill(0.5) } };
    expect(problems(validManifest({ reference: skewed }))).toMatch(/reference\.predicted_class\.probabilities must be non-negative shares summing to 1/);
  });

  it('refuses JSON that is not an object, and text that is not JSON', () => {
    expect(problems([])).toMatch(/manifest must be an object/);
    expect(() => parseManifestJson('{ nope', 'm.json')).toThrow(/m\.json is not valid JSON/);
  });
});
