import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderRollouts, stepStates, type RolloutsView } from '../../../drift-monitor/dashboard/rollouts.js';
import type { RolloutView } from '../../../rollouts/controller.ts';
import { applyCommand, applyReport, createControllerState, currentGuards, evaluate, type Decision } from '../../../rollouts/machine.ts';
import { clock, command, declaration, report, T0 } from '../rollouts/fixtures.ts';

const STATUS = { ok: true, text: 'live', source: 'http://127.0.0.1:9104/api/rollouts' };

/** A rollout taken through the machine: started, promoted past the shadow step, rolled back at 25 %. */
function rolledBackView(): RolloutsView {
  const state = createControllerState();
  const spec = { ...declaration, steps: declaration.steps.map((s, i) => (i === 1 ? { ...s, name: '<b>25%</b>' } : s)) };
  const decisions: Decision[] = [applyCommand(state, command('start', { spec_json: JSON.stringify(spec) }), clock(T0))];
  for (let i = 0; i < 3; i++) {
    applyReport(state, report({ model_version: 'v1', window_index: i, accuracy: 0.9 }));
    applyReport(state, report({ variant: 'shadow', window_index: i, accuracy: 0.93, agreement_compared: 100, agreement_agreed: 90 }));
  }
  decisions.push(...evaluate(state, clock(T0 + 31_000)));
  applyReport(state, report({ model_version: 'v1', experiment_id: 'v2-rollout.step-2', accuracy: 0.9 }));
  applyReport(state, report({ experiment_id: 'v2-rollout.step-2', accuracy: 0.1 }));
  decisions.push(...evaluate(state, clock(T0 + 40_000)));
  const r = state.rollouts['v2-rollout']!;
  const view: RolloutView = {
    id: r.spec.id, status: r.status, step_index: r.step_index, step_name: r.spec.steps[r.step_index]!.name, step_count: r.spec.steps.length,
    step_started_at: r.step_started_at, started_at: r.started_at, spec: r.spec, guards: currentGuards(r), candidate_stats: null, baseline_stats: null,
    decisions: decisions.map(({ spec: _spec, experiment, ...d }) => ({ ...d, experiment_id: experiment?.id ?? null, controller_id: 'c' })),
  };
  return { controller_id: 'c', generated_at: T0, evaluating: true, rollouts: [view] };
}

describe('rollout panel', () => {
  it('has its container in index.html and its script among the dashboard files', () => {
    expect(readFileSync(new URL('../../../drift-monitor/dashboard/index.html', import.meta.url), 'utf8')).toContain('id="rollouts"');
    expect(readFileSync(new URL('../../../drift-monitor/dashboard/assets.ts', import.meta.url), 'utf8')).toContain("'/rollouts.js'");
  });

  it('draws the step timeline, the guards and every decision newest first, with guard values', () => {
    const view = rolledBackView();
    expect(stepStates(view.rollouts[0]!)).toEqual(['done', 'failed', 'pending']);
    const html = renderRollouts(view, STATUS);
    expect([...html.matchAll(/data-testid="rollout-step" data-state="(\w+)"/g)].map((m) => m[1])).toEqual(['done', 'failed', 'pending']);
    expect([...html.matchAll(/data-testid="rollout-decision" data-decision="(\w+)"/g)].map((m) => m[1])).toEqual(['rolled_back', 'promoted', 'started']);
    expect(html).toMatch(/data-guard="accuracy" data-outcome="fail"/);
    expect(html).toContain('accuracy 80.0% / 5.0%'); // the drop observed against the minimum detectable difference
    expect(html).toContain('&lt;b&gt;25%&lt;/b&gt;');
    expect(html).not.toContain('<b>25%');
  });

  it('says where it reads from and what is wrong when the controller cannot be reached', () => {
    const html = renderRollouts(null, { ok: false, text: 'cannot reach the rollout controller (Failed to fetch)', source: 'http://h:9104/api/rollouts' });
    expect(html).toContain('Source http://h:9104/api/rollouts');
    expect(html).toContain('data-testid="rollouts-status">cannot reach the rollout controller (Failed to fetch)');
    expect(renderRollouts({ controller_id: 'c', generated_at: T0, evaluating: true, rollouts: [] }, STATUS)).toContain('No rollouts yet');
  });
});
