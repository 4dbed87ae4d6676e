/**
 * Types of the experiment rule engine. The config types mirror `schemas/experiment-config.avsc` field for
 * field (snake_case, Avro unions as `T | null`, longs as numbers) so an Avro-decoded record can be passed to
 * `validateExperimentConfig` and used as is.
 */
import type { Lane } from '../../platform/topics.ts';

export const PREDICATE_OPS = ['eq', 'neq', 'in', 'not_in', 'prefix', 'regex', 'exists'] as const;
export type PredicateOp = (typeof PREDICATE_OPS)[number];

/** Request fields a predicate or `sticky_by` may name, besides `metadata.<name>` and `header.<name>`. */
export const REQUEST_FIELDS = ['uri', 'source', 'stickiness_key', 'request_id', 'pinned_version'] as const;
export type RequestField = (typeof REQUEST_FIELDS)[number];

export interface Predicate {
  /** uri | source | stickiness_key | request_id | pinned_version | metadata.<name> | header.<name> */
  field: string;
  op: PredicateOp;
  values: string[];
}

export interface WeightedVersion {
  version: string;
  /** Relative weight; shares are weight / sum of the rule's weights. */
  weight: number;
}

export interface Rule {
  id: string;
  /** All must hold; empty matches every request. */
  match: Predicate[];
  /** Empty: the experiment's default_version. */
  split: WeightedVersion[];
  /** Field whose value is hashed into buckets; null (or the field missing on a request) hashes request_id. */
  sticky_by: string | null;
  /** Versions that also receive a copy marked shadow (never the request's own primary version). */
  shadow: string[];
  allow_pinned: boolean;
  /**
   * Takes the rule's traffic for a version that is down (see router/version-health.ts); null: traffic for a down
   * version still goes to its topic and waits there.
   */
  fallback: string | null;
  /**
   * The lane of the requests this rule decides, whatever they ask for ('high' raises them, 'normal' keeps them
   * out of the high lane); null or absent: each request's own priority.
   */
  priority?: Lane | null;
}

export interface ExperimentConfig {
  id: string;
  description: string | null;
  /** Every version this experiment may route to; anything else is unknown. */
  versions: string[];
  default_version: string;
  /** Evaluated in order; the first whose predicates all hold decides. */
  rules: Rule[];
  /** Milliseconds since the epoch. */
  updated_at: number;
  updated_by: string | null;
  /** Hashed into split buckets instead of `id` (null: the id), so a rollout's successive experiments keep each key's bucket. */
  bucket_seed: string | null;
  /** The model whose requests this table routes; null or absent: the deployment's default model. */
  model?: string | null;
}

/** The ImageRequest fields routing reads; a decoded ImageRequest (schemas/image-request.avsc) is assignable. */
export interface RoutableRequest {
  request_id: string;
  uri: string;
  stickiness_key: string | null;
  pinned_version: string | null;
  source: string | null;
  metadata: Record<string, string>;
}

export interface RoutingInput {
  request: RoutableRequest;
  /** Kafka record headers decoded to strings; names match case-sensitively, as Kafka's do. */
  headers: Readonly<Record<string, string>>;
}

/**
 * Why the primary version was chosen:
 * - pinned: the request's pinned_version, allowed by the matching rule;
 * - sticky: weighted split on the rule's `sticky_by` value;
 * - split: weighted split on request_id (no `sticky_by`, or the `sticky_by` field missing on this request);
 * - default: the experiment's default_version (no rule matched, or the matching rule has no split);
 * - fallback: the rule's fallback, because the version chosen for one of the reasons above was down.
 */
export type RoutingReason = 'pinned' | 'split' | 'sticky' | 'default' | 'fallback';

/** Whether a version is down; routing then sends a rule's traffic for it to the rule's fallback. */
export type VersionDown = (version: string) => boolean;

export interface RoutingDecision {
  ok: true;
  experimentId: string;
  /** null: no rule matched. */
  ruleId: string | null;
  primary: { version: string; reason: RoutingReason };
  /** Shadow copies to produce; never contains the primary version. Shared between calls: do not mutate. */
  shadows: readonly string[];
  /** The bucket in [0, BUCKET_COUNT) the split used; present for reasons 'split' and 'sticky' (and their fallbacks). */
  bucket?: number;
  /** With reason 'fallback': the version chosen first, which was down, and why it was chosen. */
  fallbackFrom?: { version: string; reason: Exclude<RoutingReason, 'fallback'> };
  /** The matching rule's `priority`, when it sets one: the lane of this request whatever it asked for. */
  priority?: Lane;
}

/** A pinned version that the experiment does not list; the router dead-letters the record with this class. */
export interface UnknownVersionError {
  ok: false;
  errorClass: 'UnknownVersion';
  experimentId: string;
  ruleId: string;
  pinnedVersion: string;
  message: string;
}

export type RoutingResult = RoutingDecision | UnknownVersionError;
