/**
 * Joins Feedback (ground truth) to Predictions by request_id, whichever arrives first. One request can have
 * several predictions (the served version and its shadows); the label applies to each of them. The same
 * buffer pairs a request's served and shadow predictions for the shadow agreement rate.
 *
 * Memory is bounded two ways: a request is forgotten `horizonMs` of event time after it was first seen
 * (event time = the largest predicted_at/observed_at seen so far, so replays evict exactly as the original run
 * did), and beyond `maxPendingRequests` the oldest request goes first. Repeated records (at-least-once
 * delivery) are recognised while their request is buffered and counted once.
 *
 * Like window.ts: plain data updated in place, no I/O; `joinStateToJSON`/`joinStateFromJSON` for snapshots.
 */
import { feedbackProblem, predictionProblem, InvalidEventError, type FeedbackInput, type PredictionInput } from './events.ts';
import { streamIdOf, streamKey, type StreamId } from './stream-id.ts';

export interface JoinConfig {
  /** How long (event-time ms) a request waits for its other half. */
  horizonMs: number;
  maxPendingRequests: number;
}

export const DEFAULT_JOIN_CONFIG: JoinConfig = { horizonMs: 60 * 60 * 1000, maxPendingRequests: 100_000 };

export function joinConfig(overrides: Partial<JoinConfig> = {}): JoinConfig {
  const config = { ...DEFAULT_JOIN_CONFIG, ...overrides };
  if (!(Number.isFinite(config.horizonMs) && config.horizonMs > 0)) {
    throw new RangeError(`feedback join horizon must be a positive number of milliseconds, got ${config.horizonMs}`);
  }
  if (!(Number.isInteger(config.maxPendingRequests) && config.maxPendingRequests > 0)) {
    throw new RangeError(`feedback join capacity must be a positive integer, got ${config.maxPendingRequests}`);
  }
  return config;
}

export interface PendingPrediction {
  stream: StreamId;
  predicted_index: number;
  predicted_label: string;
}

export interface PendingRequest {
  /** Event-time watermark when the request was first seen; non-decreasing in insertion order. */
  firstSeenAt: number;
  predictions: PendingPrediction[];
  feedback: { true_label: string; true_index: number | null } | null;
}

/** Running (since the state was created) labeled and correct predictions of one stream. */
export interface AccuracyTally {
  stream: StreamId;
  labeled: number;
  correct: number;
}

/** Requests where both a served prediction and a shadow prediction were seen, and how many agreed. */
export interface AgreementTally {
  served: StreamId;
  shadow: StreamId;
  compared: number;
  agreed: number;
}

export interface JoinCounters {
  /** Prediction/feedback pairs joined. */
  joined: number;
  /** Records already seen for a buffered request, ignored. */
  duplicates: number;
  /** Requests forgotten after the horizon with predictions but no feedback, or the reverse. */
  expiredUnjoined: number;
  /** Requests forgotten early because the buffer was full. */
  evictedForCapacity: number;
}

export interface JoinState {
  /** Largest event time seen (ms); null before the first record. */
  watermark: number | null;
  /** By request_id. */
  pending: Map<string, PendingRequest>;
  /**
   * The request ids of `pending` oldest first, from index `head` on. A separate queue because deleting from the
   * front of a big Map and then asking it for its first key again is O(size) per call in V8 (it skips the holes).
   */
  queue: { ids: string[]; head: number };
  /** By streamKey. */
  accuracy: Record<string, AccuracyTally>;
  /** By streamKey(served) + streamKey(shadow). */
  agreement: Record<string, AgreementTally>;
  counters: JoinCounters;
}

/** A prediction whose true label is now known. */
export interface LabeledOutcome {
  request_id: string;
  stream: StreamId;
  correct: boolean;
}

/** A served/shadow pair of one request compared by this record: whether the shadow predicted the same class. */
export interface AgreementOutcome {
  shadow: StreamId;
  agreed: boolean;
}

export interface JoinResult {
  /** The record had been seen before for this request; nothing was counted. */
  duplicate: boolean;
  outcomes: LabeledOutcome[];
  /** Pairs this prediction completed (none for feedback). */
  agreements: AgreementOutcome[];
}

export function createJoinState(): JoinState {
  return {
    watermark: null,
    pending: new Map(),
    queue: { ids: [], head: 0 },
    accuracy: {},
    agreement: {},
    counters: { joined: 0, duplicates: 0, expiredUnjoined: 0, evictedForCapacity: 0 },
  };
}

function isJoined(r: PendingRequest): boolean {
  return r.feedback !== null && r.predictions.length > 0;
}

function oldestPending(state: JoinState): PendingRequest | undefined {
  const id = state.queue.ids[state.queue.head];
  return id === undefined ? undefined : state.pending.get(id);
}

function dropOldest(state: JoinState): PendingRequest {
  const { queue } = state;
  const id = queue.ids[queue.head]!;
  const request = state.pending.get(id)!;
  state.pending.delete(id);
  queue.head += 1;
  // Compact once the consumed prefix is the larger half: amortised O(1) per request.
  if (queue.head > 1024 && queue.head * 2 > queue.ids.length) {
    queue.ids = queue.ids.slice(queue.head);
    queue.head = 0;
  }
  return request;
}

