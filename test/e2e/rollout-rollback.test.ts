/**
 * Rollbacks on the whole pipeline. v3-broken (v1 with permuted outputs: confident, normal-looking inputs, wrong
 * classes) is rolled back at its first traffic step on the accuracy guard, with the statistics on the rollouts
 * topic, within a bounded number of its windows. Then v2 with darkened images and no labels is rolled back on
 * the PSI guard alone. After each rollback the baseline serves everything.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import type { RolloutDecisionRecord } from '../../rollouts/records.ts';
import type { SampleSet } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness } from '../../stack/pipeline-harness.ts';
import type { TopicCollector } from '../../stack/topic-collector.ts';
import { collectDecisions, consumerEnv, decisionsOf, printDecisions, samples, startRollout, Traffic, waitForDecision } from './rollout-helpers.ts';

const RATE = 20;
/** The v3-broken rollback must come within this many of its windows (of 50 predictions). */
const MAX_WINDOWS = 3;
const h = new PipelineHarness();
let decisions: TopicCollector<RolloutDecisionRecord>;
let predictions: TopicCollector<Prediction>;
let clean: SampleSet;
let dark: SampleSet;

const guards = {
  accuracy: { alpha: 0.01, min_detectable_difference: 0.1, min_samples: 30 },
  // Windows of 50: one significant PSI (usually predicted_class) can be sampling noise, two in a row are not.
  psi: { consecutive_windows: 2, min_window_predictions: 30 },
  errors: { margin: 0.05, min_samples: 50 },
  latency: { p95_ratio: 5 },
};
const canary = (id: string, candidate: string) => ({
  id, baseline: 'v1', candidate,
  steps: [{ weight: 25, min_duration_seconds: 120, min_labelled: 200 }, { weight: 100, min_duration_seconds: 60, min_labelled: 200 }],
  guards,
});

beforeAll(async () => {
  await h.connect();
  [clean, dark] = await Promise.all([samples('lossless', 1_000, 2_000), samples('dark', 1_000, 3_000)]);
  decisions = await collectDecisions(h);
  predictions = await h.collect<Prediction>(h.clients.topics.predictions);
  await h.setExperiment({ id: 'all-v1', versions: ['v1'], default_version: 'v1', rules: [] });
  await Promise.all([
    h.start('router', 'router'),
    h.start('inference-v1', 'inference', consumerEnv('v1')),
    h.start('inference-v2', 'inference', consumerEnv('v2')),
    h.start('inference-v3-broken', 'inference', consumerEnv('v3-broken')),
  ]);
  await h.start('drift-monitor', 'drift-monitor', { DRIFT_WINDOW_SIZE: '50' });
  await h.start('rollouts', 'rollouts');
}, 600_000);

afterAll(async () => {
  await h.close();
});

/** The baseline serves every request routed under the rollback experiment. */
async function expectBaselineServes(experimentId: string): Promise<void> {
  await predictions.waitFor((items) => items.filter((p) => p.value.experiment_id === experimentId).length >= 20, 60_000);
  const served = predictions.items.filter((p) => p.value.experiment_id === experimentId);
  expect(served.every((p) => p.value.model_version === 'v1' && !p.value.shadow)).toBe(true);
}

it('rolls v3-broken back at its first traffic step on the accuracy guard, within a bounded number of windows', async () => {
  const traffic = new Traffic(h, clean, { rate: RATE, feedback: true }).start();
  try {
    const startedAt = Date.now();
    await startRollout(h, canary('v3-broken-e2e', 'v3-broken'));
    const rolledBack = await waitForDecision(decisions, 'v3-broken-e2e', (d) => d.decision === 'rolled_back', 300_000);
    printDecisions('rollout-rollback-v3-broken', decisionsOf(decisions, 'v3-broken-e2e'), startedAt);
    const windows = rolledBack.candidate_stats?.windows ?? NaN;
    process.stdout.write(`${JSON.stringify({ test: 'rollout-rollback-v3-broken', candidate_windows: windows, max_windows: MAX_WINDOWS, window_size: 50, seconds: (rolledBack.decided_at - startedAt) / 1000 })}\n`);
    expect(rolledBack).toMatchObject({ seq: 1, step_index: 0, step_name: '25%', status: 'rolled_back', experiment_id: 'v3-broken-e2e.rolled-back' });
    expect(windows).toBeGreaterThanOrEqual(1);
    expect(windows).toBeLessThanOrEqual(MAX_WINDOWS);
    const accuracy = rolledBack.guards.find((g) => g.name === 'accuracy')!;
    expect(accuracy.outcome).toBe('fail');
    expect(accuracy.statistics.candidate_accuracy).toBeLessThan(0.1);
    expect(accuracy.statistics.baseline_accuracy).toBeGreaterThan(0.8);
    expect(accuracy.statistics.p_value).toBeLessThan(0.01);
    expect(rolledBack.reason).toMatch(/^guard accuracy failed: candidate \d+\.\d% \(\d+\/\d+\) vs baseline/);
    await expectBaselineServes('v3-broken-e2e.rolled-back');
  } finally {
    await traffic.stop();
  }
}, 420_000);

it('rolls back a candidate whose inputs drift (PSI significant), with no labels at all', async () => {
  const traffic = new Traffic(h, dark, { rate: RATE, feedback: false }).start();
  try {
    const startedAt = Date.now();
    await startRollout(h, canary('v2-dark-e2e', 'v2'));
    const rolledBack = await waitForDecision(decisions, 'v2-dark-e2e', (d) => d.decision === 'rolled_back', 300_000);
    printDecisions('rollout-rollback-drift', decisionsOf(decisions, 'v2-dark-e2e'), startedAt);
    expect(rolledBack).toMatchObject({ seq: 1, step_index: 0, status: 'rolled_back', experiment_id: 'v2-dark-e2e.rolled-back' });
    expect(rolledBack.guards.filter((g) => g.outcome === 'fail').map((g) => g.name)).toEqual(['psi']);
    const psi = rolledBack.guards.find((g) => g.name === 'psi')!;
    expect(psi.observed).toBeGreaterThan(0.25);
    expect(psi.message).toMatch(/candidate PSI significant \(.*brightness.*\)/);
    expect(rolledBack.guards.find((g) => g.name === 'accuracy')?.outcome).toBe('pending');
    await expectBaselineServes('v2-dark-e2e.rolled-back');
  } finally {
    await traffic.stop();
  }
}, 420_000);
