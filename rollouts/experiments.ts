/**
 * The experiments a rollout publishes to its routing table: one per step, and a final one when it ends.
 *
 * Every step's experiment has its own id (`<rollout>.step-<n>`), so predictions and drift windows of one step
 * never mix with another's, and the same bucket seed (the rollout id), so a sticky user who saw the candidate
 * at 5 % still sees it at 25 %: the candidate owns the top of the bucket line and grows downwards. Rules name
 * the baseline as fallback, so the candidate's share goes to the baseline while the candidate is down.
 */
import { validateExperimentConfig, type ExperimentConfig, type Rule } from '../router/experiment/index.ts';
import type { RolloutSpec, RolloutStep } from './spec.ts';

export type FinalOutcome = 'completed' | 'rolled_back' | 'aborted';

export function stepExperimentId(spec: RolloutSpec, index: number): string {
  return `${spec.id}.step-${index + 1}`;
}

export function finalExperimentId(spec: RolloutSpec, outcome: FinalOutcome): string {
  return `${spec.id}.${outcome.replace('_', '-')}`;
}

function checked(config: Omit<ExperimentConfig, 'description'> & { description: string }): ExperimentConfig {
  const result = validateExperimentConfig(config);
  if (!result.ok) throw new Error(`rollout built an invalid experiment ${config.id}: ${result.errors.join('; ')}`);
  return result.config;
}

function rule(spec: RolloutSpec, step: RolloutStep): Rule {
  const { baseline, candidate } = spec;
  const full = !step.shadow && step.weight >= 100;
  return {
    id: 'rollout',
    match: [],
    split: step.shadow ? [] : full ? [{ version: candidate, weight: 100 }] : [{ version: baseline, weight: 100 - step.weight }, { version: candidate, weight: step.weight }],
    sticky_by: spec.sticky_by,
    shadow: step.shadow ? [candidate] : full ? [baseline] : [],
    allow_pinned: false,
    fallback: baseline,
  };
}

export function stepExperiment(spec: RolloutSpec, index: number, now: number, updatedBy: string): ExperimentConfig {
  const step = spec.steps[index]!;
  const traffic = step.shadow ? `${spec.candidate} shadows all traffic` : `${spec.candidate} serves ${step.weight}%`;
  return checked({
    id: stepExperimentId(spec, index),
    description: `rollout ${spec.id} step ${index + 1}/${spec.steps.length} "${step.name}": ${traffic}, ${spec.baseline} the rest`,
    versions: [spec.baseline, spec.candidate],
    default_version: spec.baseline,
    rules: [rule(spec, step)],
    updated_at: now,
    updated_by: updatedBy,
    bucket_seed: spec.id,
    model: spec.model,
  });
}

/** Completed: the candidate serves everything (the baseline stays its fallback). Otherwise the baseline does. */
export function finalExperiment(spec: RolloutSpec, outcome: FinalOutcome, now: number, updatedBy: string): ExperimentConfig {
  const completed = outcome === 'completed';
  const serving = completed ? spec.candidate : spec.baseline;
  return checked({
    id: finalExperimentId(spec, outcome),
    description: `rollout ${spec.id} ${outcome.replace('_', ' ')}: ${serving} serves all traffic`,
    versions: completed ? [spec.candidate, spec.baseline] : [spec.baseline],
    default_version: serving,
    rules: completed ? [{ id: 'rollout', match: [], split: [], sticky_by: null, shadow: [], allow_pinned: false, fallback: spec.baseline }] : [],
    updated_at: now,
    updated_by: updatedBy,
    bucket_seed: null,
    model: spec.model,
  });
}
