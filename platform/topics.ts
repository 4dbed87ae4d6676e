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
   * under its name.
   */
  requestsFor(version: string, model?: string | null): string;
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
    requestsFor: (version, model) => `${prefix}.requests.${servingLabel(version, model, defaultModel)}`,
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
