/** Topic names: defaults under one configurable prefix (DESIGN.md "Flow"). */
export interface TopicNames {
  requests: string;
  predictions: string;
  dlq: string;
  experiments: string;
  feedback: string;
  drift: string;
  driftState: string;
  /** The per-version topic the router produces to and that version's consumer group reads. */
  requestsFor(version: string): string;
}

export function topicNames(prefix: string): TopicNames {
  return {
    requests: `${prefix}.requests`,
    predictions: `${prefix}.predictions`,
    dlq: `${prefix}.dlq`,
    experiments: `${prefix}.experiments`,
    feedback: `${prefix}.feedback`,
    drift: `${prefix}.drift`,
    driftState: `${prefix}.drift-monitor.state`,
    requestsFor: (version) => `${prefix}.requests.${version}`,
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
