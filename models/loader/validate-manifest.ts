/**
 * Checks a parsed manifest.json against the ModelManifest contract (models/manifest.ts) and reports
 * every problem at once, each naming its field, so a bad manifest is fixed in one go.
 */
import { PipelineError } from '../../platform/errors.ts';
import { PRECISIONS, type HistogramReference, type ModelManifest } from '../manifest.ts';

type Json = Record<string, unknown>;

class Checker {
  readonly problems: string[] = [];

  fail(field: string, expected: string, value: unknown): void {
    this.problems.push(`${field} must be ${expected} (got ${describe(value)})`);
  }

  object(value: unknown, field: string): Json | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
    this.fail(field, 'an object', value);
    return undefined;
  }

  string(value: unknown, field: string, { empty = false } = {}): void {
    if (typeof value !== 'string' || (!empty && value.trim() === '')) this.fail(field, empty ? 'a string' : 'a non-empty string', value);
  }

  number(value: unknown, field: string, { min = -Infinity, max = Infinity, integer = false } = {}): void {
    const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value));
    if (!ok) {
      const range = [min > -Infinity ? `>= ${min}` : '', max < Infinity ? `<= ${max}` : ''].filter(Boolean).join(' and ');
      this.fail(field, `${integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`, value);
    }
  }

  sha256(value: unknown, field: string): void {
    if (typeof value !== 'string' || !/^[0-9a-f]{64}$/i.test(value)) this.fail(field, '64 hexadecimal characters', value);
  }

  oneOf(value: unknown, field: string, allowed: readonly unknown[]): void {
    if (!allowed.includes(value)) this.fail(field, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  }

  numberArray(value: unknown, field: string, length?: number): number[] | undefined {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isFinite(v)) || (length !== undefined && value.length !== length)) {
      this.fail(field, length === undefined ? 'an array of numbers' : `an array of ${length} numbers`, value);
      return undefined;
    }
    return value as number[];
  }

  histogram(value: unknown, field: string): void {
    const h = this.object(value, field) as Partial<Record<keyof HistogramReference, unknown>> | undefined;
    if (!h) return;
    const edges = this.numberArray(h.edges, `${field}.edges`);
    if (edges && (edges.length < 2 || edges.some((e, i) => i > 0 && e <= (edges[i - 1] as number)))) {
      this.fail(`${field}.edges`, 'at least 2 strictly increasing numbers', edges);
    }
    if (edges) this.distribution(h.probabilities, `${field}.probabilities`, edges.length - 1);
  }

  distribution(value: unknown, field: string, length: number): void {
    const p = this.numberArray(value, field, length);
    if (p && (p.some((x) => x < 0) || Math.abs(p.reduce((a, b) => a + b, 0) - 1) > 1e-3)) {
      this.fail(field, 'non-negative shares summing to 1', p);
    }
  }
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return 'nothing';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function validateManifest(raw: unknown, source: string): ModelManifest {
  const c = new Checker();
  const m = c.object(raw, 'manifest');
  if (m) checkManifest(c, m);
  if (c.problems.length > 0) {
    throw new PipelineError(
      'inference',
      'SchemaError',
      `Model manifest ${source} is invalid; fix these fields (contract: models/manifest.ts):\n  - ${c.problems.join('\n  - ')}`,
    );
  }
  return raw as ModelManifest;
}

