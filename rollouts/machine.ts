/**
 * The rollout controller's state machine, without I/O.
 *
 *   start ──► running ──(step's guards hold, duration and labels reached)──► next step … ──► completed
 *               │  ▲                                                                          (candidate 100 %)
 *        pause  ▼  │ resume
 *             paused          any guard fails (running or paused) ──► rolled_back (baseline 100 %)
 *                             abort (running or paused)           ──► aborted     (baseline 100 %)
 *
 * Inputs are commands (from the CLI), DriftReports and dead letters (evidence for the current step) and clock
 * ticks (guards are evaluated on ticks, so time alone can complete a step). Every change of state is a Decision
 * carrying the experiment to publish, if any, and the statistics behind it; a command that cannot apply is a
 * `rejected` decision that changes nothing. The functions update the state they are given in place: the
 * controller hands them a copy and keeps it only once the decisions are committed to Kafka.
 */
import { addDeadLetter, addReport, emptyEvidence, stepStreams, summariseStream, type DeadLetterInput, type DriftReportInput, type StepEvidence, type StreamSummary } from './evidence.ts';
import { finalExperiment, stepExperiment, stepExperimentId, type FinalOutcome } from './experiments.ts';
import { evaluateGuards, type GuardResult } from './guards.ts';
import { validateRolloutSpec, type RolloutSpec } from './spec.ts';
import type { ExperimentConfig } from '../router/experiment/index.ts';

export type RolloutStatus = 'running' | 'paused' | 'completed' | 'rolled_back' | 'aborted';
export type CommandAction = 'start' | 'pause' | 'resume' | 'abort';
export const COMMAND_ACTIONS: readonly CommandAction[] = ['start', 'pause', 'resume', 'abort'];
export type DecisionKind = 'started' | 'promoted' | 'completed' | 'rolled_back' | 'paused' | 'resumed' | 'aborted' | 'rejected';

export function isActive(status: RolloutStatus): boolean {
  return status === 'running' || status === 'paused';
}

export interface Rollout {
  spec: RolloutSpec;
  status: RolloutStatus;
  step_index: number;
  step_started_at: number;
  started_at: number;
  /** Sequence number of the rollout's last decision (0: started). */
  seq: number;
  evidence: StepEvidence;
}

export interface ControllerState {
  /** By rollout id, finished ones included (an id is used once). */
  rollouts: Record<string, Rollout>;
}

/** schemas/rollout-command.avsc */
export interface RolloutCommand {
  command_id: string;
  rollout_id: string;
  action: string;
  /** The declaration, for start. */
  spec_json: string | null;
  issued_by: string | null;
  issued_at: number;
}

export interface Decision {
  rollout_id: string;
  seq: number;
  decision: DecisionKind;
  reason: string;
  command_id: string | null;
  /** After the decision; 'none' for a command rejected about a rollout that does not exist. */
  status: RolloutStatus | 'none';
  step_index: number;
  step_name: string;
  step_count: number;
  previous_step_index: number | null;
  step_started_at: number;
  started_at: number;
  baseline: string;
  candidate: string;
  /** The experiment published to the rollout's table with this decision. */
  experiment: ExperimentConfig | null;
  elapsed_ms: number;
  guards: GuardResult[];
  candidate_stats: StreamSummary | null;
  baseline_stats: StreamSummary | null;
  /** null only for a start rejected before its declaration could be read. */
  spec: RolloutSpec | null;
  decided_at: number;
}

export interface Clock {
  now: number;
  /** Written into the experiments' updated_by. */
  updatedBy: string;
}

export function createControllerState(): ControllerState {
  return { rollouts: {} };
}

function evidenceFor(spec: RolloutSpec, index: number): StepEvidence {
  return emptyEvidence(stepExperimentId(spec, index), stepStreams(spec, spec.steps[index]!));
}

/** A decision about `r` as it is now (call after changing it). */
function decisionOf(r: Rollout, kind: DecisionKind, reason: string, clock: Clock, extra: Partial<Decision> = {}): Decision {
  const step = r.spec.steps[r.step_index]!;
  return {
    rollout_id: r.spec.id, seq: r.seq, decision: kind, reason, command_id: null, status: r.status,
    step_index: r.step_index, step_name: step.name, step_count: r.spec.steps.length, previous_step_index: null,
    step_started_at: r.step_started_at, started_at: r.started_at, baseline: r.spec.baseline, candidate: r.spec.candidate,
    experiment: null, elapsed_ms: Math.max(0, clock.now - r.step_started_at), guards: [],
    candidate_stats: summariseStream(r.evidence.candidate), baseline_stats: summariseStream(r.evidence.baseline),
    spec: r.spec, decided_at: clock.now, ...extra,
  };
}

