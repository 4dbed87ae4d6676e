import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../../drift-monitor/analytics/events.ts';
import { psi } from '../../../drift-monitor/analytics/psi.ts';
import {
  addOutcome,
  addPrediction,
  closeDueWindows,
  createWindowState,
  windowConfig,
  type WindowContext,
} from '../../../drift-monitor/analytics/window.ts';
import type { WindowSummary } from '../../../drift-monitor/analytics/window-summary.ts';
import { REFERENCE, T0, noReference, prediction, withReference } from './fixtures.ts';

const countCtx = (size: number, overrides = {}): WindowContext => ({
  config: windowConfig({ policy: { kind: 'count', size }, ...overrides }),
  referenceFor: withReference,
});
const MINUTE = 60_000;
const timeCtx: WindowContext = { config: windowConfig({ policy: { kind: 'time', lengthMs: MINUTE } }), referenceFor: withReference };

/** 10 predictions whose classes follow the reference exactly (40/30/20/10 %). */
function referenceLikeBatch(at = T0) {
  return [0, 0, 0, 0, 1, 1, 1, 2, 2, 3].map((predicted_index, i) => prediction({ predicted_index, predicted_at: at + i, total_ms: i + 1 }));
}

describe('count windows', () => {
  it('close after every N predictions of a stream, numbered from 0', () => {
    const state = createWindowState();
    const ctx = countCtx(4);
    const closed: WindowSummary[] = [];
    for (let i = 0; i < 9; i++) closed.push(...addPrediction(state, prediction({ predicted_at: T0 + 1000 * i }), ctx));
    expect(closed.map((s) => [s.window_index, s.count, s.window_start, s.window_end])).toEqual([
      [0, 4, T0, T0 + 3000],
      [1, 4, T0 + 4000, T0 + 7000],
    ]);
    expect(closed[0]!.emitted_at).toBe(T0 + 3000);
    expect(state.streams[Object.keys(state.streams)[0]!]!.open!.count).toBe(1);
  });

  it('keep streams apart by version, variant and experiment', () => {
    const state = createWindowState();
    const ctx = countCtx(2);
    expect(addPrediction(state, prediction(), ctx)).toEqual([]);
    expect(addPrediction(state, prediction({ shadow: true }), ctx)).toEqual([]);
    expect(addPrediction(state, prediction({ experiment_id: 'exp' }), ctx)).toEqual([]);
    expect(addPrediction(state, prediction({ model_version: '2' }), ctx)).toEqual([]);
    expect(Object.keys(state.streams)).toHaveLength(4);
    expect(addPrediction(state, prediction({ shadow: true }), ctx).map((s) => s.variant)).toEqual(['shadow']);
  });

  it('do not close by time', () => {
    const state = createWindowState();
    addPrediction(state, prediction(), countCtx(4));
    expect(closeDueWindows(state, T0 + 10 * MINUTE, countCtx(4))).toEqual([]);
  });
});

describe('time windows', () => {
  it('are aligned to the window length and closed by the first prediction at or past their end', () => {
    const state = createWindowState();
    expect(addPrediction(state, prediction({ predicted_at: T0 + 1_000 }), timeCtx)).toEqual([]);
    expect(addPrediction(state, prediction({ predicted_at: T0 + 59_999 }), timeCtx)).toEqual([]);
    const [first, ...rest] = addPrediction(state, prediction({ predicted_at: T0 + MINUTE }), timeCtx);
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ window_index: 0, window_start: T0, window_end: T0 + MINUTE, count: 2, emitted_at: T0 + MINUTE });
  });

  it('count a late prediction into the open window and skip empty windows', () => {
    const state = createWindowState();
    addPrediction(state, prediction({ predicted_at: T0 + MINUTE + 5 }), timeCtx);
    addPrediction(state, prediction({ predicted_at: T0 + 5 }), timeCtx); // late: belongs to a window never opened
    const [second] = addPrediction(state, prediction({ predicted_at: T0 + 5 * MINUTE + 1 }), timeCtx);
    expect(second).toMatchObject({ window_index: 0, window_start: T0 + MINUTE, window_end: T0 + 2 * MINUTE, count: 2 });
    const [third] = closeDueWindows(state, T0 + 6 * MINUTE, timeCtx);
    expect(third).toMatchObject({ window_index: 1, window_start: T0 + 5 * MINUTE, window_end: T0 + 6 * MINUTE, count: 1 });
  });

  it('close quiet streams when due, not before', () => {
    const state = createWindowState();
    addPrediction(state, prediction({ predicted_at: T0 + 10 }), timeCtx);
    expect(closeDueWindows(state, T0 + MINUTE - 1, timeCtx)).toEqual([]);
    const closed = closeDueWindows(state, T0 + MINUTE, timeCtx);
    expect(closed.map((s) => [s.count, s.emitted_at])).toEqual([[1, T0 + MINUTE]]);
    expect(closeDueWindows(state, T0 + 10 * MINUTE, timeCtx)).toEqual([]);
  });
});

