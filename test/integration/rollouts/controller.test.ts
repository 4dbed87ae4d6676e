/**
 * The rollout controller as a process on the real broker and registry, driven by the CLI and by DriftReports
 * published the way the drift monitor publishes them (no inference here: the end-to-end files do that): the
 * experiment of each decision lands on the experiments topic in the decision's transaction, a SIGKILLed
 * controller resumes the same step from the rollouts topic and the evidence it reads again, no decision is
 * made twice, pause/resume/abort work and invalid input is refused with the field named.
 */
import { execFile } from 'node:child_process';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WindowSummary } from '../../../drift-monitor/analytics/window-summary.ts';
import type { ExperimentConfig } from '../../../router/experiment/index.ts';
import type { RolloutDecisionRecord } from '../../../rollouts/records.ts';
import { rolloutTopics } from '../../../rollouts/topics.ts';
import { PipelineHarness, REPO_ROOT } from '../../../stack/pipeline-harness.ts';
import type { RunningProcess } from '../../../stack/pipeline-services.ts';
import type { TopicCollector } from '../../../stack/topic-collector.ts';

const run = promisify(execFile);
const h = new PipelineHarness();
let controller: RunningProcess;
let decisions: TopicCollector<RolloutDecisionRecord>;
let experiments: TopicCollector<ExperimentConfig>;
const dir = join(REPO_ROOT, '.state', 'test-rollouts');

const rollout = (id: string, extra: Record<string, unknown> = {}) => ({
  id, baseline: 'v1', candidate: 'v2',
  steps: [{ shadow: true, min_labelled: 100 }, { weight: 50, min_labelled: 200 }, { weight: 100, min_labelled: 100 }],
  // A 15-point margin: the sequential bounds (valid over the whole rollout) rule it out with the 100-200 labels per
  // step these reports carry; the 8-point margin of the fixed-alpha test needed about 1,000.
  guards: { latency: false, errors: false, accuracy: { min_detectable_difference: 0.15 }, agreement: { min_rate: 0.8, min_samples: 50 } },
  ...extra,
});

