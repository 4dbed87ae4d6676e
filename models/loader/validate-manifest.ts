/**
 * Checks a parsed manifest.json against the ModelManifest contract (models/manifest.ts) and reports
 * every problem at once, each naming its field, so a bad manifest is fixed in one go.
 */
import { PipelineError } from '../../platform/errors.ts';
import { CORRECTNESS_FEATURES, INPUT_DTYPES, OUTPUT_KINDS, PRECISIONS, RESIZE_MODES, type HistogramReference, type ModelManifest } from '../manifest.ts';

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

  /** An 8-bit colour: three integers 0..255. */
  rgb(value: unknown, field: string): void {
    if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
      this.fail(field, 'an array of 3 integers 0..255 ([r, g, b])', value);
    }
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
    c.oneOf(output.kind, 'output.kind', OUTPUT_KINDS);
    c.number(output.num_classes, 'output.num_classes', { min: 1, integer: true });
  }
  const classes = typeof output?.num_classes === 'number' ? output.num_classes : undefined;

  const input = c.object(m.input, 'input');
  if (input) checkInput(c, input);

  if (!Array.isArray(m.labels) || !m.labels.every((l) => typeof l === 'string') || (classes !== undefined && m.labels.length !== classes)) {
    c.fail('labels', `an array of ${classes ?? 'output.num_classes'} strings`, m.labels);
  }

  // Trained models carry their lineage, imported ones their provenance; at least one says where the model came from.
  if (m.lineage === undefined && m.provenance === undefined) c.fail('lineage', 'present when provenance is absent (one of them says where the model came from)', undefined);
  if (m.lineage !== undefined) checkLineage(c, m.lineage);
  if (m.provenance !== undefined) {
    const provenance = c.object(m.provenance, 'provenance');
    if (provenance) {
      for (const field of ['source', 'licence', 'imported_at', 'importer'] as const) c.string(provenance[field], `provenance.${field}`);
      c.sha256(provenance.sha256, 'provenance.sha256');
      if (provenance.notes !== undefined) c.string(provenance.notes, 'provenance.notes', { empty: true });
    }
  }

  if (m.metrics !== undefined) {
    const metrics = c.object(m.metrics, 'metrics');
    if (metrics) {
      c.number(metrics.test_accuracy, 'metrics.test_accuracy', { min: 0, max: 1 });
      c.number(metrics.validation_accuracy, 'metrics.validation_accuracy', { min: 0, max: 1 });
      c.number(metrics.test_samples, 'metrics.test_samples', { min: 0, integer: true });
      c.object(metrics.per_class_accuracy, 'metrics.per_class_accuracy');
    }
  }

  if (m.reference !== undefined) checkReference(c, m.reference, classes);
  if (m.calibration !== undefined) checkCalibration(c, m.calibration, output?.kind, classes);
}

function checkCalibration(c: Checker, value: unknown, kind: unknown, classes: number | undefined): void {
  const calibration = c.object(value, 'calibration');
  if (!calibration) return;
  c.oneOf(calibration.method, 'calibration.method', ['temperature']);
  c.number(calibration.temperature, 'calibration.temperature', { min: Number.MIN_VALUE });
  c.string(calibration.source, 'calibration.source');
  c.number(calibration.samples, 'calibration.samples', { min: 1, integer: true });
  for (const field of ['test_ece_before', 'test_ece_after'] as const) {
    if (calibration[field] !== undefined) c.number(calibration[field], `calibration.${field}`, { min: 0, max: 1 });
  }
  if (calibration.scores_top_k !== undefined) c.number(calibration.scores_top_k, 'calibration.scores_top_k', { min: 1, integer: true });
  for (const field of ['validation_accuracy', 'validation_mean_probability', 'atc_max_probability_threshold'] as const) {
    if (calibration[field] !== undefined) c.number(calibration[field], `calibration.${field}`, { min: 0, max: 1 });
  }
  // Σ q log q of a distribution lies in [−log(classes), 0].
  if (calibration.atc_negative_entropy_threshold !== undefined) c.number(calibration.atc_negative_entropy_threshold, 'calibration.atc_negative_entropy_threshold', { max: 0 });
  if (calibration.correctness !== undefined) checkCorrectness(c, calibration.correctness, classes);
  // Independent sigmoid scores have no single top-1 probability to rescale.
  if (kind === 'sigmoid') c.fail('calibration', 'absent for output.kind "sigmoid" (temperature scaling calibrates a softmax)', value);
}

