import { Counter, Gauge, type Registry } from 'prom-client';
import type { GuardResult } from './guards.ts';
import type { Rollout } from './machine.ts';

export function createRolloutMetrics(registry: Registry) {
  const registers = [registry];
  return {
    step: new Gauge({ name: 'rollout_step', help: 'Current step of each rollout, 1-based', labelNames: ['rollout', 'baseline', 'candidate'], registers }),
    status: new Gauge({ name: 'rollout_status', help: '1 for the status each rollout is in', labelNames: ['rollout', 'status'], registers }),
    decisions: new Counter({ name: 'rollout_decisions_total', help: 'Decisions committed, by kind', labelNames: ['rollout', 'decision'], registers }),
    guardValue: new Gauge({ name: 'rollout_guard_value', help: 'Each guard\'s observed value and the limit it is held to, for the current step', labelNames: ['rollout', 'guard', 'value'], registers }),
    guardOutcome: new Gauge({ name: 'rollout_guard_outcome', help: '1 for each guard\'s current outcome (pass, fail, pending, off)', labelNames: ['rollout', 'guard', 'outcome'], registers }),
    inputs: new Counter({ name: 'rollout_inputs_total', help: 'Records read, by topic and whether they counted for a rollout step', labelNames: ['topic', 'result'], registers }),
    transactions: new Counter({ name: 'rollout_transactions_total', help: 'Kafka transactions committed (decisions with their experiments and input offsets, or offsets alone)', labelNames: ['kind'], registers }),
  };
}

export type RolloutMetrics = ReturnType<typeof createRolloutMetrics>;

const OUTCOMES = ['pass', 'fail', 'pending', 'off'] as const;
const STATUSES = ['running', 'paused', 'completed', 'rolled_back', 'aborted'] as const;

export function recordRollout(m: RolloutMetrics, r: Rollout, guards: readonly GuardResult[]): void {
  const rollout = r.spec.id;
  m.step.set({ rollout, baseline: r.spec.baseline, candidate: r.spec.candidate }, r.step_index + 1);
  for (const status of STATUSES) m.status.set({ rollout, status }, r.status === status ? 1 : 0);
  for (const g of guards) {
    for (const outcome of OUTCOMES) m.guardOutcome.set({ rollout, guard: g.name, outcome }, g.outcome === outcome ? 1 : 0);
    for (const [value, x] of [['observed', g.observed], ['limit', g.limit]] as const) {
      if (x === null || !Number.isFinite(x)) m.guardValue.remove({ rollout, guard: g.name, value });
      else m.guardValue.set({ rollout, guard: g.name, value }, x);
    }
  }
}
