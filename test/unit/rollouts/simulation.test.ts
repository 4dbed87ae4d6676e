/**
 * The simulator's results at a fixed seed, against the goals of issue 16 and against the figures of the full
 * run (npm run rollout -- simulate: 2000 rollouts per scenario, seed 1), within binomial tolerance. Fewer
 * rollouts here, and another seed, so the test is an independent sample of the same rates.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { defaultScenarios, prng, simulateRollout, simulateScenario, type Scenario } from '../../../rollouts/simulation.ts';
import { checkRolloutSpec } from '../../../rollouts/spec.ts';

const ROLLOUTS = 100;

/** Share of the goal's outcome in the full run (2000 rollouts, seed 1), by scenario. */
const FULL_RUN: Record<string, number> = {
  '90 %, margin 3 pp: equal': 0.014,
  '90 %, margin 3 pp: worse by the margin': 0,
  '90 %, margin 3 pp: worse by twice the margin': 1,
  '90 %, margin 3 pp: better by the margin': 1,
  'near 100 %, margin 1 pp: equal': 0.029,
  'near 100 %, margin 1 pp: worse by the margin': 0,
  'near 100 %, margin 1 pp: worse by twice the margin': 1,
  'near 100 %, margin 1 pp: better by the margin': 1,
  'near 0 %, margin 1 pp: equal': 0.015,
  'near 0 %, margin 1 pp: worse by the margin': 0,
  'near 0 %, margin 1 pp: worse by twice the margin': 1,
  'near 0 %, margin 1 pp: better by the margin': 1,
  'sticky 20 users, correlation 0.3, margin 30 pp: equal': 0.025,
  'sticky 20 users, correlation 0.3, margin 30 pp: worse by the margin': 0,
  'sticky 20 users, correlation 0.3, margin 30 pp: worse by twice the margin': 1,
  'sticky 20 users, correlation 0.3, margin 30 pp: better by the margin': 1,
  'label-free, 90 %, margin 3 pp: equal': 0,
  'label-free, 90 %, margin 3 pp: worse by the margin': 0,
  'label-free, 90 %, margin 3 pp: worse by twice the margin': 1,
  'label-free, 90 %, margin 3 pp: better by the margin': 1,
  'errors: dead letters 0.8 % vs 0.5 %, margin 1 pp': 0.017,
};

/** Three binomial standard deviations of a share near `p` over `n` trials (at least that of one event in n). */
const tolerance = (p: number, n: number): number => {
  const q = Math.min(Math.max(p, 1 / n), 1 - 1 / n);
  return 3 * Math.sqrt((q * (1 - q)) / n);
};

describe('rollout simulator (the real state machine and guards)', () => {
  const scenarios = defaultScenarios();

  it('has the figures of the full run for every scenario', () => {
    expect(scenarios.map((s) => s.name)).toEqual(Object.keys(FULL_RUN));
  });

  it.each(scenarios.map((s): [string, Scenario] => [s.name, s]))('%s: meets its goal per whole rollout, as in the full run', (_, scenario) => {
    const r = simulateScenario(scenario, { rollouts: ROLLOUTS, seed: 7, rate: 40 });
    const goal = scenario.goal;
    const bound = 'at_most' in goal ? goal.at_most : goal.at_least;
    if ('at_most' in goal) expect(r.goal_share).toBeLessThanOrEqual(bound + tolerance(bound, ROLLOUTS));
    else expect(r.goal_share).toBeGreaterThanOrEqual(bound - tolerance(bound, ROLLOUTS));
    expect(Math.abs(r.goal_share - FULL_RUN[scenario.name]!)).toBeLessThanOrEqual(tolerance(FULL_RUN[scenario.name]!, ROLLOUTS));
    if (scenario.errors) expect(r.failed_by.errors ?? 0).toBe(0);
  });

  it('is deterministic for a seed', () => {
    const scenario = scenarios[3]!;
    const a = simulateScenario(scenario, { rollouts: 10, seed: 3, rate: 40 });
    expect(simulateScenario(scenario, { rollouts: 10, seed: 3, rate: 40 })).toEqual(a);
  });

  it('completes the demo\'s rollout (rollouts/examples/v2-demo.json) on labelled traffic with v1 and v2 at their test accuracies', async () => {
    const spec = checkRolloutSpec(JSON.parse(await readFile(new URL('../../../rollouts/examples/v2-demo.json', import.meta.url), 'utf8')));
    const demo: Scenario = { name: 'demo', baseline: 0.9081, candidate: 0.9311, margin: 0.05, goal: { outcome: 'completed', at_least: 0.9 } };
    // The demo's drift windows are 200 predictions; 40 labelled requests per second.
    const runs = Array.from({ length: 30 }, (_, i) => simulateRollout(demo, spec, 40, prng(100 + i), { window: 200, maxRequests: 100_000 }));
    expect(runs.filter((r) => r.outcome === 'completed').length).toBeGreaterThanOrEqual(28);
    for (const r of runs.filter((x) => x.outcome === 'completed')) expect(r.step_labels).toHaveLength(4);
  });
});
