import { describe, expect, it } from 'vitest';
import { parseManifestJson } from '../../../models/loader/parse-manifest.ts';
import { precisionOf } from '../../../models/manifest.ts';
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
    expect(validateManifest(validManifest({ lineage: derived }), 'x').lineage.quantized_from?.version).toBe('v2');
    expect(problems(validManifest({ lineage: { ...derived, quantized_from: { version: '', sha256: 'nope' } } }))).toMatch(
      /lineage\.quantized_from\.version must be a non-empty string[\s\S]*lineage\.quantized_from\.sha256 must be 64 hexadecimal characters/,
    );
  });

  it('checks the input shape against layout, channels and size', () => {
    const base = validManifest();
    expect(problems(validManifest({ input: { ...base.input, shape: [-1, 28, 28, 1] } }))).toMatch(/input\.shape must be \[-1, 1, 28, 28\] for layout NCHW/);
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
