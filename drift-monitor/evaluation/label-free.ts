/**
 * How well the label-free accuracy estimate tracks true accuracy on shifted Fashion-MNIST test sets, through
 * the real code: images encoded as a producer would send them, decoded and scored by the serving path
 * (models/runtime: preprocessing, one ONNX Runtime call per batch, softmax, top-5), each prediction and its
 * label fed to the drift monitor's analytics (label feedback joined first, so every prediction is labelled),
 * and its DriftReports read back: per window the measured accuracy beside the expected accuracy.
 *
 *   npx tsx drift-monitor/evaluation/label-free.ts [--versions v1,v2] [--shifts none,dark,...] [--limit N] [--window 500] [--goal-fixture PATH]
 *
 * Prints one JSON object: per version and shift the true accuracy, the estimate, their difference in points,
 * and per window the mean and largest absolute difference and how often the window's interval held; and the same
 * differences for every estimator of label-free.ts (ESTIMATORS) side by side, computed from the same predictions
 * over the same windows. On stderr, a markdown table of those (whole-set error and window-level MAE per estimator).
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { MANIFEST_FILE } from '../../models/loader/model-location.ts';
import { parseManifestJson } from '../../models/loader/parse-manifest.ts';
import type { ModelManifest } from '../../models/manifest.ts';
import { allocateBatch } from '../../models/runtime/preprocess/batch-tensor.ts';
import type { ImageQuality } from '../../models/runtime/preprocess/image-quality.ts';
import { preprocessInto } from '../../models/runtime/preprocess/preprocess-image.ts';
import { runBatch } from '../../models/runtime/run-batch.ts';
import { createSession, defaultSessionConfig } from '../../models/runtime/session.ts';
import { readFashionMnist } from '../../scripts/samples/fashion-mnist.ts';
import { applyFeedback, applyPrediction, createDriftState, driftConfig, type DriftContext } from '../analytics/drift-state.ts';
import type { PredictionInput } from '../analytics/events.ts';
import { calibrationOf, estimate, ESTIMATORS, expectedCorrectness, INPUT_DRIFT_METRICS, OUTPUT_DRIFT_METRICS, predictionScores, trafficDrifted, type EstimatorName, type PredictionScores } from '../analytics/label-free.ts';
import type { WindowSummary } from '../analytics/window-summary.ts';
import { loadReferences } from '../service/references.ts';
import { encode, SHIFT_DESCRIPTIONS, SHIFT_NAMES, shiftedItems, type ShiftName, type TestImages } from './shifts.ts';

const MODELS_DIR = fileURLToPath(new URL('../../models/fashion-mnist/', import.meta.url));
const BATCH = 100;
const TOP_K = 5;
const T0 = Date.UTC(2026, 0, 1);

export interface ServedModel {
  manifest: ModelManifest;
  manifestPath: string;
  score(images: Buffer[]): Promise<{ top: { index: number; label: string; score: number }[]; brightness: number; contrast: number; quality: ImageQuality | null }[]>;
  release(): Promise<void>;
}

/** A Fashion-MNIST version from models/fashion-mnist/<version>, scored through the serving path. */
export async function serveModel(version: string): Promise<ServedModel> {
  const dir = join(MODELS_DIR, version);
  const manifestPath = join(dir, MANIFEST_FILE);
  const manifest = parseManifestJson(await readFile(manifestPath, 'utf8'), manifestPath);
  const { session } = await createSession(join(dir, manifest.file), { ...defaultSessionConfig, intraOpThreads: 1 }, pino({ level: 'silent' }));
  const batch = allocateBatch(manifest.input, BATCH);
  return {
    manifest,
    manifestPath,
    async score(images) {
      const out = [];
      for (let start = 0; start < images.length; start += BATCH) {
        const chunk = images.slice(start, start + BATCH);
        const stats = await Promise.all(chunk.map((bytes, slot) => preprocessInto(bytes, manifest.input, batch, slot, { maxPixels: 1_000_000 })));
        const predictions = await runBatch(session, manifest, batch, chunk.length, TOP_K);
        out.push(...predictions.map((p, i) => ({ top: p.top, brightness: stats[i]!.brightness, contrast: stats[i]!.contrast, quality: stats[i]!.quality })));
      }
      return out;
    },
    release: () => session.release(),
  };
}

export interface WindowComparison {
  window_index: number;
  count: number;
  measured: number;
  expected: number;
  low: number;
  high: number;
  /** Input metrics (brightness, contrast) whose PSI against the manifest reference was significant. */
  input_drift: string[];
  /** Output metrics (confidence, predicted class) whose PSI was significant: whether the outputs showed the shift. */
  output_drift: string[];
}