describe('window summary against the manifest reference', () => {
  it('has PSI ≈ 0 for the class mix of the reference and the PSI of each histogram', () => {
    const state = createWindowState();
    const ctx = countCtx(10);
    const [summary] = referenceLikeBatch().flatMap((p) => addPrediction(state, p, ctx));
    expect(summary).toBeDefined();
    const byName = Object.fromEntries(summary!.metrics.map((m) => [m.name, m]));
    expect(byName.predicted_class!.psi).toBeCloseTo(0, 12);
    // confidence 0.9 → last of 5 bins for all 10; brightness .45 → bin 2 of [0,.2,...,1]; contrast .22 → bin 2 of [0,.1,...,.5].
    expect(byName.confidence!.psi).toBeCloseTo(psi([0, 0, 0, 0, 10], REFERENCE.reference.confidence.probabilities), 12);
    expect(byName.brightness!.psi).toBeCloseTo(psi([0, 0, 10, 0, 0], REFERENCE.reference.brightness.probabilities), 12);
    expect(byName.contrast!.psi).toBeCloseTo(psi([0, 0, 10, 0, 0], REFERENCE.reference.contrast.probabilities), 12);
    expect(summary!.metrics.every((m) => m.reference === 'manifest')).toBe(true);
    expect(byName.brightness!.severity).toBe('significant');
    expect(summary!.severity).toBe('significant');
    expect(summary!.class_shares).toEqual({ 'class-0': 0.4, 'class-1': 0.3, 'class-2': 0.2, 'class-3': 0.1 });
    expect(summary!.mean_confidence).toBeCloseTo(0.9, 12);
    // total_ms 1..10: nearest rank p50 = 5th, p95 = 10th, p99 = 10th
    expect([summary!.latency_p50_ms, summary!.latency_p95_ms, summary!.latency_p99_ms]).toEqual([5, 10, 10]);
    expect([summary!.labeled_count, summary!.accuracy, summary!.accuracy_ci_low]).toEqual([0, null, null]);
  });

  it('counts labels with the window and gives a Wilson interval', () => {
    const state = createWindowState();
    const ctx = countCtx(10);
    const batch = referenceLikeBatch();
    for (const p of batch.slice(0, 9)) addPrediction(state, p, ctx);
    for (let i = 0; i < 7; i++) expect(addOutcome(state, { model_name: 'digits', model_version: '1', variant: 'served', experiment_id: null }, i < 6)).toBe(true);
    const [summary] = addPrediction(state, batch[9]!, ctx, true);
    // 7 of 8 correct
    expect(summary).toMatchObject({ labeled_count: 8, accuracy: 7 / 8 });
    expect(summary!.accuracy_ci_low).toBeCloseTo(0.5291, 4);
    expect(summary!.accuracy_ci_high).toBeCloseTo(0.9776, 4);
    expect(addOutcome(state, { model_name: 'digits', model_version: '1', variant: 'served', experiment_id: null }, true)).toBe(false);
  });

  it('maps field for field onto the DriftReport Avro schema', () => {
    const schema = JSON.parse(readFileSync(new URL('../../../schemas/drift-report.avsc', import.meta.url), 'utf8')) as { fields: Array<{ name: string }> };
    const type = avro.Type.forSchema(schema as avro.Schema);
    const state = createWindowState();
    const [withMetrics] = referenceLikeBatch().flatMap((p) => addPrediction(state, p, countCtx(10)));
    const [warmup] = referenceLikeBatch().flatMap((p) => addPrediction(state, prediction({ ...p, model_version: 'x' }), countCtx(10)));
    for (const summary of [withMetrics!, warmup!]) {
      expect(Object.keys(summary).sort()).toEqual(schema.fields.map((f) => f.name).sort());
      // avsc wants unions of null as plain values, which is what the summary holds.
      expect(type.isValid(summary, { errorHook: (path) => expect.fail(`invalid at ${path.join('.')}`) })).toBe(true);
      expect(type.fromBuffer(type.toBuffer(summary))).toEqual(summary);
    }
  });
});

