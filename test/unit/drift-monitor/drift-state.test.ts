import { describe, expect, it } from 'vitest';
import {
  applyFeedback,
  applyPrediction,
  closeDue,
  createDriftState,
  driftConfig,
  driftStateFromJSON,
  driftStateToJSON,
  type DriftContext,
  type DriftState,
} from '../../../drift-monitor/analytics/drift-state.ts';
import type { FeedbackInput, PredictionInput } from '../../../drift-monitor/analytics/events.ts';
import type { WindowSummary } from '../../../drift-monitor/analytics/window-summary.ts';
import { T0, feedback, prediction, withReference } from './fixtures.ts';

type Event = { kind: 'prediction'; value: PredictionInput } | { kind: 'feedback'; value: FeedbackInput } | { kind: 'tick'; at: number };

/** A reproducible stream: two models (one with a manifest, one warming up), shadows, labels before and after. */
function eventStream(n: number): Event[] {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const events: Event[] = [];
  const labels: FeedbackInput[] = [];
  for (let i = 0; i < n; i++) {
    const at = T0 + i * 250;
    const truth = Math.floor(random() * 4);
    const request_id = `r${i}`;
    const drift = i > n / 2 ? 0.3 : 0;
    const common = { request_id, predicted_at: at, experiment_id: 'exp-1' };
    const version = random() < 0.5 ? '1' : '3';
    events.push({
      kind: 'prediction',
      value: prediction({
        ...common,
        model_version: version,
        predicted_index: random() < 0.8 ? truth : Math.floor(random() * 4),
        confidence: 0.5 + random() / 2,
        brightness: Math.min(1, random() * 0.6 + drift),
        contrast: random() * 0.4,
        total_ms: 5 + random() * 100,
      }),
    });
    if (random() < 0.3) {
      events.push({ kind: 'prediction', value: prediction({ ...common, model_version: '2', shadow: true, predicted_index: Math.floor(random() * 4) }) });
    }
    if (random() < 0.1) events.push({ kind: 'prediction', value: (events[events.length - 1] as { value: PredictionInput }).value }); // redelivery
    const label = feedback(request_id, truth, at + Math.floor(random() * 20_000));
    if (random() < 0.2) events.splice(events.length - 1, 0, { kind: 'feedback', value: label }); // label first
    else if (random() < 0.7) labels.push(label);
    while (labels.length > 0 && labels[0]!.observed_at <= at) events.push({ kind: 'feedback', value: labels.shift()! });
    if (i % 40 === 0) events.push({ kind: 'tick', at });
  }
  return events;
}

function run(state: DriftState, events: readonly Event[], ctx: DriftContext): WindowSummary[] {
  const out: WindowSummary[] = [];
  for (const e of events) {
    if (e.kind === 'prediction') out.push(...applyPrediction(state, e.value, ctx));
    else if (e.kind === 'feedback') applyFeedback(state, e.value, ctx);
    else out.push(...closeDue(state, e.at, ctx));
  }
  return out;
}

describe('drift state snapshot and restore', () => {
  for (const policy of [{ kind: 'count', size: 50 }, { kind: 'time', lengthMs: 10_000 }] as const) {
    it(`gives identical results with a JSON round trip in the middle (${policy.kind} windows)`, () => {
      const ctx: DriftContext = {
        config: driftConfig({ window: { policy, latencyReservoirSize: 16, warmupMinCount: 50 }, join: { horizonMs: 30_000, maxPendingRequests: 200 } }),
        referenceFor: withReference,
      };
      const events = eventStream(1200);
      const straight = createDriftState();
      const expected = run(straight, events, ctx);
      expect(expected.length).toBeGreaterThan(20);
      expect(expected.some((s) => s.metrics.some((m) => m.reference === 'warmup'))).toBe(true);
      expect(expected.some((s) => s.labeled_count > 0)).toBe(true);

      const cut = Math.floor(events.length * 0.47);
      const first = createDriftState();
      const before = run(first, events.slice(0, cut), ctx);
      const snapshot = JSON.stringify(driftStateToJSON(first));
      const restored = driftStateFromJSON(JSON.parse(snapshot));
      const after = run(restored, events.slice(cut), ctx);

      expect([...before, ...after]).toEqual(expected);
      expect(JSON.stringify(driftStateToJSON(restored))).toBe(JSON.stringify(driftStateToJSON(straight)));
    });
  }

  it('refuses a snapshot of another format with a message that says what to do', () => {
    expect(() => driftStateFromJSON({ format: 99 })).toThrow(/not format 1.*changelog topic/);
    expect(() => driftStateFromJSON(null)).toThrow(/not format 1/);
  });
});

describe('drift state reducers', () => {
  const ctx: DriftContext = { config: driftConfig({ window: { policy: { kind: 'count', size: 3 } }, historyPerStream: 2 }), referenceFor: withReference };

  it('counts a redelivered prediction once', () => {
    const state = createDriftState();
    const p = prediction({ request_id: 'x' });
    applyPrediction(state, p, ctx);
    applyPrediction(state, p, ctx);
    expect(Object.values(state.windows.streams)[0]!.open!.count).toBe(1);
  });

  it('credits a label to the window open when it joins, whichever came first', () => {
    const state = createDriftState();
    applyFeedback(state, feedback('early', 1), ctx); // label before its prediction
    applyPrediction(state, prediction({ request_id: 'late-label', predicted_index: 1 }), ctx);
    applyFeedback(state, feedback('late-label', 2), ctx); // label after its prediction
    applyPrediction(state, prediction({ request_id: 'other' }), ctx);
    const [summary] = applyPrediction(state, prediction({ request_id: 'early', predicted_index: 1 }), ctx);
    expect(summary).toMatchObject({ labeled_count: 2, accuracy: 0.5 });
  });

  it('keeps the last historyPerStream summaries per stream', () => {
    const state = createDriftState();
    for (let i = 0; i < 9; i++) applyPrediction(state, prediction(), ctx);
    expect(Object.values(state.recent)[0]!.map((s) => s.window_index)).toEqual([1, 2]);
  });

  it('counts served/shadow agreement into the shadow stream\'s window, whichever prediction came first', () => {
    const ctx: DriftContext = { config: driftConfig({ window: { policy: { kind: 'count', size: 4 } } }), referenceFor: withReference };
    const state = createDriftState();
    const closed: WindowSummary[] = [];
    // 8 requests; even ones served first, odd ones shadow first; the shadow agrees on requests 0, 1, 2, 4 and 5.
    for (let i = 0; i < 8; i++) {
      const served = prediction({ request_id: `p${i}`, experiment_id: 'e', predicted_index: i % 4 });
      const shadow = prediction({ request_id: `p${i}`, experiment_id: 'e', model_version: '2', shadow: true, predicted_index: [0, 1, 2, 0, 0, 1, 3, 0][i]! });
      for (const p of i % 2 === 0 ? [served, shadow] : [shadow, served]) closed.push(...applyPrediction(state, p, ctx));
    }
    const shadowWindows = closed.filter((s) => s.variant === 'shadow');
    const servedWindows = closed.filter((s) => s.variant === 'served');
    // The shadows of requests 3 and 7 closed their windows before the served predictions arrived: those pairs had no open window.
    expect(shadowWindows.map((s) => [s.agreement_compared, s.agreement_agreed])).toEqual([[3, 3], [3, 2]]);
    expect(servedWindows.every((s) => s.agreement_compared === 0)).toBe(true);
    expect(Object.values(state.join.agreement).map((t) => [t.compared, t.agreed])).toEqual([[8, 5]]);
  });
});
