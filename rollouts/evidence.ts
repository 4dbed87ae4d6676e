/**
 * What a rollout step has seen of its two streams: the drift monitor's closed windows (DriftReports) of the
 * candidate and the baseline under the step's experiment id, and the dead letters of requests routed under it.
 * Plain JSON data, updated in place.
 *
 * A window is kept by index, so a report the drift monitor publishes again after a crash (same window, same
 * key) replaces the first one instead of counting twice; a dead letter is kept by its original topic,
 * partition and offset for the same reason.
 */
import type { RolloutSpec, RolloutStep } from './spec.ts';

export type Variant = 'served' | 'shadow';
export type Severity = 'stable' | 'moderate' | 'significant';

/** The DriftReport fields (schemas/drift-report.avsc) the guards read; agreement is absent from older reports. */
export interface DriftReportInput {
  model_version: string;
  variant: string;
  experiment_id: string | null;
  window_index: number;
  window_end: number;
  count: number;
  metrics: { name: string; psi: number; severity: string }[];
  severity: string;
  labeled_count: number;
  accuracy: number | null;
  latency_p95_ms: number;
  agreement_compared?: number;
  agreement_agreed?: number;
  /** Label-free accuracy (absent from older reports, null without a calibration). */
  expected_accuracy?: number | null;
  calibrated_count?: number;
  calibrated_square_mean?: number | null;
}

/** The DeadLetter fields (schemas/dead-letter.avsc) used to attribute it to a step and a stream. */
export interface DeadLetterInput {
  original_topic: string;
  original_partition: number;
  original_offset: number;
  model_version: string | null;
  original_headers: Record<string, string>;
  failed_at: number;
}

export interface WindowFacts {
  index: number;
  end: number;
  count: number;
  labelled: number;
  correct: number;
  p95_ms: number;
  /** null: the window had no reference to compare with (warm-up). */
  severity: Severity | null;
  /** Metrics whose PSI was `significant`. */
  significant: string[];
  max_psi: number | null;
  max_psi_metric: string | null;
  agreement_compared: number;
  agreement_agreed: number;
  /** Calibrated predictions of the window, and the sum of their top-1 probabilities and of its squares (absent in older state). */
  calibrated_count?: number;
  calibrated_sum?: number;
  calibrated_squares?: number;
}

export interface StreamRef {
  version: string;
  variant: Variant;
}

export interface StreamEvidence extends StreamRef {
  /** By window index. */
  windows: Record<string, WindowFacts>;
  /** Dead-letter ids (`topic:partition:offset`) → when the request failed. */
  dead_letters: Record<string, number>;
}

export interface StepEvidence {
  experiment_id: string;
  candidate: StreamEvidence;
  baseline: StreamEvidence;
}

/**
 * Which streams a step compares: at a shadow step the candidate's shadow copies against the baseline that
 * serves; at 100 % the candidate serves and the baseline runs as its shadow, so there is still a comparison.
 */
export function stepStreams(spec: RolloutSpec, step: RolloutStep): { candidate: StreamRef; baseline: StreamRef } {
  return {
    candidate: { version: spec.candidate, variant: step.shadow ? 'shadow' : 'served' },
    baseline: { version: spec.baseline, variant: !step.shadow && step.weight >= 100 ? 'shadow' : 'served' },
  };
}

export function emptyEvidence(experimentId: string, streams: { candidate: StreamRef; baseline: StreamRef }): StepEvidence {
  return {
    experiment_id: experimentId,
    candidate: { ...streams.candidate, windows: {}, dead_letters: {} },
    baseline: { ...streams.baseline, windows: {}, dead_letters: {} },
  };
}

const SEVERITIES: readonly string[] = ['stable', 'moderate', 'significant'];