function rejected(command: RolloutCommand, reason: string, clock: Clock, existing: Rollout | undefined, spec: RolloutSpec | null): Decision {
  if (existing) return decisionOf(existing, 'rejected', reason, clock, { command_id: command.command_id });
  const step = spec?.steps[0];
  return {
    rollout_id: command.rollout_id, seq: 0, decision: 'rejected', reason, command_id: command.command_id, status: 'none',
    step_index: 0, step_name: step?.name ?? '', step_count: spec?.steps.length ?? 0, previous_step_index: null,
    step_started_at: clock.now, started_at: clock.now, baseline: spec?.baseline ?? '', candidate: spec?.candidate ?? '',
    experiment: null, elapsed_ms: 0, guards: [], candidate_stats: null, baseline_stats: null, spec, decided_at: clock.now,
  };
}

function start(state: ControllerState, command: RolloutCommand, clock: Clock): Decision {
  let parsed: unknown;
  try {
    parsed = JSON.parse(command.spec_json ?? 'null');
  } catch (err) {
    return rejected(command, `the rollout declaration is not JSON: ${(err as Error).message}`, clock, undefined, null);
  }
  const result = validateRolloutSpec(parsed);
  if (!result.ok) return rejected(command, `the rollout is invalid: ${result.errors.join('; ')}`, clock, undefined, null);
  const { spec } = result;
  if (spec.id !== command.rollout_id) return rejected(command, `the command names rollout "${command.rollout_id}" but the declaration is "${spec.id}"`, clock, undefined, spec);
  const existing = state.rollouts[spec.id];
  if (existing) {
    const where = `${existing.status.replace('_', ' ')} at step ${existing.step_index + 1} "${existing.spec.steps[existing.step_index]!.name}"`;
    return rejected(command, `rollout ${spec.id} exists already (${where}); an id is used once: start it under a new id`, clock, existing, spec);
  }
  const busy = Object.values(state.rollouts).find((r) => isActive(r.status) && r.spec.table === spec.table);
  if (busy) {
    return rejected(command, `rollout ${busy.spec.id} is ${busy.status} on routing table "${spec.table}"; abort it or wait until it ends`, clock, undefined, spec);
  }
  const r: Rollout = { spec, status: 'running', step_index: 0, step_started_at: clock.now, started_at: clock.now, seq: 0, evidence: evidenceFor(spec, 0) };
  state.rollouts[spec.id] = r;
  return decisionOf(r, 'started', `started by ${command.issued_by ?? 'unknown'}: step 1/${spec.steps.length} "${spec.steps[0]!.name}"`, clock, {
    command_id: command.command_id, experiment: stepExperiment(spec, 0, clock.now, clock.updatedBy),
  });
}

function finish(r: Rollout, outcome: FinalOutcome, reason: string, clock: Clock, extra: Partial<Decision>): Decision {
  r.status = outcome;
  r.seq += 1;
  return decisionOf(r, outcome, reason, clock, { ...extra, experiment: finalExperiment(r.spec, outcome, clock.now, clock.updatedBy) });
}

/** Applies a command; always one decision (possibly `rejected`). */
export function applyCommand(state: ControllerState, command: RolloutCommand, clock: Clock): Decision {
  if (command.action === 'start') return start(state, command, clock);
  const r = state.rollouts[command.rollout_id];
  const reject = (reason: string): Decision => rejected(command, reason, clock, r, r?.spec ?? null);
  if (!(COMMAND_ACTIONS as readonly string[]).includes(command.action)) return reject(`unknown action "${command.action}"; expected one of ${COMMAND_ACTIONS.join(', ')}`);
  if (!r) return reject(`no rollout ${command.rollout_id}`);
  const by = command.issued_by ?? 'unknown';
  const extra = { command_id: command.command_id, guards: evaluateGuards(r.spec, r.step_index, r.evidence) };
  switch (command.action) {
    case 'pause':
      if (r.status !== 'running') return reject(`rollout ${r.spec.id} is ${r.status}, not running`);
      r.status = 'paused';
      r.seq += 1;
      return decisionOf(r, 'paused', `paused by ${by}: no promotion until resumed (a failing guard still rolls back)`, clock, extra);
    case 'resume':
      if (r.status !== 'paused') return reject(`rollout ${r.spec.id} is ${r.status}, not paused`);
      r.status = 'running';
      r.seq += 1;
      return decisionOf(r, 'resumed', `resumed by ${by}`, clock, extra);
    default:
      if (!isActive(r.status)) return reject(`rollout ${r.spec.id} has ended (${r.status})`);
      return finish(r, 'aborted', `aborted by ${by}: ${r.spec.baseline} serves all traffic`, clock, extra);
  }
}

