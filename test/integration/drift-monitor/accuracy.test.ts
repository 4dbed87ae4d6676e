/**
 * Online accuracy on the real stack, with feedback for every request: v1 and v2 each serve half of the requests of
 * one experiment and v2 also shadows v1's half. The accuracy the monitor reports per variant (the running tally on
 * /api/state and the sum over its DriftReports) equals the accuracy computed directly from the predictions and the
 * labels, and so do the A/B comparison and the shadow agreement.
 */
import { afterAll, expect, it } from 'vitest';
import type { WindowSummary } from '../../../drift-monitor/analytics/window-summary.ts';
import { PipelineHarness } from '../../../stack/pipeline-harness.ts';
import { directCorrect, predict, publishFeedback, publishPredictions, releaseModels, requestsFor, samples, waitForState } from './helpers.ts';

const WINDOW = 100;
const PER_VERSION = 300;
const EXPERIMENT = 'ab-accuracy';
const h = new PipelineHarness();

afterAll(async () => {
  await h.close();
  await releaseModels();
});

it('reports per-variant accuracy equal to the direct computation, served and shadow', async () => {
  await h.connect();
  // The mixed set: PNG, JPEG and RGB images at other sizes, as upstream services would send them.
  const set = await samples('mixed', 2 * PER_VERSION, 2_000);
  const all = requestsFor(set);
  const [forV1, forV2] = [all.slice(0, PER_VERSION), all.slice(PER_VERSION)];
  const v1 = await predict(set, forV1, { version: 'v1', experimentId: EXPERIMENT, shadow: false });
  const v2 = await predict(set, forV2, { version: 'v2', experimentId: EXPERIMENT, shadow: false });
  const shadow = await predict(set, forV1, { version: 'v2', experimentId: EXPERIMENT, shadow: true });

  const reports = await h.collect<WindowSummary>(h.clients.topics.drift);
  const monitor = await h.start('drift-monitor', 'drift-monitor', { DRIFT_WINDOW_SIZE: String(WINDOW) });
  // Labels first, so every prediction is labeled in the window it is counted in and the window sums are exact.
  await publishFeedback(h, all);
  await waitForState(monitor, (s) => s.join.pending_requests === all.length, 60_000, 'all feedback buffered');
  await publishPredictions(h, [...v1, ...v2, ...shadow]);
  const state = await waitForState(monitor, (s) => s.streams.length === 3 && s.streams.every((st) => st.windows_closed === PER_VERSION / WINDOW), 90_000, 'every window closed');
  await reports.waitFor((items) => items.length === 3 * (PER_VERSION / WINDOW), 30_000);

  const direct = {
    'v1 served': { correct: directCorrect(v1, forV1), of: PER_VERSION },
    'v2 served': { correct: directCorrect(v2, forV2), of: PER_VERSION },
    'v2 shadow': { correct: directCorrect(shadow, forV1), of: PER_VERSION },
  };
  const stream = (version: string, variant: string) => state.streams.find((s) => s.model_version === version && s.variant === variant)!;
  const fromReports = (version: string, variant: string) => {
    const own = reports.items.map((r) => r.value).filter((r) => r.model_version === version && r.variant === variant);
    return { labeled: own.reduce((n, r) => n + r.labeled_count, 0), correct: Math.round(own.reduce((n, r) => n + (r.accuracy ?? 0) * r.labeled_count, 0)) };
  };
  const measured = Object.fromEntries(Object.keys(direct).map((name) => {
    const [version, variant] = name.split(' ') as [string, string];
    const s = stream(version, variant);
    return [name, { running: `${s.accuracy?.hits}/${s.accuracy?.trials}`, reports: fromReports(version, variant), interval: [s.accuracy?.low, s.accuracy?.high] }];
  }));
  process.stdout.write(`${JSON.stringify({ test: 'accuracy', direct, measured, comparisons: state.comparisons.map((c) => ({ a: c.a_title, b: c.b_title, difference: c.difference, z: c.z, p: c.pValue })), agreement: state.agreement.map((a) => `${a.hits}/${a.trials}`) })}\n`);

  for (const [name, { correct, of }] of Object.entries(direct)) {
    const [version, variant] = name.split(' ') as [string, string];
    const s = stream(version, variant);
    expect(s.experiment_id).toBe(EXPERIMENT);
    expect({ name, hits: s.accuracy?.hits, trials: s.accuracy?.trials }).toEqual({ name, hits: correct, trials: of });
    expect(s.accuracy!.low).toBeLessThan(correct / of);
    expect(s.accuracy!.high).toBeGreaterThan(correct / of);
    expect({ name, ...fromReports(version, variant) }).toEqual({ name, labeled: of, correct });
  }
  // The A/B test compares the two served versions of the experiment.
  expect(state.comparisons).toHaveLength(1);
  const [comparison] = state.comparisons;
  const served = [comparison!.a, comparison!.b].map((key) => state.streams.find((s) => s.key === key)!.model_version).join(',');
  const [accA, accB] = served === 'v1,v2' ? [direct['v1 served'], direct['v2 served']] : [direct['v2 served'], direct['v1 served']];
  expect(comparison!.difference).toBeCloseTo(accA.correct / PER_VERSION - accB.correct / PER_VERSION, 12);
  // Shadow agreement over the requests both v1 and its v2 shadow answered.
  const agreed = v1.filter((p, i) => p.predicted_index === shadow[i]!.predicted_index).length;
  expect(state.agreement.map((a) => [a.hits, a.trials])).toEqual([[agreed, PER_VERSION]]);
  expect(state.join.duplicates).toBe(0);
}, 300_000);
