/** What the service does with streams the analytics retired: their metric series, severity memory, and the setting. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { EnvReader } from '../../../../platform/config.ts';
import { applyPrediction, closeDue, createDriftState, driftConfig, type DriftContext } from '../../../../drift-monitor/analytics/drift-state.ts';
import type { StreamId } from '../../../../drift-monitor/analytics/stream-id.ts';
import type { WindowSummary } from '../../../../drift-monitor/analytics/window-summary.ts';
import { createDriftMetrics, forgetStreams, recordWindow, streamLabels } from '../../../../drift-monitor/service/metrics.ts';
import { readDriftSettings } from '../../../../drift-monitor/service/settings.ts';
import { SeverityTracker } from '../../../../drift-monitor/service/severity-log.ts';
import { T0, prediction, withReference } from '../fixtures.ts';

const HOUR = 3_600_000;
const CTX: DriftContext = { config: driftConfig({ window: { policy: { kind: 'count', size: 10 } } }), referenceFor: withReference };

/** Two experiments' streams with a closed window each: 'old' a day and a bit before 'new'. */
function twoExperiments() {
  const state = createDriftState();
  const closed: WindowSummary[] = [];
  for (const [experiment, at] of [['old', T0], ['new', T0 + 25 * HOUR]] as const) {
    for (let i = 0; i < 10; i++) {
      closed.push(...applyPrediction(state, prediction({ experiment_id: experiment, predicted_at: at + i, predicted_index: i % 4 }), CTX));
    }
  }
  return { state, closed };
}

describe('retired streams in the service', () => {
  it('lose their metric series; the other streams keep theirs', async () => {
    const { state, closed } = twoExperiments();
    const registry = new Registry();
    const metrics = createDriftMetrics(registry, () => state);
    for (const summary of closed) {
      recordWindow(metrics, summary);
      metrics.predictions.inc({ ...streamLabels(summary), outcome: 'counted' }, summary.count);
    }
    const old: StreamId = closed[0]!;
    expect(await registry.metrics()).toContain('experiment="old"');
    closeDue(state, T0 + 25 * HOUR, CTX);
    await forgetStreams(metrics, [old]);
    const text = await registry.metrics();
    expect(text).not.toContain('experiment="old"');
    for (const name of ['drift_psi', 'drift_severity', 'drift_windows_closed_total', 'drift_mean_confidence', 'drift_class_share', 'drift_window_latency_seconds', 'drift_predictions_total']) {
      expect(text, name).toMatch(new RegExp(`^${name}\\{[^}]*experiment="new"`, 'm'));
    }
  });

  it('are forgotten by the severity log, which then treats them as new', () => {
    const { closed } = twoExperiments();
    const significant = { ...closed[0]!, severity: 'significant' as const };
    const severities = new SeverityTracker();
    severities.seed([significant]);
    expect(severities.observe(significant)).toBeNull();
    severities.forget([significant]);
    expect(severities.observe(significant)).toMatchObject({ from: 'stable', to: 'significant', rose: true });
  });

  it('are retired after DRIFT_STREAM_RETENTION_SECONDS (a day by default), never before the feedback horizon', () => {
    const read = (env: Record<string, string>) => {
      const reader = new EnvReader(env);
      const s = readDriftSettings(reader);
      reader.done();
      return s.drift.streamRetentionMs;
    };
    expect(read({})).toBe(24 * HOUR);
    expect(read({ DRIFT_STREAM_RETENTION_SECONDS: '7200' })).toBe(2 * HOUR);
    expect(() => read({ DRIFT_STREAM_RETENTION_SECONDS: '600', DRIFT_FEEDBACK_HORIZON_SECONDS: '3600' }))
      .toThrow(expect.objectContaining({ message: expect.stringMatching(/DRIFT_STREAM_RETENTION_SECONDS.*at least DRIFT_FEEDBACK_HORIZON_SECONDS \(3600\)/s) }));
  });
});