export interface ShiftResult {
  version: string;
  shift: ShiftName;
  description: string;
  images: number;
  /** Accuracy of every prediction against its label. */
  true_accuracy: number;
  /**
   * The drift monitor's expected accuracy over every prediction (label-free): the mean P(correct) of the manifest's
   * correctness model where it has one, else the mean calibrated top-1 probability.
   */
  expected_accuracy: number;
  /** The same with the raw (uncalibrated) top-1 probability. */
  mean_confidence: number;
  /** expected − true, in percentage points. */
  error_points: number;
  windows: WindowComparison[];
  /** Over the full windows: mean and largest |expected − measured| in points, and the share whose interval held the measured accuracy. */
  window_mean_abs_error_points: number | null;
  window_max_abs_error_points: number | null;
  window_interval_coverage: number | null;
  /** Share of the full windows whose brightness or contrast PSI was significant (the drift monitor saw the inputs change). */
  windows_with_input_drift: number | null;
  /** Share of the full windows whose confidence or predicted-class PSI was significant. */
  windows_with_output_drift: number | null;
  /** Share of the full windows with either (trafficDrifted): those the rollout guard's label-free test leaves out. */
  windows_with_traffic_drift: number | null;
  /** Largest |expected − measured| in points over the windows the guard keeps (null: it keeps none). */
  kept_window_max_abs_error_points: number | null;
  /** Every estimator on the same predictions and windows (null where the manifest lacks what it needs). */
  estimators: Record<EstimatorName, EstimatorResult | null>;
  /** The first predictions' inputs and what each added to the expected accuracy (only when asked for: `samples`). */
  samples?: GoalSample[];
}

/** One prediction as the drift monitor saw it, and its expected correctness (the goal fixture pins these). */
export interface GoalSample {
  top: number[];
  predicted_index: number;
  brightness: number;
  contrast: number;
  quality: ImageQuality | null;
  expected: number;
}

export interface EstimatorResult {
  /** Over every prediction, and its error (estimate − true) in points. */
  estimate: number;
  error_points: number;
  /** Over the full windows: mean and largest |estimate − measured| in points. */
  window_mean_abs_error_points: number | null;
  window_max_abs_error_points: number | null;
}

const round = (x: number, d = 4): number => Number(x.toFixed(d));

/** Each estimator over the whole set and over consecutive full windows of `window` predictions (the count windows). */
export function compareEstimators(scores: readonly PredictionScores[], correct: readonly boolean[], c: ModelManifest, window: number): Record<EstimatorName, EstimatorResult | null> {
  const calibration = calibrationOf(c);
  const n = scores.length;
  const accuracy = correct.filter(Boolean).length / n;
  const out = {} as Record<EstimatorName, EstimatorResult | null>;
  for (const name of ESTIMATORS) {
    const whole = calibration ? estimate(scores, calibration, name) : null;
    if (whole === null || !calibration) {
      out[name] = null;
      continue;
    }
    const errors: number[] = [];
    for (let start = 0; start + window <= n; start += window) {
      const e = estimate(scores.slice(start, start + window), calibration, name)!;
      const measured = correct.slice(start, start + window).filter(Boolean).length / window;
      errors.push(Math.abs(e - measured) * 100);
    }
    out[name] = {
      estimate: round(whole),
      error_points: round((whole - accuracy) * 100, 2),
      window_mean_abs_error_points: errors.length ? round(errors.reduce((a, b) => a + b, 0) / errors.length, 2) : null,
      window_max_abs_error_points: errors.length ? round(Math.max(...errors), 2) : null,
    };
  }
  return out;
}

