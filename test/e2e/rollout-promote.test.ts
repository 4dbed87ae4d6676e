/**
 * A rollout of v2 on the whole pipeline: router, v1 and v2 inference consumers, the drift monitor and the rollout
 * controller, with clean labelled traffic. v2 goes shadow → 50 % → 100 % and completes on its own. The
 * controller is SIGKILLed in the middle of the 50 % step: the new process resumes that step (its evidence read
 * again from the topics) and no decision is made twice. The dashboard's rollout panel shows the decisions.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import type { RolloutDecisionRecord } from '../../rollouts/records.ts';
import { PipelineHarness } from '../../stack/pipeline-harness.ts';
import type { RunningProcess } from '../../stack/pipeline-services.ts';
import type { TopicCollector } from '../../stack/topic-collector.ts';
import { collectDecisions, consumerEnv, decisionsOf, printDecisions, samples, startRollout, Traffic, waitForDecision } from './rollout-helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RATE = 15;
const h = new PipelineHarness();
let decisions: TopicCollector<RolloutDecisionRecord>;
let predictions: TopicCollector<Prediction>;
let controller: RunningProcess;
let monitor: RunningProcess;
let traffic: Traffic;

const rollout = {
  id: 'v2-e2e',
  baseline: 'v1',
  candidate: 'v2',
  sticky_by: 'stickiness_key',
  steps: [
    { name: 'shadow', shadow: true, min_duration_seconds: 10, min_labelled: 150 },
    { weight: 50, min_duration_seconds: 20, min_labelled: 150 },
    { weight: 100, min_duration_seconds: 10, min_labelled: 150 },
  ],
  guards: {
    accuracy: { alpha: 0.01, min_detectable_difference: 0.1, min_samples: 50 },
    // Windows of 100 predictions: one significant PSI in a run of windows can be noise, two in a row is not.
    psi: { consecutive_windows: 2, min_window_predictions: 50 },
    errors: { margin: 0.05, min_samples: 50 },
    // Generous: on a shared 2-core machine the v2 consumer's queue, not the model, decides its latency.
    latency: { p95_ratio: 5 },
    agreement: { min_rate: 0.8, min_samples: 100 },
  },
};

beforeAll(async () => {
  await h.connect();
  const clean = await samples('lossless', 2_000, 0);
  decisions = await collectDecisions(h);
  predictions = await h.collect<Prediction>(h.clients.topics.predictions);
  await h.setExperiment({ id: 'all-v1', versions: ['v1', 'v2'], default_version: 'v1', rules: [] });
  await Promise.all([
    h.start('router', 'router'),
    h.start('inference-v1', 'inference', consumerEnv('v1')),
    h.start('inference-v2', 'inference', consumerEnv('v2')),
  ]);
  monitor = await h.start('drift-monitor', 'drift-monitor', { DRIFT_WINDOW_SIZE: '100' });
  controller = await h.start('rollouts', 'rollouts');
  traffic = new Traffic(h, clean, { rate: RATE, feedback: true }).start();
}, 600_000);

afterAll(async () => {
  await traffic?.stop();
  await h.close();
});

it('promotes v2 from shadow to 100 % on clean labelled traffic, and a controller killed mid-rollout resumes the same step without deciding twice', async () => {
  const startedAt = Date.now();
  await startRollout(h, rollout);
  const promoted = await waitForDecision(decisions, 'v2-e2e', (d) => d.decision === 'promoted', 240_000);
  expect(promoted).toMatchObject({ seq: 1, previous_step_index: 0, step_index: 1, experiment_id: 'v2-e2e.step-2' });
  expect(promoted.candidate_stats).toMatchObject({ version: 'v2', variant: 'shadow' });
  expect(promoted.guards.filter((g) => g.outcome !== 'off').every((g) => g.outcome === 'pass')).toBe(true);

  // Into the 50 % step, then a crash.
  await new Promise((r) => setTimeout(r, 8_000));
  await controller.kill();
  const killedAt = Date.now();
  controller = await h.start('rollouts-restarted', 'rollouts');
  const view = await (await fetch(`${controller.opsUrl}/api/rollouts`)).json() as { rollouts: { id: string; step_index: number; status: string }[] };
  expect(view.rollouts.find((r) => r.id === 'v2-e2e')).toMatchObject({ step_index: 1, status: 'running' });
  process.stdout.write(`${JSON.stringify({ test: 'rollout-resume', killed_in_step: 2, restarted_ready_seconds: (Date.now() - killedAt) / 1000, resumed_step: view.rollouts[0]?.step_index !== undefined ? view.rollouts[0].step_index + 1 : null })}\n`);

  const completed = await waitForDecision(decisions, 'v2-e2e', (d) => d.decision === 'completed', 360_000);
  const mine = decisionsOf(decisions, 'v2-e2e');
  printDecisions('rollout-promote', mine, startedAt);
  expect(mine.map((d) => [d.seq, d.decision, d.step_index])).toEqual([[0, 'started', 0], [1, 'promoted', 1], [2, 'promoted', 2], [3, 'completed', 2]]);
  expect(completed).toMatchObject({ status: 'completed', experiment_id: 'v2-e2e.completed' });
  expect(completed.baseline_stats).toMatchObject({ version: 'v1', variant: 'shadow' });
  expect(mine.find((d) => d.seq === 2)?.controller_id).toBe('controller');

  // Each step's predictions carry its experiment, and once completed v2 serves every new request.
  const byExperiment = (id: string, version: string, shadow: boolean) =>
    predictions.items.filter((p) => p.value.experiment_id === id && p.value.model_version === version && p.value.shadow === shadow).length;
  expect(byExperiment('v2-e2e.step-1', 'v2', true)).toBeGreaterThan(100);
  expect(byExperiment('v2-e2e.step-2', 'v2', false)).toBeGreaterThan(50);
  expect(byExperiment('v2-e2e.step-2', 'v1', false)).toBeGreaterThan(50);
  expect(byExperiment('v2-e2e.step-3', 'v1', true)).toBeGreaterThan(50);
  await predictions.waitFor((items) => items.filter((p) => p.value.experiment_id === 'v2-e2e.completed').length >= 20, 60_000);
  const after = predictions.items.filter((p) => p.value.experiment_id === 'v2-e2e.completed');
  expect(after.every((p) => p.value.model_version === 'v2' && !p.value.shadow)).toBe(true);

  // The drift monitor's dashboard shows the rollout, read from the controller's API in a real browser.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium, or set CHROMIUM_PATH`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    const page = await browser.newPage();
    await page.goto(`${monitor.opsUrl}/?rollouts=${encodeURIComponent(controller.opsUrl)}`);
    await page.locator('[data-testid="rollout"][data-status="completed"]').waitFor({ timeout: 30_000 });
    const shown = await page.locator('[data-testid="rollout-decision"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-decision')));
    expect(shown).toEqual(['completed', 'promoted', 'promoted', 'started']);
    expect(await page.locator('[data-testid="rollout-step"][data-state="done"]').count()).toBe(3);
  } finally {
    await browser.close();
  }
}, 720_000);