describe('warm-up baseline for models without a manifest reference', () => {
  it('takes the first closed window as the baseline and compares later windows to it', () => {
    const state = createWindowState();
    const ctx: WindowContext = { config: windowConfig({ policy: { kind: 'count', size: 10 }, warmupMinCount: 10 }), referenceFor: noReference };
    const [baseline] = referenceLikeBatch().flatMap((p) => addPrediction(state, p, ctx));
    expect(baseline).toMatchObject({ metrics: [], severity: 'stable' });
    const [same] = referenceLikeBatch().flatMap((p) => addPrediction(state, p, ctx));
    expect(same!.metrics.map((m) => [m.name, m.reference, m.severity])).toEqual([
      ['predicted_class', 'warmup', 'stable'],
      ['confidence', 'warmup', 'stable'],
      ['brightness', 'warmup', 'stable'],
      ['contrast', 'warmup', 'stable'],
    ]);
    for (const m of same!.metrics) expect(m.psi).toBeCloseTo(0, 12);
    // All class 3 and dark: class shares .1 → 1 and brightness moves bins.
    const shifted = Array.from({ length: 10 }, () => prediction({ predicted_index: 3, brightness: 0.05 }));
    const [drifted] = shifted.flatMap((p) => addPrediction(state, p, ctx));
    expect(drifted!.severity).toBe('significant');
    expect(drifted!.metrics.find((m) => m.name === 'predicted_class')!.severity).toBe('significant');
    // Labels come from the predictions themselves.
    expect(Object.keys(drifted!.class_shares)).toEqual(['class-0', 'class-1', 'class-2', 'class-3']);
  });

  it('merges windows until the baseline holds warmupMinCount predictions', () => {
    const state = createWindowState();
    const ctx: WindowContext = { config: windowConfig({ policy: { kind: 'count', size: 4 }, warmupMinCount: 6 }), referenceFor: noReference };
    const closed = Array.from({ length: 12 }, (_, i) => prediction({ predicted_index: i % 2 })).flatMap((p) => addPrediction(state, p, ctx));
    expect(closed.map((s) => s.metrics.length)).toEqual([0, 0, 4]);
    const baseline = Object.values(state.baselines)[0]!;
    expect([baseline.count, baseline.complete, baseline.classCounts]).toEqual([8, true, [4, 4]]);
    expect(closed[2]!.metrics[0]!.psi).toBeCloseTo(0, 12);
  });

  it('uses one baseline per model version, shared by its served and shadow streams', () => {
    const state = createWindowState();
    const ctx: WindowContext = { config: windowConfig({ policy: { kind: 'count', size: 2 }, warmupMinCount: 2 }), referenceFor: noReference };
    addPrediction(state, prediction(), ctx);
    addPrediction(state, prediction(), ctx);
    addPrediction(state, prediction({ shadow: true }), ctx);
    const [shadow] = addPrediction(state, prediction({ shadow: true }), ctx);
    expect(shadow!.metrics.map((m) => m.reference)).toEqual(['warmup', 'warmup', 'warmup', 'warmup']);
  });
});

describe('window input checks and bounds', () => {
  it('rejects a prediction it cannot count without changing the state', () => {
    const state = createWindowState();
    const before = JSON.stringify(state);
    expect(() => addPrediction(state, prediction({ confidence: NaN }), countCtx(2))).toThrow(InvalidEventError);
    expect(() => addPrediction(state, prediction({ predicted_index: -1 }), countCtx(2))).toThrow(/predicted_index/);
    expect(() => addPrediction(state, prediction({ predicted_index: 1e9 }), countCtx(2))).toThrow(/predicted_index/);
    expect(JSON.stringify(state)).toBe(before);
  });

  it('keeps at most latencyReservoirSize latency samples per window', () => {
    const state = createWindowState();
    const ctx = countCtx(1000, { latencyReservoirSize: 50 });
    const closed = Array.from({ length: 1000 }, (_, i) => prediction({ total_ms: i + 1 })).flatMap((p) => addPrediction(state, p, ctx));
    expect(closed).toHaveLength(1);
    const s = closed[0]!;
    expect(s.latency_p50_ms).toBeGreaterThan(250);
    expect(s.latency_p50_ms).toBeLessThan(750);
    expect(s.latency_p99_ms).toBeGreaterThanOrEqual(s.latency_p95_ms);
    expect(s.latency_p95_ms).toBeGreaterThanOrEqual(s.latency_p50_ms);
  });

  it('validates its configuration', () => {
    expect(() => windowConfig({ policy: { kind: 'count', size: 0 } })).toThrow(/window size/);
    expect(() => windowConfig({ policy: { kind: 'time', lengthMs: 1.5 } })).toThrow(/window length/);
    expect(() => windowConfig({ warmupMinCount: 0 })).toThrow(/warm-up/);
  });
});
