/** Topic names: defaults under one configurable prefix (DESIGN.md "Flow"). */

/** The model a request without a `model` field is for (DEFAULT_MODEL). */
export const DEFAULT_MODEL = 'fashion-mnist';

/** Model names: no "." (it separates model from version in topic names). */
export const MODEL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,100}$/;
export interface TopicNames {
  requests: string;
  predictions: string;
  dlq: string;
  experiments: string;
  feedback: string;
  drift: string;
  driftState: string;
  /**
   * The per-version topic the router produces to and that version's consumer group reads. `model` null or the
   * default model: `<prefix>.requests.<version>`, as before models had names; any other model's versions live
   * under its name. `lane` 'high': the version's high-priority lane, `<that topic>.high`.
   */
  requestsFor(version: string, model?: string | null, lane?: Lane): string;
}

/**
 * Priority lanes (README "Priority lanes"): a request asks for one (ImageRequest.priority, or its experiment
 * rule's `priority`), the router publishes it to that lane's topic of its version, and the version's consumers
 * serve the high lane first with a minimum share for the normal one (platform/consumer/lane-scheduler.ts).
 */
export const LANES = ['normal', 'high'] as const;
export type Lane = (typeof LANES)[number];

/**
 * The high lane's topic of a version is the version's topic with this suffix: a version named `<v>.high` would
 * share the lane topic of version `<v>`, so experiment validation refuses version names ending in it.
 */
export const HIGH_LANE_SUFFIX = '.high';

/** Pure: the lane a per-version request topic (of requestsFor) belongs to. */
export function laneOfTopic(topic: string): Lane {
  return topic.endsWith(HIGH_LANE_SUFFIX) ? 'high' : 'normal';
}

/**
 * How a model version is named in topics and consumer groups: the version alone for the deployment's default
 * model (so deployments from before several models keep their topics and groups), `<model>.<version>` for any
 * other. Model names hold no ".", so the two cannot collide unless a default-model version is named like one.
 */
export function servingLabel(version: string, model: string | null | undefined, defaultModel: string): string {
  return model === null || model === undefined || model === defaultModel ? version : `${model}.${version}`;
}

export function topicNames(prefix: string, defaultModel = DEFAULT_MODEL): TopicNames {
  return {
    requests: `${prefix}.requests`,
    predictions: `${prefix}.predictions`,
    dlq: `${prefix}.dlq`,
    experiments: `${prefix}.experiments`,
    feedback: `${prefix}.feedback`,
    drift: `${prefix}.drift`,
    driftState: `${prefix}.drift-monitor.state`,
    requestsFor: (version, model, lane = 'normal') => `${prefix}.requests.${servingLabel(version, model, defaultModel)}${lane === 'high' ? HIGH_LANE_SUFFIX : ''}`,
  };
}

export interface TopicSpec {
  topic: string;
  /** Compacted topics keep the latest value per key: experiments and state changelogs. */
  compacted?: boolean;
  partitions?: number;
}

/** The topics every deployment needs; per-version request topics are added by the router as versions appear. */
export function coreTopics(t: TopicNames): TopicSpec[] {
  return [
    { topic: t.requests },
    { topic: t.predictions },
    { topic: t.dlq },
    { topic: t.feedback },
    { topic: t.drift },
    { topic: t.experiments, compacted: true, partitions: 1 },
    { topic: t.driftState, compacted: true, partitions: 1 },
  ];
}
