import { describe, expect, it } from 'vitest';
import { compareVariants, estimateProportion } from '../../../drift-monitor/analytics/accuracy.ts';
import {
  createJoinState,
  joinConfig,
  joinFeedback,
  joinPrediction,
  joinStateFromJSON,
  joinStateToJSON,
  type JoinState,
} from '../../../drift-monitor/analytics/feedback-join.ts';
import { streamKey } from '../../../drift-monitor/analytics/stream-id.ts';
import { T0, feedback, prediction } from './fixtures.ts';

const config = joinConfig({ horizonMs: 10_000, maxPendingRequests: 1000 });
const served1 = { model_name: 'digits', model_version: '1', variant: 'served', experiment_id: null } as const;
const shadow2 = { model_name: 'digits', model_version: '2', variant: 'shadow', experiment_id: null } as const;

function tally(state: JoinState, id: typeof served1 | typeof shadow2) {
  const t = state.accuracy[streamKey(id)];
  return t ? [t.correct, t.labeled] : null;
}

describe('joining feedback to predictions', () => {
  it('joins when the prediction comes first', () => {
    const state = createJoinState();
    expect(joinPrediction(state, prediction({ request_id: 'a', predicted_index: 3 }), config).outcomes).toEqual([]);
    const result = joinFeedback(state, feedback('a', 3, T0 + 500), config);
    expect(result).toEqual({ duplicate: false, outcomes: [{ request_id: 'a', stream: served1, correct: true }], agreements: [] });
    expect(tally(state, served1)).toEqual([1, 1]);
  });

  it('joins when the feedback comes first', () => {
    const state = createJoinState();
    expect(joinFeedback(state, feedback('a', 2), config).outcomes).toEqual([]);
    const result = joinPrediction(state, prediction({ request_id: 'a', predicted_index: 3, predicted_at: T0 + 500 }), config);
    expect(result.outcomes).toEqual([{ request_id: 'a', stream: served1, correct: false }]);
    expect(tally(state, served1)).toEqual([0, 1]);
  });

  it('applies one label to the served prediction and its shadow', () => {
    const state = createJoinState();
    joinPrediction(state, prediction({ request_id: 'a', predicted_index: 1 }), config);
    joinFeedback(state, feedback('a', 1), config);
    const late = joinPrediction(state, prediction({ request_id: 'a', model_version: '2', shadow: true, predicted_index: 4 }), config);
    expect(late.outcomes).toEqual([{ request_id: 'a', stream: shadow2, correct: false }]);
    expect([tally(state, served1), tally(state, shadow2)]).toEqual([
      [1, 1],
      [0, 1],
    ]);
  });

  it('compares labels by name when the feedback has no index', () => {
    const state = createJoinState();
    joinPrediction(state, prediction({ request_id: 'a', predicted_index: 1, predicted_label: 'cat' }), config);
    const { outcomes } = joinFeedback(state, { request_id: 'a', true_label: 'cat', true_index: null, observed_at: T0 }, config);
    expect(outcomes[0]!.correct).toBe(true);
  });

  it('counts a redelivered prediction or label once', () => {
    const state = createJoinState();
    const p = prediction({ request_id: 'a' });
    joinPrediction(state, p, config);
    expect(joinPrediction(state, p, config)).toEqual({ duplicate: true, outcomes: [], agreements: [] });
    joinFeedback(state, feedback('a', 0), config);
    expect(joinFeedback(state, feedback('a', 0), config)).toEqual({ duplicate: true, outcomes: [], agreements: [] });
    expect(tally(state, served1)).toEqual([1, 1]);
    expect(state.counters.duplicates).toBe(2);
  });
});

describe('horizon and capacity', () => {
  it('joins up to the horizon and forgets requests after it', () => {
    const state = createJoinState();
    joinPrediction(state, prediction({ request_id: 'kept', predicted_at: T0 }), config);
    joinPrediction(state, prediction({ request_id: 'lost', predicted_at: T0 + 1 }), config);
    // Watermark T0 + 10 000: 'kept' (first seen at T0) is exactly at the horizon, still there.
    expect(joinFeedback(state, feedback('kept', 0, T0 + 10_000), config).outcomes).toHaveLength(1);
    // Watermark T0 + 10 002: 'lost' (first seen at T0 + 1) is past it and gone; its label waits alone.
    expect(joinFeedback(state, feedback('lost', 0, T0 + 10_002), config).outcomes).toEqual([]);
    // 'kept' had joined; 'lost' was evicted unjoined and is back as a label-only entry.
    expect([...state.pending.keys()]).toEqual(['lost']);
    expect(state.counters.expiredUnjoined).toBe(1);
    joinPrediction(state, prediction({ request_id: 'other', predicted_at: T0 + 30_000 }), config);
    expect([...state.pending.keys()]).toEqual(['other']);
    expect(state.counters.expiredUnjoined).toBe(2);
  });

  it('keeps a late event of an old request only for the horizon after it arrived', () => {
    const state = createJoinState();
    joinPrediction(state, prediction({ request_id: 'new', predicted_at: T0 + 50_000 }), config);
    // Arrives late by event time, but is kept relative to the watermark, not evicted at once.
    joinPrediction(state, prediction({ request_id: 'old', predicted_at: T0 }), config);
    expect(joinFeedback(state, feedback('old', 0, T0 + 55_000), config).outcomes).toHaveLength(1);
  });

  it('drops the oldest request beyond maxPendingRequests', () => {
    const state = createJoinState();
    const small = joinConfig({ horizonMs: 10_000, maxPendingRequests: 3 });
    for (const id of ['a', 'b', 'c', 'd']) joinPrediction(state, prediction({ request_id: id }), small);
    expect([...state.pending.keys()]).toEqual(['b', 'c', 'd']);
    expect(state.counters.evictedForCapacity).toBe(1);
  });
});

