import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../platform/logger.ts';
import { TopicFollower } from '../platform/read-positions.ts';
import type { AvroSerde } from '../platform/schema-registry.ts';
import { decisionKey, fromDecisionRecord, type RolloutDecisionRecord, type StoredDecision } from './records.ts';

export interface DecisionLogOptions {
  kafka: Kafka;
  admin: Admin;
  serde: AvroSerde;
  topic: string;
  logger: Logger;
}

/**
 * Follows the rollouts topic from the beginning (read_committed, so only decisions whose transaction committed)
 * and keeps every decision in order, one per key. Used by the controller to restore its state, by the CLI to
 * show status and wait for the answer to a command.
 */
export class DecisionLog {
  private readonly byKey = new Map<string, StoredDecision>();
  private readonly follower: TopicFollower;
  private readonly listeners = new Set<(d: StoredDecision) => void>();

  constructor(private readonly o: DecisionLogOptions) {
    this.follower = new TopicFollower({ kafka: o.kafka, admin: o.admin, topic: o.topic, groupPrefix: 'rollouts-reader', onMessage: (m) => this.handle(m) });
  }

  get decisions(): StoredDecision[] {
    return [...this.byKey.values()];
  }

  async start(): Promise<this> {
    await this.follower.start();
    return this;
  }

  private async handle(message: KafkaMessage): Promise<void> {
    let decision: StoredDecision;
    try {
      decision = fromDecisionRecord(await this.o.serde.decode<RolloutDecisionRecord>(message.value));
    } catch (err) {
      this.o.logger.warn({ err, offset: message.offset }, 'a record on the rollouts topic is not a readable decision; skipped');
      return;
    }
    this.byKey.set(decisionKey(decision), decision);
    for (const listener of this.listeners) listener(decision);
  }

  /** Resolves once every decision on the topic when called has been read. */
  caughtUp(timeoutMs = 30_000): Promise<void> {
    return this.follower.caughtUp(timeoutMs);
  }

  /** The first decision (already read or still to come) that `match` accepts, or null after `timeoutMs`. */
  waitFor(match: (d: StoredDecision) => boolean, timeoutMs: number): Promise<StoredDecision | null> {
    const seen = this.decisions.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const listener = (d: StoredDecision): void => {
        if (match(d)) done(d);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      const done = (d: StoredDecision | null): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(d);
      };
      this.listeners.add(listener);
    });
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }
}
