import { describe, expect, it } from 'vitest';
import {
  applyCommand,
  applyDeadLetter,
  applyReport,
  createControllerState,
  evaluate,
  restoreState,
  type ControllerState,
  type Decision,
} from '../../../rollouts/machine.ts';
import { clock, command, deadLetter, declaration, report, T0 } from './fixtures.ts';

const SECOND = 1_000;

function started(): { state: ControllerState; decision: Decision } {
  const state = createControllerState();
  return { state, decision: applyCommand(state, command('start'), clock(T0)) };
}

/** Shadow-step evidence that passes every guard: v1 served and v2 shadow, 93 % vs 90 %, agreeing 90 %. */
function healthyShadowStep(state: ControllerState, windows = 3): void {
  for (let i = 0; i < windows; i++) {
    applyReport(state, report({ model_version: 'v1', window_index: i, accuracy: 0.9 }));
    applyReport(state, report({ variant: 'shadow', window_index: i, accuracy: 0.93, agreement_compared: 100, agreement_agreed: 90 }));
  }
}

describe('rollout state machine', () => {
  it('start publishes step 1\'s experiment: the candidate as shadow, the rollout id as bucket seed, the baseline as fallback', () => {
    const { decision } = started();
    expect(decision).toMatchObject({ decision: 'started', seq: 0, status: 'running', step_index: 0, step_name: 'shadow', step_count: 3, command_id: expect.any(String) });
    expect(decision.experiment).toMatchObject({
      id: 'v2-rollout.step-1', versions: ['v1', 'v2'], default_version: 'v1', bucket_seed: 'v2-rollout', updated_by: 'rollouts/test',
      rules: [{ id: 'rollout', split: [], shadow: ['v2'], sticky_by: 'stickiness_key', fallback: 'v1' }],
    });
  });

  it('promotes only after the minimum duration and labels with every guard passing, with the left step\'s statistics', () => {
    const { state } = started();
    applyReport(state, report({ model_version: 'v1', count: 60, accuracy: 0.9 }));
    applyReport(state, report({ variant: 'shadow', count: 60, accuracy: 0.95, agreement_compared: 60, agreement_agreed: 55 }));
    expect(evaluate(state, clock(T0 + 60 * SECOND))).toEqual([]); // 60 labelled candidate predictions of 100
    healthyShadowStep(state, 3);
    expect(evaluate(state, clock(T0 + 10 * SECOND))).toEqual([]); // guards hold, but 30 s not yet reached
    const [promoted] = evaluate(state, clock(T0 + 31 * SECOND));
    expect(promoted).toMatchObject({
      decision: 'promoted', seq: 1, previous_step_index: 0, step_index: 1, step_name: '25%', step_started_at: T0 + 31 * SECOND, elapsed_ms: 31 * SECOND,
      candidate_stats: { version: 'v2', variant: 'shadow', windows: 3, labelled: 300, correct: 279, agreement_compared: 300, agreement_agreed: 270 },
      baseline_stats: { version: 'v1', variant: 'served', windows: 3, labelled: 300, correct: 270 },
      experiment: { id: 'v2-rollout.step-2', rules: [{ split: [{ version: 'v1', weight: 75 }, { version: 'v2', weight: 25 }], shadow: [] }] },
    });
    expect(promoted?.guards.map((g) => [g.name, g.outcome])).toEqual([['accuracy', 'pass'], ['psi', 'pass'], ['errors', 'pass'], ['latency', 'pass'], ['agreement', 'pass']]);
    expect(promoted?.reason).toBe('step 1 "shadow" held for 31 s and needed 300 labelled candidate predictions (baseline 300) for every guard to pass: on to step 2 "25%"');
    // Reports of the step just left no longer count; nothing is decided twice.
    healthyShadowStep(state, 5);
    expect(evaluate(state, clock(T0 + 120 * SECOND))).toEqual([]);
  });

  it('rolls back at once when a guard fails, before the minimum duration, publishing the baseline at 100 %', () => {
    const { state } = started();
    healthyShadowStep(state);
    evaluate(state, clock(T0 + 31 * SECOND));
    applyReport(state, report({ model_version: 'v1', experiment_id: 'v2-rollout.step-2', accuracy: 0.9 }));
    applyReport(state, report({ experiment_id: 'v2-rollout.step-2', accuracy: 0.1 }));
    const [rolledBack] = evaluate(state, clock(T0 + 32 * SECOND));
    expect(rolledBack).toMatchObject({
      decision: 'rolled_back', seq: 2, status: 'rolled_back', step_index: 1,
      experiment: { id: 'v2-rollout.rolled-back', versions: ['v1'], default_version: 'v1', rules: [] },
      candidate_stats: { windows: 1, labelled: 100, correct: 10 },
    });
    expect(rolledBack?.reason).toMatch(/^guard accuracy failed: candidate 10\.0% \(10\/100\) vs baseline 90\.0% \(90\/100\): a drop above the 5\.0 pp margin is established .*\. v1 serves all traffic \(step 2 "25%" took 100 labelled candidate predictions\)$/);
    expect(rolledBack?.guards.find((g) => g.name === 'accuracy')?.statistics).toMatchObject({ candidate_accuracy: 0.1, baseline_accuracy: 0.9 });
    expect(evaluate(state, clock(T0 + 40 * SECOND))).toEqual([]);
    expect(applyReport(state, report({ experiment_id: 'v2-rollout.step-2' }))).toBe(0);
  });

  it('completes after the last step, where the baseline shadows the candidate, publishing the candidate at 100 %', () => {
    const { state } = started();
    healthyShadowStep(state);
    evaluate(state, clock(T0 + 31 * SECOND));
    for (const [step, candidateVariant, baselineVariant, at] of [[2, 'served', 'served', 62], [3, 'served', 'shadow', 93]] as const) {
      for (let i = 0; i < 3; i++) {
        applyReport(state, report({ model_version: 'v1', variant: baselineVariant, experiment_id: `v2-rollout.step-${step}`, window_index: i, accuracy: 0.9 }));
        applyReport(state, report({ variant: candidateVariant, experiment_id: `v2-rollout.step-${step}`, window_index: i, accuracy: 0.93 }));
      }
      const [decision] = evaluate(state, clock(T0 + at * SECOND));
      expect(decision?.decision).toBe(step === 3 ? 'completed' : 'promoted');
      if (step === 3) {
        expect(decision).toMatchObject({ seq: 3, status: 'completed', experiment: { id: 'v2-rollout.completed', default_version: 'v2', rules: [{ split: [], fallback: 'v1' }] } });
      } else {
        expect(decision?.experiment?.rules[0]).toMatchObject({ split: [{ version: 'v2', weight: 100 }], shadow: ['v1'] });
      }
    }
  });

  it('pause stops promotion but not rollback; resume continues; abort returns to the baseline', () => {
    const { state } = started();
    expect(applyCommand(state, command('pause'), clock(T0 + SECOND))).toMatchObject({ decision: 'paused', seq: 1, status: 'paused' });
    healthyShadowStep(state);
    expect(evaluate(state, clock(T0 + 60 * SECOND))).toEqual([]);
    expect(applyCommand(state, command('resume'), clock(T0 + 61 * SECOND))).toMatchObject({ decision: 'resumed', seq: 2, status: 'running' });
    expect(evaluate(state, clock(T0 + 62 * SECOND))[0]).toMatchObject({ decision: 'promoted', seq: 3 });
    applyCommand(state, command('pause'), clock(T0 + 63 * SECOND));
    applyReport(state, report({ model_version: 'v1', experiment_id: 'v2-rollout.step-2', accuracy: 0.9 }));
    applyReport(state, report({ experiment_id: 'v2-rollout.step-2', accuracy: 0.5 }));
    expect(evaluate(state, clock(T0 + 64 * SECOND))[0]).toMatchObject({ decision: 'rolled_back', seq: 5 });

    const other = createControllerState();
    applyCommand(other, command('start'), clock(T0));
    expect(applyCommand(other, command('abort', { issued_by: 'oncall' }), clock(T0 + SECOND))).toMatchObject({
      decision: 'aborted', status: 'aborted', reason: 'aborted by oncall: v1 serves all traffic', experiment: { id: 'v2-rollout.aborted', default_version: 'v1' },
    });
  });

  it('rejects commands that cannot apply, saying why, and changes nothing', () => {
    const { state } = started();
    const before = structuredClone(state);
    const reasons = [
      command('start'),
      command('start', { rollout_id: 'other', spec_json: JSON.stringify({ ...declaration, id: 'other' }) }),
      command('start', { rollout_id: 'bad', spec_json: JSON.stringify({ ...declaration, id: 'bad', steps: [{ weight: 0 }] }) }),
      command('start', { rollout_id: 'x', spec_json: '{' }),
      command('start', { rollout_id: 'x' }),
      command('resume'),
      command('pause', { rollout_id: 'nope' }),
      command('explode'),
    ].map((c) => applyCommand(state, c, clock(T0 + SECOND))).map((d) => [d.decision, d.reason]);
    expect(reasons).toEqual([
      ['rejected', 'rollout v2-rollout exists already (running at step 1 "shadow"); an id is used once: start it under a new id'],
      ['rejected', 'rollout v2-rollout is running on routing table "default"; abort it or wait until it ends'],
      ['rejected', 'the rollout is invalid: steps[0].weight: must be a number > 0 and <= 100, got 0'],
      ['rejected', expect.stringMatching(/^the rollout declaration is not JSON: /)],
      ['rejected', 'the command names rollout "x" but the declaration is "v2-rollout"'],
      ['rejected', 'rollout v2-rollout is running, not paused'],
      ['rejected', 'no rollout nope'],
      ['rejected', 'unknown action "explode"; expected one of start, pause, resume, abort'],
    ]);
    expect(state).toEqual(before);
  });

  it('counts dead letters of the current step into the errors guard', () => {
    const { state } = started();
    expect(applyDeadLetter(state, deadLetter(1, {}, { 'x-experiment-id': 'v2-rollout.step-1', 'x-shadow': 'true' }))).toBe(1);
    expect(applyDeadLetter(state, deadLetter(2))).toBe(0); // step 2 has not started
    expect(state.rollouts['v2-rollout']?.evidence.candidate.dead_letters).toEqual({ 'images.requests.v2:0:1': T0 });
  });

  it('restores the current step from its decisions and decides the same as before the restart', () => {
    const { state, decision: startedDecision } = started();
    healthyShadowStep(state);
    const [promoted] = evaluate(state, clock(T0 + 31 * SECOND));
    const restored = restoreState([promoted!, startedDecision]);
    expect(restored.rollouts['v2-rollout']).toMatchObject({ status: 'running', step_index: 1, seq: 1, step_started_at: T0 + 31 * SECOND });
    expect(restored.rollouts['v2-rollout']?.evidence.candidate.windows).toEqual({});
    // The inputs since that decision are read again and lead to the same next decision.
    for (const s of [state, restored]) {
      applyReport(s, report({ model_version: 'v1', experiment_id: 'v2-rollout.step-2', accuracy: 0.9 }));
      applyReport(s, report({ experiment_id: 'v2-rollout.step-2', accuracy: 0.2 }));
    }
    const again = evaluate(restored, clock(T0 + 40 * SECOND));
    expect(again).toEqual(evaluate(state, clock(T0 + 40 * SECOND)));
    expect(again[0]).toMatchObject({ decision: 'rolled_back', seq: 2 });
  });
});
