/**
 * Tumbling windows per stream (model version × served/shadow × experiment), cut by prediction count or by
 * event time (predicted_at). The state is plain JSON data: `JSON.parse(JSON.stringify(state))` restores it
 * exactly, random sampling included. The functions update the state they are given in place (one event must
 * not copy every window) and do no I/O, so replaying the same events on a restored state gives the same reports.
 */
import { addPredictionCounts, emptyDistribution, edgesOf, HISTOGRAM_METRICS, type HistogramEdges } from './distribution-counts.ts';
import { predictionProblem, InvalidEventError, type PredictionInput } from './events.ts';
import { linearEdges, validateEdges } from './histogram.ts';
import { DEFAULT_PSI_EPSILON, DEFAULT_SEVERITY_THRESHOLDS, validateThresholds, type SeverityThresholds } from './psi.ts';
import {
  baselineComparison,
  extendBaseline,
  manifestComparison,
  manifestEdges,
  type ComparisonReference,
  type ReferenceLookup,
  type WarmupBaseline,
} from './reference.ts';
import { addCalibrated, expectedCorrectness, type CalibrationLookup } from './label-free.ts';
import { createReservoir, offer } from './reservoir.ts';
import { modelKey, streamIdOf, streamKey, type StreamId } from './stream-id.ts';
import { summariseWindow, type OpenWindow, type WindowSummary } from './window-summary.ts';

export type WindowPolicy =
  /** Close after every `size` predictions of a stream. */
  | { kind: 'count'; size: number }
  /** Close windows aligned to multiples of `lengthMs` since the epoch, by predicted_at. */
  | { kind: 'time'; lengthMs: number };

export interface WindowConfig {
  policy: WindowPolicy;
  thresholds: SeverityThresholds;
  psiEpsilon: number;
  /** Latency samples kept per window (uniform reservoir); percentiles are exact while a window has fewer. */
  latencyReservoirSize: number;
  /** Without a manifest reference, closed windows form the baseline until it holds this many predictions. */
  warmupMinCount: number;
  /** Two-sided confidence of the per-window accuracy interval. */
  accuracyConfidence: number;
  /** Histogram edges for models whose manifest has no reference. Brightness and contrast are of [0,1] pixels. */
  defaultEdges: HistogramEdges;
}

export const DEFAULT_WINDOW_CONFIG: WindowConfig = {
  policy: { kind: 'count', size: 500 },
  thresholds: DEFAULT_SEVERITY_THRESHOLDS,
  psiEpsilon: DEFAULT_PSI_EPSILON,
  latencyReservoirSize: 2048,
  warmupMinCount: 100,
  accuracyConfidence: 0.95,
  defaultEdges: {
    confidence: linearEdges(0, 1, 10),
    brightness: linearEdges(0, 1, 10),
    // The standard deviation of values in [0, 1] is at most 0.5.
    contrast: linearEdges(0, 0.5, 10),
  },
};

/** The defaults with `overrides` applied, validated; throws a RangeError that names the bad setting. */
export function windowConfig(overrides: Partial<WindowConfig> = {}): WindowConfig {
  const config = { ...DEFAULT_WINDOW_CONFIG, ...overrides };
  const { policy } = config;
  if (policy.kind === 'count' && !(Number.isInteger(policy.size) && policy.size > 0)) {
    throw new RangeError(`window size must be a positive integer number of predictions, got ${policy.size}`);
  }
  if (policy.kind === 'time' && !(Number.isInteger(policy.lengthMs) && policy.lengthMs > 0)) {
    throw new RangeError(`window length must be a positive integer number of milliseconds, got ${policy.lengthMs}`);
  }
  validateThresholds(config.thresholds);
  if (!(config.psiEpsilon > 0 && config.psiEpsilon < 1)) throw new RangeError(`PSI epsilon must be in (0, 1), got ${config.psiEpsilon}`);
  if (!(Number.isInteger(config.latencyReservoirSize) && config.latencyReservoirSize > 0)) {
    throw new RangeError(`latency reservoir size must be a positive integer, got ${config.latencyReservoirSize}`);
  }
  if (!(Number.isInteger(config.warmupMinCount) && config.warmupMinCount >= 1)) {
    throw new RangeError(`warm-up minimum count must be an integer >= 1, got ${config.warmupMinCount}`);
  }
  if (!(config.accuracyConfidence > 0 && config.accuracyConfidence < 1)) {
    throw new RangeError(`accuracy confidence must be in (0, 1), got ${config.accuracyConfidence}`);
  }
  for (const metric of HISTOGRAM_METRICS) validateEdges(config.defaultEdges[metric]);
  return config;
}

