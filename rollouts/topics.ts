import type { TopicSpec } from '../platform/topics.ts';

export interface RolloutTopics {
  /** Compacted: every decision with its statistics; the controller's state. */
  decisions: string;
  /** Operators' commands (npm run rollout); one partition, so they apply in the order sent. */
  commands: string;
}

export function rolloutTopics(prefix: string): RolloutTopics {
  return { decisions: `${prefix}.rollouts`, commands: `${prefix}.rollouts.commands` };
}

/** One partition each: decisions and commands are few, and their order matters. */
export function rolloutTopicSpecs(t: RolloutTopics): TopicSpec[] {
  return [{ topic: t.decisions, compacted: true, partitions: 1 }, { topic: t.commands, partitions: 1 }];
}
