/**
 * The drift monitor's whole analytics state and its reducers: windows (window.ts), the feedback join
 * (feedback-join.ts) and the recent window summaries the dashboard plots. The service feeds every decoded
 * Prediction and Feedback through `applyPrediction`/`applyFeedback`, calls `closeDue` on a timer, publishes the
 * returned summaries as DriftReports, and snapshots `driftStateToJSON(state)` together with its consumer offsets;
 * `driftStateFromJSON` restores it after a restart. No I/O here, and the same events on a restored state
 * give the same results. Streams of experiments that stopped are forgotten after a retention (see
 * retireIdleExperiments), so the state, and the snapshot, hold the recent experiments rather than every one.
 */
import type { FeedbackInput, PredictionInput } from './events.ts';
import {
  createJoinState,
  evictExpired,
  joinConfig,
  joinFeedback,
  joinPrediction,
  joinStateFromJSON,
  joinStateToJSON,
  type JoinConfig,
  type JoinResult,
  type JoinState,
  type JoinStateJSON,
} from './feedback-join.ts';
import type { CalibrationLookup } from './label-free.ts';
import type { ReferenceLookup } from './reference.ts';
import { streamKey, type StreamId } from './stream-id.ts';
import {
  addAgreement,
  addOutcome,
  addPrediction,
  closeDueWindows,
  createWindowState,
  lastSeenAt,
  windowConfig,
  type WindowConfig,
  type WindowContext,
  type WindowState,
} from './window.ts';
import type { WindowSummary } from './window-summary.ts';

export interface DriftConfig {
  window: WindowConfig;
  join: JoinConfig;
  /** Closed-window summaries kept per stream for the dashboard. */
  historyPerStream: number;
  /** Significance level of the A/B accuracy test. */
  alpha: number;
  /**
   * Event-time ms after an experiment's last prediction before its streams are forgotten. At least the join
   * horizon, so that no request of a forgotten stream is still waiting for its feedback.
   */
  streamRetentionMs: number;
}

export interface DriftConfigOverrides {
  window?: Partial<WindowConfig>;
  join?: Partial<JoinConfig>;
  historyPerStream?: number;
  alpha?: number;
  streamRetentionMs?: number;
}

export const DEFAULT_STREAM_RETENTION_MS = 24 * 60 * 60 * 1000;

export function driftConfig(overrides: DriftConfigOverrides = {}): DriftConfig {
  const historyPerStream = overrides.historyPerStream ?? 120;
  const alpha = overrides.alpha ?? 0.05;
  if (!(Number.isInteger(historyPerStream) && historyPerStream > 0)) {
    throw new RangeError(`history per stream must be a positive integer, got ${historyPerStream}`);
  }
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`significance level alpha must be in (0, 1), got ${alpha}`);
  const join = joinConfig(overrides.join);
  const streamRetentionMs = overrides.streamRetentionMs ?? Math.max(DEFAULT_STREAM_RETENTION_MS, join.horizonMs);
  if (!(Number.isFinite(streamRetentionMs) && streamRetentionMs >= join.horizonMs)) {
    throw new RangeError(`stream retention must be at least the feedback join horizon (${join.horizonMs} ms), got ${streamRetentionMs}`);
  }
  return { window: windowConfig(overrides.window), join, historyPerStream, alpha, streamRetentionMs };
}

export interface DriftState {
  windows: WindowState;
  join: JoinState;
  /** Latest closed-window summaries per streamKey, oldest first. */
  recent: Record<string, WindowSummary[]>;
}

export interface DriftContext {
  config: DriftConfig;
  referenceFor: ReferenceLookup;
  /** Temperatures from the manifests (label-free accuracy); absent: none estimated. */
  calibrationFor?: CalibrationLookup;
}

export function createDriftState(): DriftState {
  return { windows: createWindowState(), join: createJoinState(), recent: {} };
}

function windowContext(ctx: DriftContext): WindowContext {
  return { config: ctx.config.window, referenceFor: ctx.referenceFor, calibrationFor: ctx.calibrationFor };
}

function remember(state: DriftState, closed: WindowSummary[], ctx: DriftContext): WindowSummary[] {
  for (const summary of closed) {
    const history = (state.recent[streamKey(summary)] ??= []);
    history.push(summary);
    if (history.length > ctx.config.historyPerStream) history.splice(0, history.length - ctx.config.historyPerStream);
  }
  return closed;
}

/**
 * Counts a prediction; returns the windows it closed. A repeated prediction (same request, version and variant
 * while the request is still buffered by the join) is ignored. Throws InvalidEventError, changing nothing.
 */