export interface StreamWindows {
  id: StreamId;
  /** window_index of the next window to open. */
  nextIndex: number;
  open: OpenWindow | null;
  /** Latest predicted_at counted (absent in snapshots written before it was kept; see lastSeenAt()). */
  lastSeenAt?: number;
}

export interface WindowState {
  /** By streamKey. */
  streams: Record<string, StreamWindows>;
  /** Warm-up baselines of models without a manifest reference, by modelKey. */
  baselines: Record<string, WarmupBaseline>;
  /** Label per class index as seen in predictions (null: index not seen yet), by modelKey. */
  labels: Record<string, Array<string | null>>;
}

export interface WindowContext {
  config: WindowConfig;
  referenceFor: ReferenceLookup;
  /** Temperatures of the model versions whose manifest has one; absent: no label-free accuracy. */
  calibrationFor?: CalibrationLookup;
}

export function createWindowState(): WindowState {
  return { streams: {}, baselines: {}, labels: {} };
}

function openWindow(state: WindowState, stream: StreamWindows, at: number, ctx: WindowContext): OpenWindow {
  const { model_name, model_version } = stream.id;
  const model = ctx.referenceFor(model_name, model_version);
  const baseline = state.baselines[modelKey(stream.id)];
  // Once a baseline exists its edges win, so later windows stay comparable even if the defaults change.
  const edges = model ? manifestEdges(model) : baseline ? edgesOf(baseline) : ctx.config.defaultEdges;
  const numClasses = model ? model.reference.predicted_class.probabilities.length : 0;
  const { policy } = ctx.config;
  const start = policy.kind === 'time' ? Math.floor(at / policy.lengthMs) * policy.lengthMs : at;
  const end = policy.kind === 'time' ? start + policy.lengthMs : at;
  const window: OpenWindow = {
    ...emptyDistribution(edges, numClasses),
    index: stream.nextIndex,
    start,
    end,
    confidenceSum: 0,
    latency: createReservoir(ctx.config.latencyReservoirSize),
    labeled: 0,
    correct: 0,
    agreementCompared: 0,
    agreementAgreed: 0,
    calibrated: { count: 0, sum: 0, squares: 0 },
  };
  stream.nextIndex += 1;
  return window;
}

/** The reference for a closing window; null while the window goes into a warm-up baseline instead. */
function comparisonFor(state: WindowState, id: StreamId, window: OpenWindow, ctx: WindowContext): ComparisonReference | null {
  const model = ctx.referenceFor(id.model_name, id.model_version);
  if (model) return manifestComparison(model);
  const key = modelKey(id);
  const baseline = state.baselines[key];
  if (baseline?.complete) return baselineComparison(baseline);
  state.baselines[key] = extendBaseline(baseline, window, ctx.config.warmupMinCount);
  return null;
}

function labelsFor(state: WindowState, id: StreamId, ctx: WindowContext): ReadonlyArray<string | null> {
  return ctx.referenceFor(id.model_name, id.model_version)?.labels ?? state.labels[modelKey(id)] ?? [];
}

function closeWindow(state: WindowState, stream: StreamWindows, emittedAt: number, ctx: WindowContext): WindowSummary {
  const window = stream.open!;
  stream.open = null;
  const reference = comparisonFor(state, stream.id, window, ctx);
  return summariseWindow(stream.id, window, reference, labelsFor(state, stream.id, ctx), ctx.config, emittedAt);
}

function rememberLabel(state: WindowState, p: PredictionInput): void {
  const labels = (state.labels[modelKey(p)] ??= []);
  if (typeof labels[p.predicted_index] === 'string') return;
  while (labels.length < p.predicted_index) labels.push(null);
  labels[p.predicted_index] = p.predicted_label;
}

/**
 * Counts a prediction into its stream's open window and returns the windows it closed (none, or one; in time
 * mode a prediction at or past the open window's end closes it first and opens the window of its own time).
 * A prediction older than the open window's start (out of order across partitions) counts into the open window:
 * closed windows are never reopened. `correct` is known when the prediction's feedback arrived first, and
 * `agreed` when it is a shadow prediction whose served one arrived first; both are counted with the prediction,
 * before a count window can close. Throws InvalidEventError, changing nothing, for a record it cannot count.
 */