async function file(name: string, content: unknown): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${h.prefix}-${name}.json`);
  await writeFile(path, JSON.stringify(content));
  return path;
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'rollouts/cli.ts'), ...args, '--wait', '30'], { cwd: REPO_ROOT, env: { ...process.env, ...h.env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let windowIndex = 0;
/** One closed window as the drift monitor reports it. */
async function report(experimentId: string, version: string, variant: 'served' | 'shadow', accuracy: number, extra: Partial<WindowSummary> = {}): Promise<void> {
  windowIndex += 1;
  const now = Date.now();
  const summary: WindowSummary = {
    model_name: 'fashion-mnist', model_version: version, variant, experiment_id: experimentId, window_index: windowIndex, window_start: now - 1000, window_end: now,
    count: 100, metrics: [{ name: 'brightness', psi: 0.02, severity: 'stable', reference: 'manifest' }], severity: 'stable', mean_confidence: 0.9,
    class_shares: {}, labeled_count: 100, accuracy, accuracy_ci_low: null, accuracy_ci_high: null, latency_p50_ms: 50, latency_p95_ms: 90, latency_p99_ms: 120,
    emitted_at: now, agreement_compared: variant === 'shadow' ? 100 : 0, agreement_agreed: variant === 'shadow' ? 90 : 0, ...extra,
  };
  const topic = h.clients.topics.drift;
  await h.clients.producer.send({ topic, acks: -1, messages: [{ key: `${experimentId}/${version}/${windowIndex}`, value: await h.clients.serde.encode(topic, 'DriftReport', summary) }] });
}

const mine = (id: string) => decisions.items.map((d) => d.value).filter((d) => d.rollout_id === id);
const waitForDecision = (id: string, seq: number, ms = 30_000) =>
  decisions.waitFor(() => mine(id).some((d) => d.seq === seq && d.decision !== 'rejected'), ms, () => JSON.stringify(mine(id).map((d) => [d.seq, d.decision, d.reason])));

beforeAll(async () => {
  await h.connect();
  controller = await h.start('rollouts', 'rollouts', { ROLLOUT_TICK_MS: '200' });
  decisions = await h.collect<RolloutDecisionRecord>(rolloutTopics(h.prefix).decisions);
  experiments = await h.collect<ExperimentConfig>(h.clients.topics.experiments);
}, 180_000);

afterAll(async () => {
  await h.close();
});

describe('rollout controller', () => {
  it('refuses an invalid rollout file with every problem named, before sending anything', async () => {
    const result = await cli('start', await file('invalid', { ...rollout('bad'), candidate: 'v1', steps: [{ weight: 120 }] }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('candidate: must differ from baseline "v1"');
    expect(result.stderr).toContain('steps[0].weight: must be a number > 0 and <= 100, got 120');
  });

  it('promotes on passing evidence, publishes each step\'s experiment in the same transaction, and resumes the same step after SIGKILL without deciding twice', async () => {
    const started = await cli('start', await file('a', rollout('a')));
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/a #0 STARTED step 1\/3 "shadow"/);
    await experiments.waitFor((items) => items.some((e) => e.value.id === 'a.step-1'), 10_000);
    const step1 = experiments.items.find((e) => e.value.id === 'a.step-1')!;
    expect(step1.key).toBe('default');
    expect(step1.value.rules[0]).toMatchObject({ split: [], shadow: ['v2'], fallback: 'v1' });

    await report('a.step-1', 'v1', 'served', 0.9);
    await report('a.step-1', 'v2', 'shadow', 0.93);
    await waitForDecision('a', 1);
    const promoted = mine('a').find((d) => d.seq === 1)!;
    expect(promoted).toMatchObject({ decision: 'promoted', previous_step_index: 0, step_index: 1, experiment_id: 'a.step-2' });
    expect(promoted.guards.find((g) => g.name === 'agreement')).toMatchObject({ outcome: 'pass', observed: 0.9 });
    await experiments.waitFor((items) => items.some((e) => e.value.id === 'a.step-2'), 10_000);

    // Half the evidence step 2 needs, then a crash: the restarted controller must count it again from the topic.
    await report('a.step-2', 'v1', 'served', 0.9);
    await report('a.step-2', 'v2', 'served', 0.92);
    await new Promise((r) => setTimeout(r, 1_000));
    await controller.kill();
    controller = await h.start('rollouts-2', 'rollouts', { ROLLOUT_TICK_MS: '200' });
    const view = await (await fetch(`${controller.opsUrl}/api/rollouts`)).json() as { rollouts: { id: string; step_index: number; status: string; candidate_stats: { labelled: number } }[] };
    expect(view.rollouts.find((r) => r.id === 'a')).toMatchObject({ step_index: 1, status: 'running', candidate_stats: { labelled: 100 } });
    expect(await (await fetch(`${controller.opsUrl}/api/rollouts`)).headers.get('access-control-allow-origin')).toBe('*');

    await report('a.step-2', 'v1', 'served', 0.9);
    await report('a.step-2', 'v2', 'served', 0.92);
    await waitForDecision('a', 2);
    expect(mine('a').find((d) => d.seq === 2)).toMatchObject({ decision: 'promoted', previous_step_index: 1, candidate_stats: { labelled: 200, windows: 2 } });
    const seqs = mine('a').map((d) => d.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(mine('a').filter((d) => d.previous_step_index === 0)).toHaveLength(1);
    const metrics = await (await fetch(`${controller.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/rollout_step\{[^}]*rollout="a"[^}]*\} 3/);
  }, 180_000);

  it('pause holds a step, resume lets it go on, a failing guard rolls back to the baseline, abort ends another', async () => {
    const paused = await cli('pause', 'a');
    expect(paused.stdout).toMatch(/a #3 PAUSED/);
    await report('a.step-3', 'v1', 'shadow', 0.9);
    await report('a.step-3', 'v2', 'served', 0.93);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(mine('a').map((d) => d.decision)).not.toContain('completed');
    expect((await cli('resume')).stdout).toMatch(/a #4 RESUMED/);
    await waitForDecision('a', 5);
    expect(mine('a').find((d) => d.seq === 5)).toMatchObject({ decision: 'completed', status: 'completed', experiment_id: 'a.completed' });

    expect((await cli('start', await file('b', rollout('b')))).code).toBe(0);
    const busy = await cli('start', await file('c', rollout('c')));
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('refused: rollout b is running on routing table "default"; abort it or wait until it ends');
    await report('b.step-1', 'v1', 'served', 0.9);
    await report('b.step-1', 'v2', 'shadow', 0.2, { agreement_agreed: 20 });
    await waitForDecision('b', 1);
    const rolledBack = mine('b').find((d) => d.seq === 1)!;
    expect(rolledBack).toMatchObject({ decision: 'rolled_back', status: 'rolled_back', experiment_id: 'b.rolled-back' });
    expect(rolledBack.guards.filter((g) => g.outcome === 'fail').map((g) => g.name)).toEqual(['accuracy', 'agreement']);
    await experiments.waitFor((items) => items.some((e) => e.value.id === 'b.rolled-back'), 10_000);
    expect(experiments.items.at(-1)?.value).toMatchObject({ id: 'b.rolled-back', default_version: 'v1', rules: [] });

    expect((await cli('start', await file('d', rollout('d')))).code).toBe(0);
    expect((await cli('abort', 'd')).stdout).toMatch(/d #1 ABORTED/);
    const status = await cli('status', 'b');
    expect(status.stdout).toContain('b: rolled_back at step 1/3 "shadow"');
    expect(status.stdout).toMatch(/accuracy\s+FAIL\s+candidate 20\.0% \(20\/100\) vs baseline 90\.0%/);
  }, 180_000);
});
