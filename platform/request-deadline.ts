/**
 * Request deadlines (issue 17). A request past its deadline has no one waiting for its answer: the router and
 * the consumers dead-letter it as `<stage>/Expired` before any fetch or decode, so a backlog left by an outage
 * costs a read and a dead letter per stale request instead of a fetch, a decode and a model call.
 */
import type { EnvReader } from './config.ts';
import { routineError, type PipelineError, type Stage } from './errors.ts';

export interface DeadlineFields {
  submitted_at: number;
  deadline?: number | null;
}

/**
 * REQUEST_MAX_AGE_MS: the deadline of a request that carries none, counted from its submitted_at; 0 (the
 * default): such requests never expire.
 */
export function readRequestMaxAgeMs(env: EnvReader): number {
  return env.int('REQUEST_MAX_AGE_MS', 0, { min: 0, max: 7 * 24 * 3_600_000 });
}

/** Pure: the request's own deadline, else submitted_at + maxAgeMs when that is set; null: it never expires. */
export function effectiveDeadline(r: DeadlineFields, maxAgeMs: number): number | null {
  if (r.deadline != null) return r.deadline;
  return maxAgeMs > 0 ? r.submitted_at + maxAgeMs : null;
}

/**
 * Pure: the dead-letter error for a request whose deadline has passed at `now`; undefined while it has not.
 * `found` says what was skipped, for the dead letter's reader.
 */
export function expiryError(r: DeadlineFields, stage: Stage, now: number, maxAgeMs: number, found = 'skipped before its image was fetched'): PipelineError | undefined {
  const deadline = effectiveDeadline(r, maxAgeMs);
  // At the deadline itself the waiting caller has given up (the gateway's timer ends there).
  if (deadline === null || now < deadline) return undefined;
  const own = r.deadline != null ? 'its deadline' : `submitted_at + REQUEST_MAX_AGE_MS (${maxAgeMs} ms)`;
  return routineError(stage, 'Expired',
    `expired ${now - deadline} ms ago (${own}: ${new Date(deadline).toISOString()}), ${now - r.submitted_at} ms after it was submitted; ${found}`);
}