/** Counts a DriftReport into every active rollout whose current step it belongs to; returns how many. */
export function applyReport(state: ControllerState, report: DriftReportInput): number {
  return Object.values(state.rollouts).filter((r) => isActive(r.status) && addReport(r.evidence, report)).length;
}

export function applyDeadLetter(state: ControllerState, deadLetter: DeadLetterInput): number {
  return Object.values(state.rollouts).filter((r) => isActive(r.status) && addDeadLetter(r.evidence, deadLetter)).length;
}

/** The guards of an active rollout's current step, as they stand. */
export function currentGuards(r: Rollout): GuardResult[] {
  return evaluateGuards(r.spec, r.step_index, r.evidence);
}

function evaluateRollout(r: Rollout, clock: Clock): Decision | null {
  const step = r.spec.steps[r.step_index]!;
  const guards = currentGuards(r);
  const failed = guards.filter((g) => g.outcome === 'fail');
  if (failed.length > 0) {
    const labels = summariseStream(r.evidence.candidate).labelled;
    const reason = `${failed.map((g) => `guard ${g.name} failed: ${g.message}`).join('; ')}. ${r.spec.baseline} serves all traffic (step ${r.step_index + 1} "${step.name}" took ${labels} labelled candidate predictions)`;
    return finish(r, 'rolled_back', reason, clock, { guards });
  }
  if (r.status !== 'running') return null;
  const elapsed = clock.now - r.step_started_at;
  const candidateStats = summariseStream(r.evidence.candidate);
  const baselineStats = summariseStream(r.evidence.baseline);
  const labelled = candidateStats.labelled;
  if (elapsed < step.min_duration_seconds * 1000 || labelled < step.min_labelled) return null;
  if (!guards.every((g) => g.outcome === 'pass' || g.outcome === 'off')) return null;
  const held = `step ${r.step_index + 1} "${step.name}" held for ${(elapsed / 1000).toFixed(0)} s and needed ${labelled} labelled candidate predictions (baseline ${baselineStats.labelled}) for every guard to pass`;
  if (r.step_index === r.spec.steps.length - 1) return finish(r, 'completed', `${held}: ${r.spec.candidate} serves all traffic`, clock, { guards });
  const previous = r.step_index;
  r.step_index += 1;
  r.step_started_at = clock.now;
  r.evidence = evidenceFor(r.spec, r.step_index);
  r.seq += 1;
  const next = r.spec.steps[r.step_index]!;
  return decisionOf(r, 'promoted', `${held}: on to step ${r.step_index + 1} "${next.name}"`, clock, {
    previous_step_index: previous, guards, elapsed_ms: elapsed,
    // The statistics that justified the promotion are those of the step just left.
    candidate_stats: candidateStats, baseline_stats: baselineStats,
    experiment: stepExperiment(r.spec, r.step_index, clock.now, clock.updatedBy),
  });
}

/** Evaluates every active rollout's guards at `clock.now`; returns the decisions (at most one per rollout). */
export function evaluate(state: ControllerState, clock: Clock): Decision[] {
  return Object.values(state.rollouts)
    .filter((r) => isActive(r.status))
    .map((r) => evaluateRollout(r, clock))
    .filter((d): d is Decision => d !== null);
}

/**
 * The state after a restart, from the decisions on the rollouts topic: per rollout, the one with the highest
 * sequence number (rejections change nothing). The current step's evidence is rebuilt by reading the inputs
 * again from the offsets committed with that decision.
 */
export type RestorableDecision = Pick<Decision, 'rollout_id' | 'seq' | 'decision' | 'status' | 'spec' | 'step_index' | 'step_started_at' | 'started_at'>;

export function restoreState(decisions: Iterable<RestorableDecision>): ControllerState {
  const latest = new Map<string, RestorableDecision>();
  for (const d of decisions) {
    if (d.decision === 'rejected' || d.spec === null || d.status === 'none') continue;
    const seen = latest.get(d.rollout_id);
    if (!seen || d.seq > seen.seq) latest.set(d.rollout_id, d);
  }
  const state = createControllerState();
  for (const d of latest.values()) {
    const spec = d.spec!;
    state.rollouts[d.rollout_id] = {
      spec, status: d.status as RolloutStatus, step_index: d.step_index, step_started_at: d.step_started_at, started_at: d.started_at, seq: d.seq,
      evidence: evidenceFor(spec, d.step_index),
    };
  }
  return state;
}
