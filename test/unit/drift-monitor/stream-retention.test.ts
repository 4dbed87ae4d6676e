/**
 * The drift monitor's state holds the recent experiments, not every one ever run: each rollout or A/B test adds
 * streams under a new experiment id, and before retirement they all stayed in the state and in every snapshot.
 * Driven as the service drives it: records through the DriftProcessor, a tick calling closeDue, the snapshot.
 */
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { buildDashboardState } from '../../../drift-monitor/analytics/dashboard-state.ts';
import {
  applyPrediction,
  driftConfig,
  driftStateFromJSON,
  driftStateToJSON,
  retireIdleExperiments,
  type DriftContext,
} from '../../../drift-monitor/analytics/drift-state.ts';
import type { FeedbackInput, PredictionInput } from '../../../drift-monitor/analytics/events.ts';
import type { WindowSummary } from '../../../drift-monitor/analytics/window-summary.ts';
import { DriftProcessor } from '../../../drift-monitor/service/drift-processor.ts';
import { T0, feedback, prediction, withReference } from './fixtures.ts';

const HOUR = 3_600_000;
const TOPICS = { predictions: 'x.predictions', feedback: 'x.feedback' };
const CTX: DriftContext = { config: driftConfig({ window: { policy: { kind: 'count', size: 10 } } }), referenceFor: withReference };
/** Each experiment: v1 served with v2 as its shadow for 2.5 h of event time, 120 requests, half labelled. */
const EXPERIMENT_MS = 2.5 * HOUR;
const REQUESTS_PER_EXPERIMENT = 120;

class Feed {
  readonly processor = new DriftProcessor(CTX, TOPICS);
  readonly closed: WindowSummary[] = [];
  private offset = 0;
  private request = 0;

  private apply(topic: string, values: (PredictionInput | FeedbackInput)[]): void {
    const records = values.map((value) => ({ message: { offset: String(this.offset++) } as KafkaMessage, value }));
    this.closed.push(...this.processor.applyChunk(topic, 0, records, []).closed);
  }

  /** One request of an experiment (null: outside any) at event time `at`, then (unless told not to) the service's tick. */
  send(experiment: string | null, at: number, tick = true): void {
    const request_id = `r${this.request++}`;
    const predicted_index = this.request % 4;
    const common = { request_id, experiment_id: experiment, predicted_at: at, predicted_index };
    this.apply(TOPICS.predictions, [prediction({ ...common, model_version: '1' }), prediction({ ...common, model_version: '2', shadow: true })]);
    if (this.request % 2 === 0) this.apply(TOPICS.feedback, [feedback(request_id, predicted_index, at + 1_000)]);
    if (tick) this.tick(this.processor.state.join.watermark!);
  }

  tick(now: number): void {
    this.closed.push(...this.processor.closeDue(now));
  }

  runExperiment(experiment: string, start: number): void {
    for (let i = 0; i < REQUESTS_PER_EXPERIMENT; i++) this.send(experiment, start + (i * EXPERIMENT_MS) / REQUESTS_PER_EXPERIMENT);
  }

  snapshotBytes(): number {
    return JSON.stringify(this.processor.snapshot('m', 0)).length;
  }

  experiments(): Set<string | null> {
    const { state } = this.processor;
    return new Set([
      ...Object.values(state.windows.streams).map((s) => s.id.experiment_id),
      ...Object.values(state.recent).flatMap((history) => history.map((s) => s.experiment_id)),
      ...Object.values(state.join.accuracy).map((t) => t.stream.experiment_id),
      ...Object.values(state.join.agreement).map((t) => t.served.experiment_id),
    ]);
  }
}

