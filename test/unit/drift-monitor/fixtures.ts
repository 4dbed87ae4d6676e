import type { FeedbackInput, PredictionInput } from '../../../drift-monitor/analytics/events.ts';
import type { ModelReference } from '../../../drift-monitor/analytics/reference.ts';
import { linearEdges } from '../../../drift-monitor/analytics/histogram.ts';
import { applyFeedback, applyPrediction, createDriftState, driftConfig, type DriftContext, type DriftState } from '../../../drift-monitor/analytics/drift-state.ts';

export const T0 = Date.UTC(2025, 0, 1);

let sequence = 0;

/** A valid prediction; every field can be overridden. */
export function prediction(overrides: Partial<PredictionInput> & { total_ms?: number; brightness?: number; contrast?: number } = {}): PredictionInput {
  sequence += 1;
  const { total_ms = 12, brightness = 0.45, contrast = 0.22, ...rest } = overrides;
  const predicted_index = rest.predicted_index ?? 0;
  return {
    request_id: `req-${sequence}`,
    model_name: 'digits',
    model_version: '1',
    experiment_id: null,
    shadow: false,
    predicted_index,
    predicted_label: `class-${predicted_index}`,
    confidence: 0.9,
    timings: { total_ms },
    input_stats: { brightness, contrast, width: 28, height: 28 },
    predicted_at: T0,
    ...rest,
  };
}

export function feedback(request_id: string, true_index: number, observed_at = T0): FeedbackInput {
  return { request_id, true_label: `class-${true_index}`, true_index, observed_at };
}

/** A 4-class model reference: classes 40/30/20/10 %, confidence mostly high, brightness and contrast in 5 bins. */
export const REFERENCE: ModelReference = {
  labels: ['class-0', 'class-1', 'class-2', 'class-3'],
  reference: {
    source: 'test',
    samples: 1000,
    predicted_class: { probabilities: [0.4, 0.3, 0.2, 0.1] },
    confidence: { edges: linearEdges(0, 1, 5), probabilities: [0, 0.05, 0.05, 0.1, 0.8] },
    brightness: { edges: linearEdges(0, 1, 5), probabilities: [0.1, 0.2, 0.4, 0.2, 0.1] },
    contrast: { edges: linearEdges(0, 0.5, 5), probabilities: [0.1, 0.2, 0.4, 0.2, 0.1] },
  },
};

export const withReference = (name: string, version: string): ModelReference | undefined =>
  name === 'digits' && version === '1' ? REFERENCE : undefined;
export const noReference = (): ModelReference | undefined => undefined;

/** Count windows of 10; version 1 has the manifest reference, version 2 warms up on its first window. */
export const DASHBOARD_CTX: DriftContext = {
  config: driftConfig({ window: { policy: { kind: 'count', size: 10 }, warmupMinCount: 10 } }),
  referenceFor: withReference,
};

/** Version 1 (manifest) and version 2 (no manifest) served in one experiment, version 2 also as shadow of 1. */
export function populatedDriftState(): DriftState {
  const state = createDriftState();
  for (let i = 0; i < 30; i++) {
    const predicted_index = i % 4;
    const common = { request_id: `r${i}`, experiment_id: 'exp', predicted_at: T0 + i, predicted_index };
    applyPrediction(state, prediction({ ...common, model_version: '1' }), DASHBOARD_CTX);
    applyPrediction(state, prediction({ ...common, request_id: `s${i}`, model_version: '2' }), DASHBOARD_CTX);
    applyPrediction(state, prediction({ ...common, model_version: '2', shadow: true, predicted_index: i % 3 }), DASHBOARD_CTX);
    applyFeedback(state, feedback(`r${i}`, i % 2 === 0 ? predicted_index : 9), DASHBOARD_CTX);
    applyFeedback(state, feedback(`s${i}`, predicted_index), DASHBOARD_CTX);
  }
  return state;
}