function advanceWatermark(state: JoinState, eventTime: number, config: JoinConfig): number {
  const watermark = Math.max(state.watermark ?? eventTime, eventTime);
  state.watermark = watermark;
  const cutoff = watermark - config.horizonMs;
  for (let oldest = oldestPending(state); oldest && oldest.firstSeenAt < cutoff; oldest = oldestPending(state)) {
    if (!isJoined(dropOldest(state))) state.counters.expiredUnjoined += 1;
  }
  return watermark;
}

function pendingRequest(state: JoinState, requestId: string, now: number, config: JoinConfig): PendingRequest {
  const existing = state.pending.get(requestId);
  if (existing) return existing;
  if (state.pending.size >= config.maxPendingRequests) {
    dropOldest(state);
    state.counters.evictedForCapacity += 1;
  }
  const created: PendingRequest = { firstSeenAt: now, predictions: [], feedback: null };
  state.pending.set(requestId, created);
  state.queue.ids.push(requestId);
  return created;
}

function sameTarget(a: StreamId, b: StreamId): boolean {
  return a.model_name === b.model_name && a.model_version === b.model_version && a.variant === b.variant;
}

function isCorrect(p: PendingPrediction, f: NonNullable<PendingRequest['feedback']>): boolean {
  // The index is authoritative when the labeller knows it; otherwise compare label names.
  return f.true_index !== null ? p.predicted_index === f.true_index : p.predicted_label === f.true_label;
}

function recordOutcome(state: JoinState, requestId: string, p: PendingPrediction, f: NonNullable<PendingRequest['feedback']>): LabeledOutcome {
  const correct = isCorrect(p, f);
  const tally = (state.accuracy[streamKey(p.stream)] ??= { stream: p.stream, labeled: 0, correct: 0 });
  tally.labeled += 1;
  if (correct) tally.correct += 1;
  state.counters.joined += 1;
  return { request_id: requestId, stream: p.stream, correct };
}

function recordAgreement(state: JoinState, served: PendingPrediction, shadow: PendingPrediction): AgreementOutcome {
  const key = streamKey(served.stream) + streamKey(shadow.stream);
  const tally = (state.agreement[key] ??= { served: served.stream, shadow: shadow.stream, compared: 0, agreed: 0 });
  const agreed = served.predicted_index === shadow.predicted_index;
  tally.compared += 1;
  if (agreed) tally.agreed += 1;
  return { shadow: shadow.stream, agreed };
}

export function joinPrediction(state: JoinState, p: PredictionInput, config: JoinConfig): JoinResult {
  const problem = predictionProblem(p);
  if (problem) throw new InvalidEventError(`prediction ${p.request_id} cannot be joined: ${problem}`);
  const now = advanceWatermark(state, p.predicted_at, config);
  const request = pendingRequest(state, p.request_id, now, config);
  const prediction: PendingPrediction = {
    stream: streamIdOf(p),
    predicted_index: p.predicted_index,
    predicted_label: p.predicted_label,
  };
  if (request.predictions.some((other) => sameTarget(other.stream, prediction.stream))) {
    state.counters.duplicates += 1;
    return { duplicate: true, outcomes: [], agreements: [] };
  }
  const agreements: AgreementOutcome[] = [];
  for (const other of request.predictions) {
    if (other.stream.variant === 'served' && prediction.stream.variant === 'shadow') agreements.push(recordAgreement(state, other, prediction));
    if (other.stream.variant === 'shadow' && prediction.stream.variant === 'served') agreements.push(recordAgreement(state, prediction, other));
  }
  request.predictions.push(prediction);
  const outcomes = request.feedback ? [recordOutcome(state, p.request_id, prediction, request.feedback)] : [];
  return { duplicate: false, outcomes, agreements };
}

export function joinFeedback(state: JoinState, f: FeedbackInput, config: JoinConfig): JoinResult {
  const problem = feedbackProblem(f);
  if (problem) throw new InvalidEventError(`feedback for ${f.request_id} cannot be joined: ${problem}`);
  const now = advanceWatermark(state, f.observed_at, config);
  const request = pendingRequest(state, f.request_id, now, config);
  if (request.feedback) {
    // The first label wins; a second one is a redelivery (or a correction this pipeline does not support).
    state.counters.duplicates += 1;
    return { duplicate: true, outcomes: [], agreements: [] };
  }
  const feedback = { true_label: f.true_label, true_index: f.true_index };
  request.feedback = feedback;
  return { duplicate: false, outcomes: request.predictions.map((p) => recordOutcome(state, f.request_id, p, feedback)), agreements: [] };
}

/** Forgets requests past the horizon at event time `now` (e.g. while both topics are idle). */
export function evictExpired(state: JoinState, now: number, config: JoinConfig): void {
  advanceWatermark(state, now, config);
}

export interface JoinStateJSON extends Omit<JoinState, 'pending' | 'queue'> {
  /** Oldest first. */
  pending: Array<[string, PendingRequest]>;
}

export function joinStateToJSON(state: JoinState): JoinStateJSON {
  const { pending, queue, ...rest } = state;
  return { ...rest, pending: queue.ids.slice(queue.head).map((id) => [id, pending.get(id)!]) };
}

export function joinStateFromJSON(json: JoinStateJSON): JoinState {
  const { pending, ...rest } = json;
  return { ...rest, pending: new Map(pending), queue: { ids: pending.map(([id]) => id), head: 0 } };
}