describe('stream retention', () => {
  it('keeps the state and the snapshot bounded over many rollouts, holding the experiments of the last retention', () => {
    const feed = new Feed();
    feed.send(null, T0); // traffic outside any experiment, then none for days: kept
    const sizes: number[] = [];
    for (let e = 0; e < 60; e++) {
      feed.runExperiment(`rollout-${e}`, T0 + e * EXPERIMENT_MS);
      if (e === 29 || e === 59) sizes.push(feed.snapshotBytes());
    }
    // 24 h of retention at 2.5 h per experiment: the running one and the 9 before it (the 10th ended 25 h ago).
    const live = Array.from({ length: 10 }, (_, i) => `rollout-${50 + i}`);
    expect(feed.experiments()).toEqual(new Set([null, ...live]));
    expect(Object.keys(feed.processor.state.windows.streams)).toHaveLength(2 * 10 + 2);
    // Same experiments in the window, same size: 30 more rollouts did not grow it (before: twice the streams).
    expect(sizes[1]! / sizes[0]!).toBeLessThan(1.05);
  });

  it('still reports, and shows only live experiments on the dashboard', () => {
    const feed = new Feed();
    for (let e = 0; e < 20; e++) feed.runExperiment(`rollout-${e}`, T0 + e * EXPERIMENT_MS);
    // Every experiment's windows were closed and reported while it ran (12 windows of 10 per stream).
    for (let e = 0; e < 20; e++) expect(feed.closed.filter((s) => s.experiment_id === `rollout-${e}`)).toHaveLength(24);
    const dashboard = buildDashboardState(feed.processor.state, CTX, T0 + 20 * EXPERIMENT_MS);
    expect(new Set(dashboard.streams.map((s) => s.experiment_id))).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `rollout-${10 + i}`)));
    expect(dashboard.streams.every((s) => s.accuracy !== null)).toBe(true);
  });

  it('retires nothing while all traffic pauses, however long: only event time moves it', () => {
    const feed = new Feed();
    feed.runExperiment('last', T0);
    feed.tick(T0 + 30 * 24 * HOUR); // wall-clock time once caught up, a month later
    expect(feed.experiments()).toEqual(new Set(['last']));
    expect(feed.processor.dirty).toBe(true);
  });

  it('asks for a snapshot when a tick retires streams, and not when there is nothing to retire', () => {
    const feed = new Feed();
    feed.runExperiment('old', T0);
    feed.runExperiment('new', T0 + 24 * HOUR);
    expect(feed.experiments()).toEqual(new Set(['old', 'new']));
    // The last prediction of 'new' (at T0 + 24 h + 148.75 min) counted, the tick right after it not yet run.
    const state = feed.processor.state;
    const restored = driftStateFromJSON(JSON.parse(JSON.stringify(driftStateToJSON(state))));
    feed.processor.dirty = false;
    feed.tick(state.join.watermark!);
    expect(feed.processor.dirty).toBe(false); // 'old' ended 24 h before 'new's last prediction: not yet
    feed.send('new', T0 + 26.5 * HOUR, false);
    feed.processor.dirty = false;
    feed.tick(state.join.watermark!);
    expect(feed.experiments()).toEqual(new Set(['new']));
    expect(feed.processor.dirty).toBe(true);
    expect(retireIdleExperiments(restored, CTX.config.streamRetentionMs)).toEqual([]);
  });

  it('retires the streams of a snapshot written before streams kept lastSeenAt, by their last window', () => {
    const feed = new Feed();
    feed.runExperiment('old', T0);
    feed.runExperiment('new', T0 + 12 * HOUR);
    const json = JSON.parse(JSON.stringify(driftStateToJSON(feed.processor.state))) as ReturnType<typeof driftStateToJSON>;
    for (const stream of Object.values(json.windows.streams)) delete stream.lastSeenAt;
    const restored = driftStateFromJSON(json);
    const late = { request_id: 'late', experiment_id: 'new', predicted_at: T0 + 27 * HOUR };
    applyPrediction(restored, prediction({ ...late, model_version: '1' }), CTX); // 'old' ended at T0 + 2.5 h: over 24 h before
    const retired = retireIdleExperiments(restored, CTX.config.streamRetentionMs);
    expect(retired.map((id) => `${id.experiment_id} ${id.model_version} ${id.variant}`).sort()).toEqual(['old 1 served', 'old 2 shadow']);
    expect(Object.values(restored.windows.streams).map((s) => s.id.experiment_id)).toEqual(['new', 'new']);
  });

  it('refuses a retention shorter than the feedback horizon', () => {
    expect(() => driftConfig({ join: { horizonMs: 2 * HOUR }, streamRetentionMs: HOUR })).toThrow(/at least the feedback join horizon/);
  });
});
