/**
 * Decisions and commands as the Avro records of schemas/rollout-decision.avsc and schemas/rollout-command.avsc,
 * their record keys, and the way back. Pure.
 */
import type { GuardResult } from './guards.ts';
import type { Decision, DecisionKind, RolloutStatus } from './machine.ts';
import { checkRolloutSpec } from './spec.ts';
import type { StreamSummary } from './evidence.ts';

/** schemas/rollout-decision.avsc: a Decision with its experiment as an id and its declaration as JSON. */
export interface RolloutDecisionRecord extends Omit<Decision, 'experiment' | 'spec' | 'decision' | 'status' | 'guards' | 'candidate_stats' | 'baseline_stats'> {
  decision: string;
  status: string;
  experiment_id: string | null;
  guards: { name: string; outcome: string; observed: number | null; limit: number | null; message: string; statistics: Record<string, number> }[];
  candidate_stats: StreamSummary | null;
  baseline_stats: StreamSummary | null;
  spec_json: string | null;
  controller_id: string;
}

/**
 * Keys on the compacted topic: one per state change (`<rollout>/<seq>`, zero-padded so keys sort), one per
 * rejected command, so compaction keeps the whole history and a replayed decision overwrites itself.
 */
export function decisionKey(d: Pick<Decision, 'rollout_id' | 'seq' | 'decision' | 'command_id'>): string {
  return d.decision === 'rejected' ? `${d.rollout_id}/rejected/${d.command_id ?? ''}` : `${d.rollout_id}/${String(d.seq).padStart(6, '0')}`;
}

const finite = (x: number): number => (Number.isFinite(x) ? x : 0);

export function toDecisionRecord(d: Decision, controllerId: string): RolloutDecisionRecord {
  return {
    rollout_id: d.rollout_id, seq: d.seq, decision: d.decision, reason: d.reason, command_id: d.command_id, status: d.status,
    step_index: d.step_index, step_name: d.step_name, step_count: d.step_count, previous_step_index: d.previous_step_index,
    step_started_at: d.step_started_at, started_at: d.started_at, baseline: d.baseline, candidate: d.candidate,
    experiment_id: d.experiment?.id ?? null, elapsed_ms: d.elapsed_ms,
    // Avro doubles take NaN and ±Infinity, but JSON readers of the topic (dashboards) do not.
    guards: d.guards.map((g) => ({ ...g, statistics: Object.fromEntries(Object.entries(g.statistics).map(([k, v]) => [k, finite(v)])) })),
    candidate_stats: d.candidate_stats, baseline_stats: d.baseline_stats,
    spec_json: d.spec === null ? null : JSON.stringify(d.spec), controller_id: controllerId, decided_at: d.decided_at,
  };
}

/** A decision read back from the topic (the experiment itself is not in the record, only its id). */
export interface StoredDecision extends Omit<Decision, 'experiment' | 'guards'> {
  experiment_id: string | null;
  guards: GuardResult[];
  controller_id: string;
}

export function fromDecisionRecord(r: RolloutDecisionRecord): StoredDecision {
  const { spec_json: specJson, ...rest } = r;
  return {
    ...rest,
    decision: r.decision as DecisionKind,
    status: r.status as RolloutStatus | 'none',
    guards: r.guards as GuardResult[],
    spec: specJson === null ? null : checkRolloutSpec(JSON.parse(specJson)),
  };
}