/** Scores one shifted set with one model and runs the predictions and their labels through the drift monitor's analytics. */
export async function evaluateShift(model: ServedModel, set: TestImages, shift: ShiftName, o: { limit?: number; window?: number; seed?: number; samples?: number } = {}): Promise<ShiftResult> {
  const items = shiftedItems(set, shift, o.seed ?? 16, o.limit);
  const bytes = await Promise.all(items.map((item) => encode(item, set.size, shift)));
  const scored = await model.score(bytes);
  const references = await loadReferences([model.manifestPath]);
  const ctx: DriftContext = {
    config: driftConfig({ window: { policy: { kind: 'count', size: o.window ?? 500 } } }),
    referenceFor: references.lookup,
    calibrationFor: references.calibration,
  };
  const state = createDriftState();
  const reports: WindowSummary[] = [];
  let correct = 0;
  scored.forEach((s, i) => {
    const best = s.top[0]!;
    const label = items[i]!.label;
    if (best.index === label) correct += 1;
    const id = `${shift}-${i}`;
    const at = T0 + i;
    // Feedback first: it is joined when the prediction arrives and counted in that prediction's window.
    applyFeedback(state, { request_id: id, true_label: model.manifest.labels[label]!, true_index: label, observed_at: at }, ctx);
    const p: PredictionInput = {
      request_id: id, model_name: model.manifest.name, model_version: model.manifest.version, experiment_id: null, shadow: false,
      predicted_index: best.index, predicted_label: best.label, confidence: best.score, top_k: s.top, timings: { total_ms: 1 },
      input_stats: { brightness: s.brightness, contrast: s.contrast, width: set.size, height: set.size, quality: s.quality }, predicted_at: at,
    };
    reports.push(...applyPrediction(state, p, ctx));
  });
  const windows = reports
    .filter((r) => r.expected_accuracy != null && r.accuracy !== null)
    .map((r): WindowComparison => ({
      window_index: r.window_index, count: r.count, measured: r.accuracy!, expected: r.expected_accuracy!, low: r.expected_accuracy_ci_low!, high: r.expected_accuracy_ci_high!,
      input_drift: r.metrics.filter((m) => INPUT_DRIFT_METRICS.includes(m.name) && m.severity === 'significant').map((m) => m.name),
      output_drift: r.metrics.filter((m) => OUTPUT_DRIFT_METRICS.includes(m.name) && m.severity === 'significant').map((m) => m.name),
    }));
  const errors = windows.map((w) => Math.abs(w.expected - w.measured) * 100);
  const kept = windows.filter((w) => !trafficDrifted([...w.input_drift, ...w.output_drift]));
  const n = scored.length;
  // The whole set's estimate from the windows' sums, plus the predictions of the window still open.
  const open = Object.values(state.windows.streams)[0]?.open;
  const sum = windows.reduce((a, w) => a + w.expected * w.count, 0) + (open?.calibrated?.sum ?? 0);
  const confidence = scored.reduce((a, s) => a + s.top[0]!.score, 0) / n;
  const calibration = calibrationOf(model.manifest);
  const scores = calibration ? scored.map((s) => predictionScores(s.top.map((t) => t.score), calibration, { predicted_index: s.top[0]!.index, stats: s })!) : [];
  const estimators = compareEstimators(scores, scored.map((s, i) => s.top[0]!.index === items[i]!.label), model.manifest, o.window ?? 500);
  return {
    version: model.manifest.version,
    shift,
    description: SHIFT_DESCRIPTIONS[shift],
    images: n,
    true_accuracy: round(correct / n),
    expected_accuracy: round(sum / n),
    mean_confidence: round(confidence),
    error_points: round(((sum / n) - correct / n) * 100, 2),
    windows: windows.map((w) => ({ ...w, measured: round(w.measured), expected: round(w.expected), low: round(w.low), high: round(w.high) })),
    window_mean_abs_error_points: errors.length ? round(errors.reduce((a, b) => a + b, 0) / errors.length, 2) : null,
    window_max_abs_error_points: errors.length ? round(Math.max(...errors), 2) : null,
    window_interval_coverage: windows.length ? round(windows.filter((w) => w.measured >= w.low && w.measured <= w.high).length / windows.length, 3) : null,
    windows_with_input_drift: windows.length ? round(windows.filter((w) => w.input_drift.length > 0).length / windows.length, 3) : null,
    windows_with_output_drift: windows.length ? round(windows.filter((w) => w.output_drift.length > 0).length / windows.length, 3) : null,
    windows_with_traffic_drift: windows.length ? round((windows.length - kept.length) / windows.length, 3) : null,
    kept_window_max_abs_error_points: kept.length ? round(Math.max(...kept.map((w) => Math.abs(w.expected - w.measured) * 100)), 2) : null,
    estimators,
    ...(o.samples && calibration
      ? {
          samples: scored.slice(0, o.samples).map((x) => ({
            top: x.top.map((t) => t.score), predicted_index: x.top[0]!.index, brightness: x.brightness, contrast: x.contrast, quality: x.quality,
            expected: expectedCorrectness(x.top.map((t) => t.score), x.top[0]!.index, x, calibration)!,
          })),
        }
      : {}),
  };
}

/** Fingerprint of a manifest's correctness model (the goal fixture records which coefficients it was made with). */
export function correctnessFingerprint(manifest: ModelManifest): string | null {
  const c = manifest.calibration?.correctness;
  return c ? createHash('sha256').update(JSON.stringify(c)).digest('hex') : null;
}