describe('shadow agreement', () => {
  it('pairs served and shadow predictions of a request in either order', () => {
    const state = createJoinState();
    joinPrediction(state, prediction({ request_id: 'a', predicted_index: 1 }), config);
    joinPrediction(state, prediction({ request_id: 'a', model_version: '2', shadow: true, predicted_index: 1 }), config);
    joinPrediction(state, prediction({ request_id: 'b', model_version: '2', shadow: true, predicted_index: 2 }), config);
    joinPrediction(state, prediction({ request_id: 'b', predicted_index: 3 }), config);
    joinPrediction(state, prediction({ request_id: 'c', predicted_index: 3 }), config); // no shadow: not compared
    const [pair, ...others] = Object.values(state.agreement);
    expect(others).toEqual([]);
    expect(pair).toEqual({ served: served1, shadow: shadow2, compared: 2, agreed: 1 });
    expect(estimateProportion({ hits: pair!.agreed, trials: pair!.compared })!.rate).toBe(0.5);
  });
});

describe('running accuracy', () => {
  it('equals the accuracy computed directly, whatever the arrival order', () => {
    // A deterministic pseudo-random mix: 600 requests, 3 classes, half with a shadow, 80 % labeled, shuffled.
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const events: Array<() => void> = [];
    const state = createJoinState();
    const big = joinConfig({ horizonMs: 1e9, maxPendingRequests: 10_000 });
    const direct = { served: [0, 0], shadow: [0, 0] };
    for (let i = 0; i < 600; i++) {
      const id = `r${i}`;
      const truth = Math.floor(random() * 3);
      const servedGuess = random() < 0.8 ? truth : (truth + 1) % 3;
      const shadowGuess = random() < 0.6 ? truth : (truth + 2) % 3;
      const hasShadow = random() < 0.5;
      const labeled = random() < 0.8;
      events.push(() => joinPrediction(state, prediction({ request_id: id, predicted_index: servedGuess }), big));
      if (hasShadow) events.push(() => joinPrediction(state, prediction({ request_id: id, model_version: '2', shadow: true, predicted_index: shadowGuess }), big));
      if (labeled) {
        events.push(() => joinFeedback(state, feedback(id, truth), big));
        direct.served[0]! += servedGuess === truth ? 1 : 0;
        direct.served[1]! += 1;
        if (hasShadow) {
          direct.shadow[0]! += shadowGuess === truth ? 1 : 0;
          direct.shadow[1]! += 1;
        }
      }
    }
    for (let i = events.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [events[i], events[j]] = [events[j]!, events[i]!];
    }
    for (const apply of events) apply();
    expect(tally(state, served1)).toEqual(direct.served);
    expect(tally(state, shadow2)).toEqual(direct.shadow);
  });

  it('survives a JSON round trip', () => {
    const state = createJoinState();
    joinPrediction(state, prediction({ request_id: 'a' }), config);
    joinFeedback(state, feedback('z', 1), config);
    const restored = joinStateFromJSON(JSON.parse(JSON.stringify(joinStateToJSON(state))));
    expect([...restored.pending.keys()]).toEqual(['a', 'z']);
    joinFeedback(restored, feedback('a', 0), config);
    expect(tally(restored, served1)).toEqual([1, 1]);
  });
});

describe('compareVariants', () => {
  it('reports difference, z and p of the pooled two-proportion test', () => {
    const result = compareVariants({ hits: 45, trials: 100 }, { hits: 60, trials: 100 });
    expect(result!.difference).toBeCloseTo(-0.15, 12);
    expect(result!.z).toBeCloseTo(-2.12398, 4);
    expect(result!.pValue).toBeCloseTo(0.03367, 4);
    expect(result!.significant).toBe(true);
    expect(compareVariants({ hits: 45, trials: 100 }, { hits: 60, trials: 100 }, 0.01)!.significant).toBe(false);
  });

  it('has nothing to say before both variants have labels', () => {
    expect(compareVariants({ hits: 0, trials: 0 }, { hits: 5, trials: 10 })).toBeNull();
    expect(estimateProportion({ hits: 0, trials: 0 })).toBeNull();
  });
});
