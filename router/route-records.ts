import type { KafkaMessage } from 'kafkajs';
import { PipelineError } from '../platform/errors.ts';
import { HEADER, headersToStrings } from '../platform/headers.ts';
import { childTraceparent, TRACEPARENT } from '../platform/trace.ts';
import type { ImageRequest } from '../producers/image-request.ts';
import type { RoutingDecision } from './experiment/index.ts';
import type { RoutedRequest } from './routed-request.ts';
import { requestLane } from './lanes.ts';
import type { ModelTables } from './model-tables.ts';
import type { Lane } from '../platform/topics.ts';

export interface RoutedOutput {
  /** null: the deployment's default model. */
  model: string | null;
  version: string;
  /** The lane topic of the version it goes to (router/lanes.ts). */
  lane: Lane;
  key: string;
  value: RoutedRequest;
  headers: Record<string, string>;
  decision: RoutingDecision;
}

export type RecordOutcome =
  | { ok: true; outputs: RoutedOutput[] }
  | { ok: false; error: PipelineError; requestId: string };

/**
 * Pure: one decoded request to its routed copies (the served one, then shadows), each with the lane it goes to.
 * A sticky rule keys the records by the stickiness value so one user's requests stay in order on one partition
 * (of one lane: a user's high and normal requests are not ordered against each other).
 */
export function routeRecord(tables: ModelTables, request: ImageRequest, message: KafkaMessage, now: number): RecordOutcome {
  const headers = headersToStrings(message.headers);
  const resolved = tables.resolve(request.model);
  if (!resolved) {
    const reason = `no experiment is published for model "${request.model}"; models routed here: ${tables.names.join(', ')}. `
      + `Publish one with npm run experiment -- --model ${request.model} <experiment.json>, or send the request without a model for the default one`;
    return { ok: false, requestId: request.request_id, error: new PipelineError('route', 'UnknownModel', reason) };
  }
  const { model, table } = resolved;
  const result = table.route({ request, headers });
  if (!result.ok) {
    return { ok: false, requestId: request.request_id, error: new PipelineError('route', 'UnknownVersion', result.message) };
  }
  const lane = requestLane(request.priority, result.priority);
  if (!lane.ok) return { ok: false, requestId: request.request_id, error: lane.error };
  const experimentId = result.experimentId || null;
  const reason = result.fallbackFrom?.reason ?? result.primary.reason;
  const key = reason === 'sticky' && request.stickiness_key ? request.stickiness_key : request.request_id;
  const fallback = result.fallbackFrom !== undefined;
  const copy = (version: string, shadow: boolean): RoutedOutput => ({
    model,
    version,
    lane: shadow ? 'normal' : lane.lane,
    key,
    decision: result,
    value: {
      ...request, model_version: version, experiment_id: experimentId, rule_id: result.ruleId, shadow, routed_at: now, fallback: fallback && !shadow,
      priority: shadow ? 'normal' : lane.lane,
    },
    headers: {
      [TRACEPARENT]: childTraceparent(headers[TRACEPARENT]),
      [HEADER.requestId]: request.request_id,
      [HEADER.modelVersion]: version,
      [HEADER.shadow]: String(shadow),
      ...(experimentId ? { [HEADER.experimentId]: experimentId } : {}),
    },
  });
  return { ok: true, outputs: [copy(result.primary.version, false), ...result.shadows.map((v) => copy(v, true))] };
}