export function addPrediction(
  state: WindowState,
  p: PredictionInput,
  ctx: WindowContext,
  correct: boolean | null = null,
  agreed: boolean | null = null,
): WindowSummary[] {
  const problem = predictionProblem(p);
  if (problem) throw new InvalidEventError(`prediction ${p.request_id} cannot be counted: ${problem}`);
  const id = streamIdOf(p);
  const stream = (state.streams[streamKey(id)] ??= { id, nextIndex: 0, open: null });
  const t = p.predicted_at;
  stream.lastSeenAt = Math.max(stream.lastSeenAt ?? t, t);
  const closed: WindowSummary[] = [];
  const { policy } = ctx.config;
  if (policy.kind === 'time' && stream.open && t >= stream.open.end) closed.push(closeWindow(state, stream, t, ctx));
  const window = (stream.open ??= openWindow(state, stream, t, ctx));
  addPredictionCounts(window, p);
  window.confidenceSum += p.confidence;
  offer(window.latency, p.timings.total_ms);
  countCalibrated(window, p, ctx);
  if (correct !== null) {
    window.labeled += 1;
    if (correct) window.correct += 1;
  }
  if (agreed !== null) countAgreement(window, agreed);
  if (policy.kind === 'count') {
    window.start = Math.min(window.start, t);
    window.end = Math.max(window.end, t);
  }
  rememberLabel(state, p);
  if (policy.kind === 'count' && window.count >= policy.size) closed.push(closeWindow(state, stream, t, ctx));
  return closed;
}

/** Counts a joined label into the stream's open window; false when the stream has none open. */
export function addOutcome(state: WindowState, id: StreamId, correct: boolean): boolean {
  const window = state.streams[streamKey(id)]?.open;
  if (!window) return false;
  window.labeled += 1;
  if (correct) window.correct += 1;
  return true;
}

function countCalibrated(window: OpenWindow, p: PredictionInput, ctx: WindowContext): void {
  const calibration = ctx.calibrationFor?.(p.model_name, p.model_version);
  if (!calibration) return;
  const scores = Array.isArray(p.top_k) && p.top_k.length > 0 ? p.top_k.map((s) => s.score) : [p.confidence];
  const c = expectedCorrectness(scores, p.predicted_index, p.input_stats, calibration);
  // A window opened by an older version (restored from a snapshot) has no sums: it starts them here.
  if (c !== null) addCalibrated((window.calibrated ??= { count: 0, sum: 0, squares: 0 }), c);
}

function countAgreement(window: OpenWindow, agreed: boolean): void {
  window.agreementCompared = (window.agreementCompared ?? 0) + 1;
  window.agreementAgreed = (window.agreementAgreed ?? 0) + (agreed ? 1 : 0);
}

/** Counts a served/shadow pair into the shadow stream's open window; false when it has none open. */
export function addAgreement(state: WindowState, shadow: StreamId, agreed: boolean): boolean {
  const window = state.streams[streamKey(shadow)]?.open;
  if (!window) return false;
  countAgreement(window, agreed);
  return true;
}

/**
 * Closes the time windows that end at or before `now` (ms), e.g. for streams that went quiet. Pass the event-time
 * watermark while catching up on a backlog, wall-clock time once caught up; otherwise replayed events would each
 * open and close a window of their own. Count windows only close by count.
 */
export function closeDueWindows(state: WindowState, now: number, ctx: WindowContext): WindowSummary[] {
  if (ctx.config.policy.kind !== 'time') return [];
  const closed: WindowSummary[] = [];
  for (const stream of Object.values(state.streams)) {
    if (stream.open && stream.open.end <= now) closed.push(closeWindow(state, stream, now, ctx));
  }
  return closed;
}

/**
 * The latest event time a stream was seen at. A stream restored from an older snapshot has no lastSeenAt: its
 * open window's end, or else the end of its last closed window, stands in (`fallback` when it has neither).
 */
export function lastSeenAt(stream: StreamWindows, lastClosed: { window_end: number } | undefined, fallback: number): number {
  return stream.lastSeenAt ?? stream.open?.end ?? lastClosed?.window_end ?? fallback;
}
