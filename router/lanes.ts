/**
 * Pure: the lane a routed request goes to. A matching rule's `priority` decides when it sets one (so an
 * experiment can raise a class of requests, or keep a bulk job's requests out of the high lane whatever they
 * ask for); otherwise the request's own `priority`, normal when absent. Shadow copies always go to the normal
 * lane: they are measurements no one waits for.
 */
import { PipelineError } from '../platform/errors.ts';
import { LANES, type Lane } from '../platform/topics.ts';

export type LaneOutcome = { ok: true; lane: Lane } | { ok: false; error: PipelineError };

export function requestLane(requested: string | null | undefined, rulePriority: Lane | undefined): LaneOutcome {
  if (requested !== null && requested !== undefined && !(LANES as readonly string[]).includes(requested)) {
    return {
      ok: false,
      error: new PipelineError('route', 'InvalidRequest', `priority "${requested.slice(0, 64)}" is not a lane; send "high", "normal" or no priority`),
    };
  }
  return { ok: true, lane: rulePriority ?? (requested as Lane | null | undefined) ?? 'normal' };
}