function checkManifest(c: Checker, m: Json): void {
  for (const field of ['name', 'version', 'created_at', 'architecture'] as const) c.string(m[field], field);
  c.string(m.description, 'description', { empty: true });
  c.string(m.file, 'file');
  if (typeof m.file === 'string' && (/[/\\]/.test(m.file) || m.file === '.' || m.file === '..')) {
    c.fail('file', 'a plain file name next to the manifest', m.file);
  }
  c.sha256(m.sha256, 'sha256');

  const framework = c.object(m.framework, 'framework');
  if (framework) {
    c.string(framework.exporter, 'framework.exporter');
    c.number(framework.opset, 'framework.opset', { min: 1, integer: true });
  }

  if (m.precision !== undefined) c.oneOf(m.precision, 'precision', PRECISIONS);

  const output = c.object(m.output, 'output');
  if (output) {
    c.string(output.name, 'output.name');
    c.oneOf(output.kind, 'output.kind', ['logits', 'probabilities']);
    c.number(output.num_classes, 'output.num_classes', { min: 1, integer: true });
  }
  const classes = typeof output?.num_classes === 'number' ? output.num_classes : undefined;

  const input = c.object(m.input, 'input');
  if (input) checkInput(c, input);

  if (!Array.isArray(m.labels) || !m.labels.every((l) => typeof l === 'string') || (classes !== undefined && m.labels.length !== classes)) {
    c.fail('labels', `an array of ${classes ?? 'output.num_classes'} strings`, m.labels);
  }

  const lineage = c.object(m.lineage, 'lineage');
  if (lineage) {
    for (const field of ['dataset', 'training_script', 'code_revision'] as const) c.string(lineage[field], `lineage.${field}`);
    for (const field of ['seed', 'epochs', 'train_samples', 'validation_samples'] as const) {
      c.number(lineage[field], `lineage.${field}`, { min: 0, integer: true });
    }
    c.object(lineage.dataset_files, 'lineage.dataset_files');
    if (lineage.quantized_from !== undefined) {
      const parent = c.object(lineage.quantized_from, 'lineage.quantized_from');
      if (parent) {
        c.string(parent.version, 'lineage.quantized_from.version');
        c.sha256(parent.sha256, 'lineage.quantized_from.sha256');
      }
    }
  }

  const metrics = c.object(m.metrics, 'metrics');
  if (metrics) {
    c.number(metrics.test_accuracy, 'metrics.test_accuracy', { min: 0, max: 1 });
    c.number(metrics.validation_accuracy, 'metrics.validation_accuracy', { min: 0, max: 1 });
    c.number(metrics.test_samples, 'metrics.test_samples', { min: 0, integer: true });
    c.object(metrics.per_class_accuracy, 'metrics.per_class_accuracy');
  }

  const reference = c.object(m.reference, 'reference');
  if (reference) {
    c.string(reference.source, 'reference.source');
    c.number(reference.samples, 'reference.samples', { min: 0, integer: true });
    const predicted = c.object(reference.predicted_class, 'reference.predicted_class');
    if (predicted && classes !== undefined) c.distribution(predicted.probabilities, 'reference.predicted_class.probabilities', classes);
    for (const field of ['confidence', 'brightness', 'contrast'] as const) c.histogram(reference[field], `reference.${field}`);
  }
}

function checkInput(c: Checker, input: Json): void {
  c.string(input.name, 'input.name');
  c.oneOf(input.layout, 'input.layout', ['NCHW', 'NHWC']);
  c.oneOf(input.channels, 'input.channels', [1, 3]);
  c.number(input.width, 'input.width', { min: 1, integer: true });
  c.number(input.height, 'input.height', { min: 1, integer: true });
  c.oneOf(input.resize, 'input.resize', ['fill', 'cover', 'contain']);
  c.oneOf(input.kernel, 'input.kernel', ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3']);
  c.number(input.scale, 'input.scale', { min: Number.MIN_VALUE });
  c.oneOf(input.dtype, 'input.dtype', ['float32']);
  const channels = input.channels === 1 || input.channels === 3 ? input.channels : undefined;
  c.numberArray(input.mean, 'input.mean', channels);
  const std = c.numberArray(input.std, 'input.std', channels);
  if (std?.some((s) => s <= 0)) c.fail('input.std', 'positive numbers', std);

  const shape = c.numberArray(input.shape, 'input.shape', 4);
  if (shape && channels !== undefined) {
    const { width, height } = input;
    const expected = input.layout === 'NHWC' ? [-1, height, width, channels] : [-1, channels, height, width];
    const dynamicBatch = shape[0] === -1 || (typeof shape[0] === 'number' && shape[0] > 0);
    if (!dynamicBatch || shape.slice(1).some((d, i) => d !== expected[i + 1])) {
      c.fail('input.shape', `[-1, ${expected.slice(1).join(', ')}] for layout ${String(input.layout)}`, shape);
    }
  }
}