function factsOf(r: DriftReportInput): WindowFacts {
  const calibrated = r.expected_accuracy != null && r.calibrated_square_mean != null ? r.calibrated_count ?? 0 : 0;
  const worst = r.metrics.reduce<{ name: string; psi: number } | null>((max, m) => (max === null || m.psi > max.psi ? m : max), null);
  const labelled = r.labeled_count;
  return {
    index: r.window_index,
    end: r.window_end,
    count: r.count,
    labelled,
    // accuracy = correct / labelled, so this recovers the count exactly up to floating-point rounding.
    correct: r.accuracy === null ? 0 : Math.round(r.accuracy * labelled),
    p95_ms: r.latency_p95_ms,
    severity: r.metrics.length > 0 && SEVERITIES.includes(r.severity) ? (r.severity as Severity) : null,
    significant: r.metrics.filter((m) => m.severity === 'significant').map((m) => m.name),
    max_psi: worst?.psi ?? null,
    max_psi_metric: worst?.name ?? null,
    agreement_compared: r.agreement_compared ?? 0,
    agreement_agreed: r.agreement_agreed ?? 0,
    calibrated_count: calibrated,
    calibrated_sum: calibrated > 0 ? r.expected_accuracy! * calibrated : 0,
    calibrated_squares: calibrated > 0 ? r.calibrated_square_mean! * calibrated : 0,
  };
}

function streamOf(e: StepEvidence, version: string | null | undefined, variant: string): StreamEvidence | null {
  for (const stream of [e.candidate, e.baseline]) {
    if (stream.version === version && stream.variant === variant) return stream;
  }
  return null;
}

/** Counts a report into the step when it is one of the step's streams; returns whether it was. */
export function addReport(e: StepEvidence, r: DriftReportInput): boolean {
  if (r.experiment_id !== e.experiment_id) return false;
  const stream = streamOf(e, r.model_version, r.variant);
  if (!stream) return false;
  stream.windows[String(r.window_index)] = factsOf(r);
  return true;
}

/** Counts a dead letter of a request routed under the step's experiment to one of its streams. */
export function addDeadLetter(e: StepEvidence, d: DeadLetterInput): boolean {
  const headers = d.original_headers;
  if (headers['x-experiment-id'] !== e.experiment_id) return false;
  const stream = streamOf(e, d.model_version ?? headers['x-model-version'], headers['x-shadow'] === 'true' ? 'shadow' : 'served');
  if (!stream) return false;
  stream.dead_letters[`${d.original_topic}:${d.original_partition}:${d.original_offset}`] = d.failed_at;
  return true;
}

export interface StreamSummary extends StreamRef {
  windows: number;
  predictions: number;
  labelled: number;
  correct: number;
  /**
   * Dead letters up to the end of the stream's last closed window: predictions count only once their window
   * closes, so dead letters are counted over the same time (counted as they arrive, a small stream's rate read
   * up to twice its value).
   */
  dead_letters: number;
  /** Prediction-weighted mean of the windows' p95 (a report carries percentiles, not samples); null without windows. */
  latency_p95_ms: number | null;
  worst_severity: Severity | null;
  agreement_compared: number;
  agreement_agreed: number;
}

const RANK: Record<Severity, number> = { stable: 0, moderate: 1, significant: 2 };

/** Windows oldest first. */
export function windowsOf(s: StreamEvidence): WindowFacts[] {
  return Object.values(s.windows).sort((a, b) => a.index - b.index);
}

function deadLettersUpTo(s: StreamEvidence, end: number | null): number {
  if (end === null) return 0;
  return Object.values(s.dead_letters).filter((failedAt) => failedAt <= end).length;
}

export function summariseStream(s: StreamEvidence): StreamSummary {
  const windows = windowsOf(s);
  const sum = (pick: (w: WindowFacts) => number): number => windows.reduce((total, w) => total + pick(w), 0);
  const predictions = sum((w) => w.count);
  let worst: Severity | null = null;
  for (const w of windows) if (w.severity !== null && (worst === null || RANK[w.severity] > RANK[worst])) worst = w.severity;
  return {
    version: s.version,
    variant: s.variant,
    windows: windows.length,
    predictions,
    labelled: sum((w) => w.labelled),
    correct: sum((w) => w.correct),
    dead_letters: deadLettersUpTo(s, windows.length > 0 ? Math.max(...windows.map((w) => w.end)) : null),
    latency_p95_ms: predictions > 0 ? sum((w) => w.p95_ms * w.count) / predictions : null,
    worst_severity: worst,
    agreement_compared: sum((w) => w.agreement_compared),
    agreement_agreed: sum((w) => w.agreement_agreed),
  };
}
