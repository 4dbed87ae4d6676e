/** Builders shared by the rollout unit tests. */
import type { DeadLetterInput, DriftReportInput } from '../../../rollouts/evidence.ts';
import type { Clock, RolloutCommand } from '../../../rollouts/machine.ts';
import { checkRolloutSpec, type RolloutSpec } from '../../../rollouts/spec.ts';

export const T0 = Date.UTC(2026, 0, 1);

export const declaration = {
  id: 'v2-rollout',
  baseline: 'v1',
  candidate: 'v2',
  sticky_by: 'stickiness_key',
  steps: [
    { name: 'shadow', shadow: true, min_duration_seconds: 30, min_labelled: 100 },
    { weight: 25, min_duration_seconds: 30, min_labelled: 100 },
    { weight: 100, min_duration_seconds: 30, min_labelled: 100 },
  ],
  // errors: the default 1-point margin needs more than the 300 requests these tests send for 0 of 300 to rule it out.
  guards: { accuracy: { alpha: 0.05, min_detectable_difference: 0.05, min_samples: 30 }, agreement: { min_rate: 0.8, min_samples: 50 }, errors: { margin: 0.02 } },
};

export const spec: RolloutSpec = checkRolloutSpec(declaration);

export const clock = (now: number): Clock => ({ now, updatedBy: 'rollouts/test' });

let commandSequence = 0;
export function command(action: string, overrides: Partial<RolloutCommand> = {}): RolloutCommand {
  commandSequence += 1;
  return {
    command_id: `c${commandSequence}`,
    rollout_id: 'v2-rollout',
    action,
    spec_json: action === 'start' ? JSON.stringify(declaration) : null,
    issued_by: 'tester',
    issued_at: T0,
    ...overrides,
  };
}

/** A closed window of `count` predictions, `accuracy` of them correct, all labelled. */
export function report(overrides: Partial<DriftReportInput> & { accuracy?: number | null } = {}): DriftReportInput {
  const count = overrides.count ?? 100;
  return {
    model_version: 'v2',
    variant: 'served',
    experiment_id: 'v2-rollout.step-1',
    window_index: 0,
    window_end: T0,
    count,
    metrics: [
      { name: 'predicted_class', psi: 0.02, severity: 'stable' },
      { name: 'brightness', psi: 0.01, severity: 'stable' },
    ],
    severity: 'stable',
    labeled_count: count,
    accuracy: 0.9,
    latency_p95_ms: 100,
    agreement_compared: 0,
    agreement_agreed: 0,
    ...overrides,
  };
}

export function deadLetter(offset: number, overrides: Partial<DeadLetterInput> = {}, headers: Record<string, string> = {}): DeadLetterInput {
  return {
    original_topic: 'images.requests.v2',
    original_partition: 0,
    original_offset: offset,
    model_version: 'v2',
    failed_at: T0,
    original_headers: { 'x-experiment-id': 'v2-rollout.step-2', 'x-shadow': 'false', ...headers },
    ...overrides,
  };
}