export function applyPrediction(state: DriftState, p: PredictionInput, ctx: DriftContext): WindowSummary[] {
  const joined = joinPrediction(state.join, p, ctx.config.join);
  if (joined.duplicate) return [];
  const correct = joined.outcomes[0]?.correct ?? null;
  // A shadow prediction completes one pair (its own window's); a served one may complete pairs of other shadow streams.
  const own = p.shadow ? joined.agreements[0] : undefined;
  const closed = addPrediction(state.windows, p, windowContext(ctx), correct, own?.agreed ?? null);
  for (const pair of joined.agreements) if (pair !== own) addAgreement(state.windows, pair.shadow, pair.agreed);
  return remember(state, closed, ctx);
}

/** Joins a label to the request's predictions; each joined prediction counts in its stream's open window. */
export function applyFeedback(state: DriftState, f: FeedbackInput, ctx: DriftContext): JoinResult {
  const joined = joinFeedback(state.join, f, ctx.config.join);
  for (const outcome of joined.outcomes) addOutcome(state.windows, outcome.stream, outcome.correct);
  return joined;
}

/**
 * Closes time windows ending at or before `now` and forgets join entries past the horizon. `now` is event time:
 * the watermark while catching up, wall-clock time once the consumer is caught up (see closeDueWindows).
 */
export function closeDue(state: DriftState, now: number, ctx: DriftContext): WindowSummary[] {
  evictExpired(state.join, now, ctx.config.join);
  const closed = remember(state, closeDueWindows(state.windows, now, windowContext(ctx)), ctx);
  retireIdleExperiments(state, ctx.config.streamRetentionMs);
  return closed;
}

/**
 * Forgets every stream of an experiment whose last prediction is more than `retentionMs` older than the latest
 * prediction of any stream: its windows (an unfinished count window goes unreported), recent summaries, accuracy
 * and agreement tallies. Each rollout or A/B test adds streams under a new experiment id; without this they stayed
 * in the state and in every snapshot. Prediction time, not wall-clock time nor the join's watermark (which follows
 * the clock once caught up): an experiment is retired because predictions went on without it, never because all
 * traffic paused, and a replay retires exactly as the original run did. Streams outside any experiment are kept.
 * A prediction arriving later for a retired experiment starts its streams afresh (window_index 0). Returns the
 * streams forgotten.
 */
export function retireIdleExperiments(state: DriftState, retentionMs: number): StreamId[] {
  const lastSeen = new Map<string, number>();
  let latest = -Infinity;
  for (const [key, stream] of Object.entries(state.windows.streams)) {
    // Pinned once for a stream restored without it, so that its fallback cannot move later.
    const seen = (stream.lastSeenAt ??= lastSeenAt(stream, state.recent[key]?.at(-1), state.join.watermark ?? 0));
    latest = Math.max(latest, seen);
    const experiment = stream.id.experiment_id;
    if (experiment !== null) lastSeen.set(experiment, Math.max(lastSeen.get(experiment) ?? seen, seen));
  }
  const retired = new Set([...lastSeen].filter(([, seen]) => latest - seen > retentionMs).map(([experiment]) => experiment));
  if (retired.size === 0) return [];
  const isRetired = (id: StreamId): boolean => id.experiment_id !== null && retired.has(id.experiment_id);
  const forgotten: StreamId[] = [];
  for (const [key, stream] of Object.entries(state.windows.streams)) {
    if (!isRetired(stream.id)) continue;
    forgotten.push(stream.id);
    delete state.windows.streams[key];
    delete state.recent[key];
  }
  for (const [key, tally] of Object.entries(state.join.accuracy)) if (isRetired(tally.stream)) delete state.join.accuracy[key];
  for (const [key, tally] of Object.entries(state.join.agreement)) if (isRetired(tally.served) || isRetired(tally.shadow)) delete state.join.agreement[key];
  return forgotten;
}

export const DRIFT_STATE_FORMAT = 1;

export interface DriftStateJSON {
  format: typeof DRIFT_STATE_FORMAT;
  windows: WindowState;
  join: JoinStateJSON;
  recent: Record<string, WindowSummary[]>;
}

/** A JSON-safe view of the state (Maps become arrays; other objects are shared, so stringify it before the state changes). */
export function driftStateToJSON(state: DriftState): DriftStateJSON {
  return { format: DRIFT_STATE_FORMAT, windows: state.windows, join: joinStateToJSON(state.join), recent: state.recent };
}

/** Restores a snapshot made by driftStateToJSON (already parsed); throws when it is of another format. */
export function driftStateFromJSON(json: unknown): DriftState {
  const snapshot = json as Partial<DriftStateJSON> | null;
  if (!snapshot || snapshot.format !== DRIFT_STATE_FORMAT || !snapshot.windows || !snapshot.join || !snapshot.recent) {
    throw new Error(
      `drift-monitor state snapshot is not format ${DRIFT_STATE_FORMAT} (got ${String(snapshot?.format)}); ` +
        'start from empty state by deleting the state changelog topic, or run the version that wrote it',
    );
  }
  return { windows: snapshot.windows, join: joinStateFromJSON(snapshot.join), recent: snapshot.recent };
}