function checkCorrectness(c: Checker, value: unknown, classes: number | undefined): void {
  const model = c.object(value, 'calibration.correctness');
  if (!model) return;
  c.oneOf(model.method, 'calibration.correctness.method', ['logistic']);
  c.number(model.intercept, 'calibration.correctness.intercept');
  if (!Array.isArray(model.features) || !model.features.every((f) => (CORRECTNESS_FEATURES as readonly unknown[]).includes(f))) {
    c.fail('calibration.correctness.features', `an array of ${CORRECTNESS_FEATURES.join(', ')}`, model.features);
  }
  if (!Array.isArray(model.terms) || model.terms.length === 0) {
    c.fail('calibration.correctness.terms', 'a non-empty array', model.terms);
  } else {
    model.terms.forEach((t: unknown, i: number) => {
      const field = `calibration.correctness.terms[${i}]`;
      const term = c.object(t, field);
      if (!term) return;
      c.oneOf(term.feature, `${field}.feature`, CORRECTNESS_FEATURES);
      if (term.times !== undefined) c.oneOf(term.times, `${field}.times`, CORRECTNESS_FEATURES);
      if (term.hinge_at !== undefined) c.number(term.hinge_at, `${field}.hinge_at`);
      c.number(term.coefficient, `${field}.coefficient`);
    });
  }
  c.numberArray(model.class_offsets, 'calibration.correctness.class_offsets', classes);
  if (model.samples !== undefined) c.number(model.samples, 'calibration.correctness.samples', { min: 1, integer: true });
  if (model.source !== undefined) c.string(model.source, 'calibration.correctness.source');
}

function checkLineage(c: Checker, value: unknown): void {
  const lineage = c.object(value, 'lineage');
  if (!lineage) return;
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

function checkReference(c: Checker, value: unknown, classes: number | undefined): void {
  const reference = c.object(value, 'reference');
  if (!reference) return;
  c.string(reference.source, 'reference.source');
  c.number(reference.samples, 'reference.samples', { min: 0, integer: true });
  const predicted = c.object(reference.predicted_class, 'reference.predicted_class');
  if (predicted && classes !== undefined) c.distribution(predicted.probabilities, 'reference.predicted_class.probabilities', classes);
  for (const field of ['confidence', 'brightness', 'contrast'] as const) c.histogram(reference[field], `reference.${field}`);
}

function checkInput(c: Checker, input: Json): void {
  c.string(input.name, 'input.name');
  c.oneOf(input.layout, 'input.layout', ['NCHW', 'NHWC']);
  c.oneOf(input.channels, 'input.channels', [1, 3]);
  c.number(input.width, 'input.width', { min: 1, integer: true });
  c.number(input.height, 'input.height', { min: 1, integer: true });
  c.oneOf(input.kernel, 'input.kernel', ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3']);
  checkGeometry(c, input);
  if (input.channel_order !== undefined) c.oneOf(input.channel_order, 'input.channel_order', ['RGB', 'BGR']);
  if (input.background !== undefined) c.rgb(input.background, 'input.background');
  if (input.exif_orientation !== undefined && typeof input.exif_orientation !== 'boolean') c.fail('input.exif_orientation', 'true or false', input.exif_orientation);
  c.oneOf(input.dtype, 'input.dtype', INPUT_DTYPES);
  const channels = input.channels === 1 || input.channels === 3 ? input.channels : undefined;
  checkNormalisation(c, input, channels);

  const shape = c.numberArray(input.shape, 'input.shape', 4);
  if (shape && channels !== undefined) {
    const { width, height } = input;
    const expected = input.layout === 'NHWC' ? [-1, height, width, channels] : [-1, channels, height, width];
    const batchOk = shape[0] === -1 || (Number.isInteger(shape[0]) && (shape[0] as number) > 0);
    if (!batchOk || shape.slice(1).some((d, i) => d !== expected[i + 1])) {
      c.fail('input.shape', `[-1 or a fixed batch size, ${expected.slice(1).join(', ')}] for layout ${String(input.layout)}`, shape);
    }
  }
}

/** The resize mode and the fields that only some modes take (a field the mode ignores is a mistake, so refused). */
function checkGeometry(c: Checker, input: Json): void {
  c.oneOf(input.resize, 'input.resize', RESIZE_MODES);
  if (input.resize === 'shorter_side_crop') {
    const crop = Math.max(Number(input.width) || 0, Number(input.height) || 0);
    c.number(input.resize_shorter, 'input.resize_shorter', { min: Math.max(1, crop), integer: true });
  } else if (input.resize_shorter !== undefined) {
    c.fail('input.resize_shorter', 'absent unless input.resize is "shorter_side_crop"', input.resize_shorter);
  }
  if (input.pad_color !== undefined) {
    if (input.resize === 'contain' || input.resize === 'letterbox') c.rgb(input.pad_color, 'input.pad_color');
    else c.fail('input.pad_color', 'absent unless input.resize is "contain" or "letterbox"', input.pad_color);
  }
}

/** float inputs are (x / scale - mean) / std; a uint8 input carries the raw pixels, so it takes no normalisation (or the identity). */
function checkNormalisation(c: Checker, input: Json, channels: 1 | 3 | undefined): void {
  if (input.dtype === 'uint8') {
    const identity = (field: 'scale' | 'mean' | 'std', value: number): void => {
      const v = input[field];
      if (v !== undefined && !(Array.isArray(v) ? v.length === channels && v.every((x) => x === value) : v === value)) {
        c.fail(`input.${field}`, `absent (or ${value}) for dtype "uint8": a uint8 input takes the raw 0..255 pixel values`, v);
      }
    };
    identity('scale', 1);
    identity('mean', 0);
    identity('std', 1);
    return;
  }
  c.number(input.scale, 'input.scale', { min: Number.MIN_VALUE });
  c.numberArray(input.mean, 'input.mean', channels);
  const std = c.numberArray(input.std, 'input.std', channels);
  if (std?.some((s) => s <= 0)) c.fail('input.std', 'positive numbers', std);
}