export async function loadTestSet(): Promise<TestImages> {
  const { images, labels } = await readFashionMnist('t10k');
  return { count: images.count, size: images.rows, pixels: images.pixels, labels };
}

/** Estimate − true accuracy over the whole set, and the window-level MAE in brackets, per estimator (points). */
export function markdownTable(results: readonly ShiftResult[]): string {
  const signed = (x: number): string => `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x).toFixed(1)}`;
  const lines = [
    `| version | shift | true accuracy | input PSI flagged | output PSI flagged | largest error in a kept window | ${ESTIMATORS.join(' | ')} |`,
    `| --- | --- | --- | --- | --- | --- | ${ESTIMATORS.map(() => '---').join(' | ')} |`,
  ];
  for (const r of results) {
    const cells = ESTIMATORS.map((e) => {
      const x = r.estimators[e];
      return x ? `${signed(x.error_points)} (${x.window_mean_abs_error_points?.toFixed(1) ?? '–'})` : '–';
    });
    const share = (x: number | null): string => (x === null ? '–' : `${Math.round(x * 100)} %`);
    lines.push(`| ${r.version} | ${r.shift} (${r.description}) | ${(r.true_accuracy * 100).toFixed(1)} % | ${share(r.windows_with_input_drift)} | ${share(r.windows_with_output_drift)} | ${r.kept_window_max_abs_error_points?.toFixed(1) ?? 'none kept'} | ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Predictions per shift whose inputs and expected correctness the goal fixture keeps. */
const GOAL_SAMPLES = 8;

/**
 * What test/unit/drift-monitor/label-free-goal.test.ts pins: per version and shift the whole-set error and the
 * window MAE of the drift monitor's expected accuracy, the correctness models they were measured with, and a few
 * predictions' inputs with the expected correctness the estimator gave them (so a change to the estimator's code
 * or coefficients fails the test until this is regenerated and meets the goal again).
 */
export function goalFixture(results: readonly ShiftResult[], fingerprints: Record<string, string | null>, window: number): object {
  return {
    generated_by: `npx tsx drift-monitor/evaluation/label-free.ts --goal-fixture test/unit/drift-monitor/label-free-goal.json (window ${window})`,
    correctness_fingerprints: fingerprints,
    results: results.map((r) => ({
      version: r.version, shift: r.shift, images: r.images, true_accuracy: r.true_accuracy, expected_accuracy: r.expected_accuracy, error_points: r.error_points,
      window_mean_abs_error_points: r.window_mean_abs_error_points, window_max_abs_error_points: r.window_max_abs_error_points,
      mean_probability_error_points: r.estimators.mean_probability?.error_points ?? null,
      samples: r.samples ?? [],
    })),
  };
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: string[]): Promise<void> {
  const versions = (option(args, '--versions') ?? 'v1,v2').split(',');
  const shifts = (option(args, '--shifts') ?? SHIFT_NAMES.join(',')).split(',') as ShiftName[];
  for (const s of shifts) if (!SHIFT_NAMES.includes(s)) throw new Error(`unknown shift "${s}"; expected one of ${SHIFT_NAMES.join(', ')}`);
  const limit = option(args, '--limit');
  const window = Number(option(args, '--window') ?? 500);
  const fixture = option(args, '--goal-fixture');
  const fingerprints: Record<string, string | null> = {};
  const set = await loadTestSet();
  const results: ShiftResult[] = [];
  for (const version of versions) {
    const model = await serveModel(version);
    for (const shift of shifts) {
      const r = await evaluateShift(model, set, shift, { limit: limit === undefined ? undefined : Number(limit), window, samples: fixture ? GOAL_SAMPLES : 0 });
      results.push(r);
      process.stderr.write(`${version} ${shift}: true ${(r.true_accuracy * 100).toFixed(2)} %, expected ${(r.expected_accuracy * 100).toFixed(2)} % (${r.error_points >= 0 ? '+' : ''}${r.error_points} pp)\n`);
    }
    fingerprints[version] = correctnessFingerprint(model.manifest);
    await model.release();
  }
  if (fixture) await writeFile(fixture, `${JSON.stringify(goalFixture(results, fingerprints, window))}\n`);
  process.stderr.write(markdownTable(results));
  const table = results.map(({ windows: _windows, samples: _samples, ...rest }) => rest);
  process.stdout.write(`${JSON.stringify({ window, table, windows: results.map((r) => ({ version: r.version, shift: r.shift, windows: r.windows })) }, null, 2)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
