/** Human-readable lines for decisions and guard results: the CLI, the demo and the controller's logs. */
import type { GuardResult } from './guards.ts';
import type { StreamSummary } from './evidence.ts';

export interface DecisionView {
  rollout_id: string;
  seq: number;
  decision: string;
  reason: string;
  step_index: number;
  step_name: string;
  step_count: number;
  previous_step_index: number | null;
  elapsed_ms: number;
  guards: readonly GuardResult[];
  candidate_stats: StreamSummary | null;
  baseline_stats: StreamSummary | null;
  decided_at: number;
}

const time = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

function stream(s: StreamSummary | null): string {
  if (!s) return '-';
  const accuracy = s.labelled > 0 ? `${((s.correct / s.labelled) * 100).toFixed(1)}% of ${s.labelled}` : 'no labels';
  const p95 = s.latency_p95_ms === null ? '-' : `${s.latency_p95_ms.toFixed(0)} ms`;
  return `${s.version}/${s.variant}: ${s.windows} windows, ${s.predictions} predictions, accuracy ${accuracy}, p95 ${p95}, dead letters ${s.dead_letters}`;
}

export function formatGuard(g: GuardResult): string {
  return `${g.name.padEnd(9)} ${g.outcome.toUpperCase().padEnd(7)} ${g.message}`;
}

/** A headline, then the reason, the streams and the guards (indented). */
export function formatDecision(d: DecisionView): string {
  const step = (i: number): string => `${i + 1}/${d.step_count}`;
  const where = d.previous_step_index === null ? `step ${step(d.step_index)} "${d.step_name}"` : `step ${step(d.previous_step_index)} → ${step(d.step_index)} "${d.step_name}"`;
  const lines = [
    `${time(d.decided_at)} ${d.rollout_id} #${d.seq} ${d.decision.toUpperCase()} ${where} after ${(d.elapsed_ms / 1000).toFixed(0)} s`,
    `    ${d.reason}`,
  ];
  if (d.candidate_stats || d.baseline_stats) lines.push(`    candidate ${stream(d.candidate_stats)}`, `    baseline  ${stream(d.baseline_stats)}`);
  for (const g of d.guards) lines.push(`    ${formatGuard(g)}`);
  return lines.join('\n');
}
